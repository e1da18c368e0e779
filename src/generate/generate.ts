/**
 * Greedy and beam-search decoding with a KV cache (prefill once, then one step per token), matching HF
 * `generate` 4.47 for PaliGemma: prompt tokens attend bidirectionally among themselves and never to generated
 * tokens; generated tokens attend causally; sliding layers keep a rolling buffer of the last `sliding_window` keys.
 * Beam search follows HF `BeamSearchScorer` (length_penalty, early_stopping=false; see beam.ts).
 */
import { tf } from "../tf.js";
import type { LayerKV } from "../model/gemma2.js";
import { beamSearch } from "./beam.js";

/** What a decoder must offer (PaliGemmaForConditionalGeneration implements it). */
export interface CachedDecoder {
  readonly config: { eosTokenId: number; textConfig: { vocabSize: number } };
  prefill(pixelValues: tf.Tensor | null, promptIds: Int32Array): { logits: tf.Tensor; cache: (LayerKV | null)[] };
  decodeStep(tokens: Int32Array, index: number, cache: (LayerKV | null)[]): tf.Tensor;
}

export interface GenerateInputs {
  pixelValues?: tf.Tensor | null; // float32[B,3,H,W]
  inputIds: tf.Tensor; // int32[B,L] prompt (image tokens + bos + prefix + "\n")
  attentionMask?: tf.Tensor | null; // int32[B,L]; padded positions (0) are dropped per row
}

export interface GenerateOptions {
  /** New tokens to generate at most (HF `max_new_tokens`). Default 20. */
  maxNewTokens?: number;
  /** 1 = greedy (default); > 1 = beam search. */
  numBeams?: number;
  /** Beam-search length penalty (score / generated_len^penalty). Default 1.0. */
  lengthPenalty?: number;
  /** Token that ends a sequence; default the config's eos. */
  eosTokenId?: number;
}

export interface GenerateOutput {
  sequences: number[][]; // per row: prompt ids + generated ids
  sequencesScores?: number[]; // beam search: the best hypothesis' length-normalised log-probability
}

export function disposeCache(cache: (LayerKV | null)[]): void {
  for (const kv of cache) {
    kv?.k.dispose();
    kv?.v.dispose();
  }
}

/** Greedy decoding of one prompt row. */
export function greedySearch(model: CachedDecoder, pixels: tf.Tensor | null, prompt: Int32Array, maxNew: number, eos: number): number[] {
  const out = Array.from(prompt);
  const { logits, cache } = model.prefill(pixels, prompt);
  let next = logits;
  try {
    for (let step = 0; step < maxNew; step++) {
      const id = tf.tidy(() => tf.argMax(next, -1).dataSync()[0]);
      next.dispose();
      out.push(id);
      if (id === eos || step === maxNew - 1) break;
      next = model.decodeStep(Int32Array.of(id), prompt.length + step, cache);
    }
  } finally {
    if (!next.isDisposed) next.dispose();
    disposeCache(cache);
  }
  return out;
}

function checkOptions(o: GenerateOptions): Required<Omit<GenerateOptions, "eosTokenId">> {
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
    try {
      if (numBeams === 1) sequences.push(greedySearch(model, px, prompt, maxNewTokens, eos));
      else {
        const r = beamSearch(model, px, prompt, { numBeams, maxNewTokens, lengthPenalty, eos });
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
