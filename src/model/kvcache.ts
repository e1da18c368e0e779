/**
 * The decoding state (HF `DynamicCache` / `HybridCache`; mlx-lm's one-method `KVCache.update_and_fetch`): per layer
 * the keys/values already computed (after RoPE), plus Eᵀ for the tied LM head, computed once per generate call
 * instead of once per token (the [V,D] transpose dominated a decode step on WASM: ~500 ms → 9 ms on the 106M bench
 * model).
 *
 * Layout: each layer holds two segments, attended to as one sequence (ops/attention.ts `cachedAttention`):
 *   prompt      float32[P,KV,n,d]   what the prefill wrote; P = 1 during generation (one prompt row), and then
 *                                   SHARED by every beam: never copied per beam, never reordered
 *   generated   float32[R,KV,t,d]   one entry per decoded token, one row per live beam (R = numBeams, 1 for greedy)
 * So a decode step copies only the generated keys (t ≤ maxNewTokens) when it appends or reorders, not the prompt's
 * hundreds of image+prefix positions; beam reordering is a row permutation of the small segment (slices + concat,
 * ~4× cheaper than tf.gather on WASM), skipped when the beams keep their order.
 *
 * Sliding layers (Gemma 2, even layers) keep a rolling buffer of the last `window` keys: the prefill stores only the
 * last `window` prompt keys, and each decode step drops keys older than `window` (oldest prompt keys first).
 *
 *     const cache = new KVCache(numLayers, (layer) => isSlidingLayer(layer) ? slidingWindow : null);
 *     const kv = cache.updateAndFetch(layer, k, v); // store this step's keys, return everything to attend to
 *     cache.reorder(Int32Array.of(0, 0, 2));        // beam search: row i continues old row beamIdx[i]
 *     cache.dispose();
 */
import { tf } from "../tf.js";

/** Keys and values of one stretch of positions: float32[rows,KV,T,d] each (rows 1 = shared by every row). */
export interface KVSegment {
  k: tf.Tensor;
  v: tf.Tensor;
}

interface LayerState {
  prompt: KVSegment | null;
  generated: KVSegment | null;
}

function disposeSegment(s: KVSegment | null): void {
  s?.k.dispose();
  s?.v.dispose();
}

/** Keep positions [from, T) of a segment (axis 2). */
function dropFront(s: KVSegment, from: number): KVSegment {
  return { k: tf.slice(s.k, [0, 0, from, 0], [-1, -1, -1, -1]), v: tf.slice(s.v, [0, 0, from, 0], [-1, -1, -1, -1]) };
}

/** Rows `rows` of a [R,…] tensor as a new tensor (per-row slices + one concat: no tf.gather, slow on WASM). */
function takeRows(t: tf.Tensor, rows: Int32Array): tf.Tensor {
  return tf.tidy(() => tf.concat(Array.from(rows, (r) => tf.slice(t, [r, 0, 0, 0], [1, -1, -1, -1])), 0));
}

export class KVCache {
  private readonly layers: LayerState[];
  /** Eᵀ float32[D,V] for the tied LM head during generation; freed with the cache. */
  lmHeadT: tf.Tensor | null = null;
  /** Tensors derived from weights, which do not change during one generate call (`derived`); freed with the cache. */
  private readonly derivedTensors = new Map<tf.Tensor, tf.Tensor>();

  /** `windowOf(layer)`: the sliding window of that layer, or null for a global layer. */
  constructor(
    numLayers: number,
    private readonly windowOf: (layer: number) => number | null = () => null,
  ) {
    this.layers = Array.from({ length: numLayers }, () => ({ prompt: null, generated: null }));
  }

  /** Positions layer `layer` currently holds (after sliding-window trimming). */
  length(layer: number): number {
    const s = this.layers[layer]!;
    return (s.prompt?.k.shape[2] ?? 0) + (s.generated?.k.shape[2] ?? 0);
  }

  /**
   * Store this call's keys/values k, v: float32[B,KV,L,d] for layer `layer` and return the segments the queries of
   * this call attend to, oldest first. The first call of a layer is the prefill (any L; the caller's mask limits
   * sliding layers); later calls decode one token per row (L = 1) and see at most `window` keys on sliding layers.
   * The returned tensors belong to the caller's tidy scope (the cache keeps its own references).
   */
  updateAndFetch(layer: number, k: tf.Tensor, v: tf.Tensor): KVSegment[] {
    const s = this.layers[layer];
    if (!s) throw new Error(`KVCache.updateAndFetch: layer ${layer} is outside 0..${this.layers.length - 1}`);
    const window = this.windowOf(layer) ?? Infinity;
    if (!s.prompt) {
      const L = k.shape[2]!;
      s.prompt = keepSegment(L > window ? dropFront({ k, v }, L - window) : { k: k.clone(), v: v.clone() });
      return [{ k, v }];
    }
    if (k.shape[2] !== 1) throw new Error(`KVCache.updateAndFetch: after the prefill, decode one token per row (got ${k.shape[2]})`);
    const appended = s.generated ? { k: tf.concat([s.generated.k, k], 2), v: tf.concat([s.generated.v, v], 2) } : { k, v };
    const over = s.prompt.k.shape[2]! + appended.k.shape[2]! - window;
    let prompt = s.prompt;
    let generated = appended;
    if (over > 0) {
      const fromPrompt = Math.min(over, prompt.k.shape[2]!);
      if (fromPrompt > 0) prompt = dropFront(prompt, fromPrompt);
      if (over > fromPrompt) generated = dropFront(generated, over - fromPrompt);
    }
    if (prompt !== s.prompt) {
      disposeSegment(s.prompt);
      s.prompt = keepSegment(prompt);
    }
    disposeSegment(s.generated);
    // the caller's own k, v (first step) are cloned: it may pass one tensor twice or to several layers; a concat or
    // slice made here is kept as it is (no copy of the generated keys per step)
    s.generated = keepSegment(generated.k === k ? { k: k.clone(), v: v.clone() } : generated);
    return s.prompt.k.shape[2]! > 0 ? [s.prompt, s.generated] : [s.generated];
  }

  /**
   * Beam search: row i of the next step continues old row `beamIdx[i]` (HF `_reorder_cache`). The shared prompt
   * segment is untouched; the generated segment is permuted, and left alone when beamIdx is 0, 1, 2, … already.
   * Before the first decode step (nothing generated yet) this only fixes how many rows there are: free.
   */
  reorder(beamIdx: Int32Array): void {
    const identity = (t: tf.Tensor) => t.shape[0] === beamIdx.length && beamIdx.every((r, i) => r === i);
    for (const s of this.layers) {
      if (s.prompt && s.prompt.k.shape[0] !== 1 && !identity(s.prompt.k)) s.prompt = this.permute(s.prompt, beamIdx);
      if (s.generated && !identity(s.generated.k)) s.generated = this.permute(s.generated, beamIdx);
    }
  }

  private permute(seg: KVSegment, rows: Int32Array): KVSegment {
    const next = keepSegment({ k: takeRows(seg.k, rows), v: takeRows(seg.v, rows) });
    disposeSegment(seg);
    return next;
  }

  /**
   * `make()` computed once per generate call for the weight `source` (e.g. an RMSNorm's 1 + w), then reused by every
   * decoding step: weights are frozen while decoding. The cache owns the result.
   */
  derived(source: tf.Tensor, make: () => tf.Tensor): tf.Tensor {
    let t = this.derivedTensors.get(source);
    if (!t) {
      t = tf.keep(tf.tidy(make));
      this.derivedTensors.set(source, t);
    }
    return t;
  }

  /** Free every cached tensor and Eᵀ. */
  dispose(): void {
    for (const s of this.layers) {
      disposeSegment(s.prompt);
      disposeSegment(s.generated);
      s.prompt = null;
      s.generated = null;
    }
    this.lmHeadT?.dispose();
    this.lmHeadT = null;
    for (const t of this.derivedTensors.values()) t.dispose();
    this.derivedTensors.clear();
  }
}

function keepSegment(s: KVSegment): KVSegment {
  return { k: tf.keep(s.k), v: tf.keep(s.v) };
}
