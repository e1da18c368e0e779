/**
 * Beam search with HF `BeamSearchScorer` semantics (transformers 4.47, early_stopping=false):
 *   - beam scores start at [0, −1e9, …]; each step: log_softmax(logits) + beam score, flattened over beams×vocab,
 *     top 2·numBeams candidates in descending order;
 *   - an eos candidate ranked < numBeams becomes a finished hypothesis scored sum_logprob / generated_len^penalty
 *     (generated_len counts the eos); other candidates fill the numBeams live beams;
 *   - done when numBeams hypotheses exist and none can be beaten: worst kept ≥ best candidate / cur_len^penalty;
 *   - at the end every live beam is offered as a hypothesis; the best one is returned with its score.
 */
import { tf } from "../tf.js";
import type { CachedDecoder, SearchHooks } from "./generate.js";
import { applyProcessors } from "./processors.js";

export interface BeamOptions {
  numBeams: number;
  maxNewTokens: number;
  lengthPenalty: number;
  eos: number;
}

interface Hypothesis {
  score: number;
  tokens: number[];
}

class Hypotheses {
  readonly list: Hypothesis[] = [];
  constructor(private readonly numBeams: number) {}
  worst(): number {
    return this.list.length ? Math.min(...this.list.map((h) => h.score)) : Infinity;
  }
  add(tokens: number[], score: number): void {
    if (this.list.length < this.numBeams || score > this.worst()) {
      this.list.push({ score, tokens });
      if (this.list.length > this.numBeams) {
        const w = this.list.reduce((m, h, i) => (h.score < this.list[m].score ? i : m), 0);
        this.list.splice(w, 1);
      }
    }
  }
}

/**
 * float32 log-softmax rows of `logits` [R,V], rewritten by the logits processors, + beam scores, flattened to
 * one host array of R·V (HF: `logits_processor(input_ids, log_softmax(logits)) + beam_scores[:, None]`).
 */
function candidateScores(logits: tf.Tensor, beamScores: Float32Array, beams: number[][], n: number, hooks: SearchHooks): Float32Array {
  const V = logits.shape[1]!;
  const lp = tf.tidy(() => Float32Array.from(tf.logSoftmax(logits).dataSync() as Float32Array));
  applyProcessors(hooks.logitsProcessors, beams, lp, V, n);
  for (let r = 0; r < beamScores.length; r++) {
    for (let i = r * V; i < (r + 1) * V; i++) lp[i] = Math.fround(lp[i] + beamScores[r]);
  }
  return lp;
}

/** Indices of the k largest values, descending (ties: lower index first). */
function topK(values: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (best.length === k && v <= values[best[k - 1]]) continue;
    let pos = best.length;
    while (pos > 0 && values[best[pos - 1]] < v) pos--;
    best.splice(pos, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

export function beamSearch(
  model: CachedDecoder,
  pixels: tf.Tensor | null,
  prompt: Int32Array,
  o: BeamOptions,
  hooks: SearchHooks = { logitsProcessors: [], stoppingCriteria: [] },
): Hypothesis {
  const n = prompt.length;
  const V = model.config.textConfig.vocabSize;
  const hyps = new Hypotheses(o.numBeams);
  const first = model.prefill(pixels, prompt);
  const cache = first.cache;
  cache.reorder(new Int32Array(o.numBeams)); // every beam starts from the same prompt (shared, not copied)
  let logits = tf.tidy(() => tf.tile(first.logits, [o.numBeams, 1]));
  first.logits.dispose();
  let beams: number[][] = Array.from({ length: o.numBeams }, () => Array.from(prompt));
  let beamScores = Float32Array.from({ length: o.numBeams }, (_, i) => (i === 0 ? 0 : -1e9));
  let done = false;
  try {
    for (let step = 0; step < o.maxNewTokens && !done; step++) {
      const flat = candidateScores(logits, beamScores, beams, n, hooks);
      logits.dispose();
      const top = topK(flat, 2 * o.numBeams);
      const nextBeams: number[][] = [];
      const nextScores: number[] = [];
      const origin: number[] = [];
      for (let rank = 0; rank < top.length && nextBeams.length < o.numBeams; rank++) {
        const beam = Math.floor(top[rank] / V);
        const token = top[rank] % V;
        if (token === o.eos) {
          if (rank >= o.numBeams) continue;
          hyps.add(beams[beam].slice(), flat[top[rank]] / (step + 1) ** o.lengthPenalty);
        } else if (hooks.stoppingCriteria.some((stop) => stop([...beams[beam], token], n))) {
          if (rank >= o.numBeams) continue; // a stop string ends a hypothesis like eos does, keeping its token
          hyps.add([...beams[beam], token], flat[top[rank]] / (step + 1) ** o.lengthPenalty);
        } else {
          nextBeams.push([...beams[beam], token]);
          nextScores.push(flat[top[rank]]);
          origin.push(beam);
        }
      }
      beams = nextBeams;
      beamScores = Float32Array.from(nextScores);
      if (hyps.list.length >= o.numBeams) {
        done = hyps.worst() >= flat[top[0]] / (step + 1) ** o.lengthPenalty;
      }
      if (done || step === o.maxNewTokens - 1) break;
      // reorder the cache to the surviving beams, then feed their last tokens
      cache.reorder(Int32Array.from(origin));
      logits = model.decodeStep(Int32Array.from(beams.map((b) => b[b.length - 1])), n + step, cache);
    }
    if (!done) beams.forEach((b, i) => hyps.add(b, beamScores[i] / (b.length - n) ** o.lengthPenalty));
  } finally {
    if (!logits.isDisposed) logits.dispose();
    cache.dispose();
  }
  return hyps.list.reduce((best, h) => (h.score > best.score ? h : best));
}
