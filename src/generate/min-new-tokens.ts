/**
 * HF `min_new_tokens` as a `LogitsProcessor` (transformers 4.47 `MinNewTokensLengthLogitsProcessor`): while a row
 * has fewer than `minNewTokens` generated tokens, `<eos>` scores −∞, so no answer ends before that length. Greedy
 * applies it to the logits, beam search to the log-probabilities before the beam scores are added (as HF does).
 *
 * Why a job wants it: beam search ranks finished hypotheses by their mean log-probability (length_penalty 1). When
 * an answer holds many characters the model is unsure of (values it cannot read), its mean is low, and a
 * hypothesis that stops early after a confident prefix wins with even a tiny P(<eos>) there. A floor taken from
 * the data (the shortest training answer, see jobs/generation-length.ts) rules those out.
 *
 * @example
 *   const out = await model.generate(inputs, { maxNewTokens: 136, numBeams: 3, minNewTokens: 90 });
 *   // or explicitly: { logitsProcessors: [minNewTokensProcessor(90, tokenizer.eosTokenId)] }
 */
import type { LogitsProcessor } from "./processors.js";

/** A processor that masks `eos` in every row with fewer than `minNewTokens` generated tokens. */
export function minNewTokensProcessor(minNewTokens: number, eos: number): LogitsProcessor {
  if (!Number.isInteger(minNewTokens) || minNewTokens < 0) throw new Error(`minNewTokens: must be an integer ≥ 0, got ${minNewTokens}`);
  if (!Number.isInteger(eos) || eos < 0) throw new Error(`minNewTokensProcessor: eos must be a token id (integer ≥ 0), got ${eos}`);
  return (tokens, scores, vocabSize, promptLength) => {
    if (eos >= vocabSize) return;
    for (let r = 0; r < tokens.length; r++) {
      if (tokens[r].length - promptLength < minNewTokens) scores[r * vocabSize + eos] = -Infinity; // HF: new_tokens_length < min_new_tokens
    }
  };
}
