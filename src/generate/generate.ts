/**
 * Greedy and beam-search decoding with a KV cache (prefill once, then one step per token), matching HF
 * `generate` 4.47 for PaliGemma: prompt tokens attend bidirectionally among themselves and never to generated
 * tokens; generated tokens attend causally; sliding layers keep a rolling buffer of the last `sliding_window` keys.
 * Beam search follows HF `BeamSearchScorer` (length_penalty, early_stopping=false; see beam.ts).
 */
import { tf } from "../tf.js";
import type { KVCache } from "../model/kvcache.js";
import { beamSearch } from "./beam.js";
import { applyProcessors, argmaxRow, type LogitsProcessor, type StoppingCriterion } from "./processors.js";
import { generationHooks, type GenerationHookOptions } from "./stopping.js";
import { minNewTokensProcessor } from "./min-new-tokens.js";

export type { LogitsProcessor, StoppingCriterion } from "./processors.js";

/** What a decoder must offer (PaliGemmaForConditionalGeneration implements it). */
export interface CachedDecoder {
  readonly config: { eosTokenId: number; textConfig: { vocabSize: number } };
  prefill(pixelValues: tf.Tensor | null, promptIds: Int32Array): { logits: tf.Tensor; cache: KVCache };
  decodeStep(tokens: Int32Array, index: number, cache: KVCache): tf.Tensor;
}

export interface GenerateInputs {
  pixelValues?: tf.Tensor | null; // float32[B,3,H,W]
  inputIds: tf.Tensor; // int32[B,L] prompt (image tokens + bos + prefix + "\n")
  attentionMask?: tf.Tensor | null; // int32[B,L]; padded positions (0) are dropped per row
}

export interface GenerateOptions extends GenerationHookOptions {
  /** New tokens to generate at most (HF `max_new_tokens`). Default 20. */
  maxNewTokens?: number;
  /** 1 = greedy (default); > 1 = beam search. */
  numBeams?: number;
  /** Beam-search length penalty (score / generated_len^penalty). Default 1.0. */
  lengthPenalty?: number;
  /** `<eos>` is not chosen before this many new tokens (HF `min_new_tokens`). Default 0. */
  minNewTokens?: number;
  /** Token that ends a sequence; default the config's eos. */
  eosTokenId?: number;
  /** Rewrite each step's scores (constrained decoding, penalties…); see processors.ts. */
  logitsProcessors?: LogitsProcessor[];
  /** End a row early (stop strings, repeated-box guard…); the last token is kept. */
  stoppingCriteria?: StoppingCriterion[];
  /** Streaming: called with each new token of the greedy path (row = batch row). */
  onToken?: (token: number, row: number) => void;
}

/** The per-row decoding settings that search functions receive. */
export interface SearchHooks {
  logitsProcessors: LogitsProcessor[];
  stoppingCriteria: StoppingCriterion[];
  onToken?: (token: number) => void;
}

export interface GenerateOutput {
  sequences: number[][]; // per row: prompt ids + generated ids
  sequencesScores?: number[]; // beam search: the best hypothesis' length-normalised log-probability
}

export { KVCache } from "../model/kvcache.js";

function pickGreedy(logits: tf.Tensor, tokens: number[], promptLength: number, hooks: SearchHooks): number {
  if (!hooks.logitsProcessors.length) return tf.tidy(() => tf.argMax(logits, -1).dataSync()[0]);
  const V = logits.shape[1]!;
  const scores = Float32Array.from(logits.dataSync() as Float32Array);
  applyProcessors(hooks.logitsProcessors, [tokens], scores, V, promptLength);
  return argmaxRow(scores, 0, V);
}

/** Greedy decoding of one prompt row. */
export function greedySearch(
  model: CachedDecoder,
  pixels: tf.Tensor | null,
  prompt: Int32Array,
  maxNew: number,
  eos: number,
  hooks: SearchHooks = { logitsProcessors: [], stoppingCriteria: [] },
): number[] {
  const out = Array.from(prompt);
  const { logits, cache } = model.prefill(pixels, prompt);
  let next = logits;
  try {
    for (let step = 0; step < maxNew; step++) {
      const id = pickGreedy(next, out, prompt.length, hooks);
      next.dispose();
      out.push(id);
      hooks.onToken?.(id);
      if (id === eos || step === maxNew - 1) break;
      if (hooks.stoppingCriteria.some((stop) => stop(out, prompt.length))) break;
      next = model.decodeStep(Int32Array.of(id), prompt.length + step, cache);
    }
  } finally {
    if (!next.isDisposed) next.dispose();
    cache.dispose();
  }
  return out;
}

function checkOptions(o: GenerateOptions): { maxNewTokens: number; numBeams: number; lengthPenalty: number } {
  const maxNewTokens = o.maxNewTokens ?? 20;
  const numBeams = o.numBeams ?? 1;
  const lengthPenalty = o.lengthPenalty ?? 1.0;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new Error(`generate: maxNewTokens must be an integer ≥ 1, got ${maxNewTokens}`);
  if (!Number.isInteger(numBeams) || numBeams < 1) throw new Error(`generate: numBeams must be an integer ≥ 1, got ${numBeams}`);
  return { maxNewTokens, numBeams, lengthPenalty };
}

/** Decode every row of the batch independently (padding stripped), greedy or beam. */
export async function generate(model: CachedDecoder, inputs: GenerateInputs, options: GenerateOptions = {}): Promise<GenerateOutput> {
  const { maxNewTokens, numBeams, lengthPenalty } = checkOptions(options);
  const eos = options.eosTokenId ?? model.config.eosTokenId;
  const builtIn = generationHooks(options); // repetitionPenalty, stopStrings (+ decoder), stopOnRepeatedLoc
  // HF order: repetition penalty, then min_new_tokens, then the caller's processors
  if (options.minNewTokens !== undefined) builtIn.logitsProcessors.push(minNewTokensProcessor(options.minNewTokens, eos));
  const ids = inputs.inputIds;
  if (!(ids instanceof tf.Tensor) || ids.rank !== 2 || ids.dtype !== "int32") {
    throw new Error(`generate: inputIds must be an int32 tf.Tensor [B, L]`);
  }
  const [B, L] = ids.shape as number[];
  const idData = (await ids.data()) as Int32Array;
  const mask = inputs.attentionMask ? ((await inputs.attentionMask.data()) as Int32Array) : null;
  const sequences: number[][] = [];
  const scores: number[] = [];
  for (let b = 0; b < B; b++) {
    const row: number[] = [];
    for (let l = 0; l < L; l++) if (!mask || mask[b * L + l] !== 0) row.push(idData[b * L + l]);
    const prompt = Int32Array.from(row);
    const px = inputs.pixelValues ? tf.slice(inputs.pixelValues, [b, 0, 0, 0], [1, -1, -1, -1]) : null;
    const hooks: SearchHooks = {
      // HF order: the built-in processors (repetition penalty…) first, then the caller's own
      logitsProcessors: [...builtIn.logitsProcessors, ...(options.logitsProcessors ?? [])],
      stoppingCriteria: [...builtIn.stoppingCriteria, ...(options.stoppingCriteria ?? [])],
      onToken: options.onToken ? (t: number) => options.onToken!(t, b) : undefined,
    };
    try {
      if (numBeams === 1) sequences.push(greedySearch(model, px, prompt, maxNewTokens, eos, hooks));
      else {
        const r = beamSearch(model, px, prompt, { numBeams, maxNewTokens, lengthPenalty, eos }, hooks);
        sequences.push(r.tokens);
        scores.push(r.score);
      }
    } finally {
      px?.dispose();
    }
    await new Promise((r) => setImmediate(r)); // let a notebook's event loop breathe between rows
  }
  return numBeams === 1 ? { sequences } : { sequences, sequencesScores: scores };
}
