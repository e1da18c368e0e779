/**
 * Repetition penalty as a `LogitsProcessor`, with the semantics of HF transformers'
 * `RepetitionPenaltyLogitsProcessor` (CTRL, https://arxiv.org/abs/1909.05858):
 *
 *   for every distinct token t in the row's ids so far (prompt included, as HF does with `input_ids`):
 *     score[t] = score[t] < 0 ? score[t] · penalty : score[t] / penalty
 *
 * Greedy applies it to raw logits, beam search to log-probabilities (both as HF does), so with beams every
 * candidate's log-prob is negative and a repeated token's gets multiplied by the penalty.
 *
 * @example
 *   import { repetitionPenalty } from "paligemma-ts";
 *   const out = await model.generate(inputs, { maxNewTokens: 64, logitsProcessors: [repetitionPenalty(1.2)] });
 */
import type { LogitsProcessor } from "./processors.js";

export interface RepetitionPenaltyOptions {
  /**
   * Penalise only generated tokens, not the prompt (the image tokens, bos and prefix). Default false: HF applies the
   * penalty to every id of `input_ids`, prompt included.
   */
  generatedOnly?: boolean;
}

/**
 * A processor that discourages tokens already present in the row (penalty > 1) or encourages them (< 1).
 * @param penalty HF `repetition_penalty`: a strictly positive float; 1.0 is a no-op.
 */
export function repetitionPenalty(penalty: number, options: RepetitionPenaltyOptions = {}): LogitsProcessor {
  if (!(typeof penalty === "number" && Number.isFinite(penalty) && penalty > 0)) {
    throw new Error(`repetitionPenalty: penalty must be a strictly positive float, got ${penalty}`);
  }
  const generatedOnly = options.generatedOnly ?? false;
  const p = Math.fround(penalty); // torch multiplies a float32 tensor by the scalar cast to float32
  return (tokens, scores, vocabSize, promptLength) => {
    if (penalty === 1) return;
    for (let r = 0; r < tokens.length; r++) {
      const seen = new Set<number>();
      const row = tokens[r];
      for (let i = generatedOnly ? promptLength : 0; i < row.length; i++) {
        const t = row[i];
        if (t < 0 || t >= vocabSize || seen.has(t)) continue; // HF gathers each position; a set gives the same result
        seen.add(t);
        const k = r * vocabSize + t;
        const s = scores[k];
        scores[k] = s < 0 ? s * p : s / p;
      }
    }
  };
}
