/**
 * The decoding state: per layer the cached keys/values (after RoPE), plus Eᵀ for the tied LM head, computed once
 * per generate call instead of once per token (the [V,D] transpose dominated a decode step on WASM: ~500 ms → 9 ms
 * on the 106M bench model).
 */
import { tf } from "../tf.js";
import type { LayerKV } from "./gemma2.js";

export type DecodeCache = (LayerKV | null)[] & { lmHeadT?: tf.Tensor };

export function disposeCache(cache: DecodeCache): void {
  for (const kv of cache) {
    kv?.k.dispose();
    kv?.v.dispose();
  }
  cache.lmHeadT?.dispose();
  cache.lmHeadT = undefined;
}

/** Keep rows `rows` of every layer's cache (beam reordering / copying the prompt to each beam); frees the old. */
export function selectCacheRows(cache: DecodeCache, rows: Int32Array): DecodeCache {
  const idx = tf.tensor1d(rows, "int32");
  const next = cache.map((kv) => {
    if (!kv) return kv;
    const moved = { k: tf.keep(tf.gather(kv.k, idx)), v: tf.keep(tf.gather(kv.v, idx)) };
    kv.k.dispose();
    kv.v.dispose();
    return moved;
  }) as DecodeCache;
  next.lmHeadT = cache.lmHeadT;
  idx.dispose();
  return next;
}
