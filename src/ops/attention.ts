/**
 * Scaled dot-product attention with grouped KV heads, optional Gemma 2 soft-capping and an additive mask,
 * in HF's eager order: s = (q·kᵀ)·scale → cap·tanh(s/cap) → s + mask → softmax(float32) → ·v.
 */
import { tf } from "../tf.js";
import { matMul, matMulT } from "./matmul.js";
import { softcap as capLogits } from "./elementwise.js";
import { softmax } from "./softmax.js";

/** Value HF adds for a masked key: float32 min, not −inf (a fully masked row becomes uniform, not NaN). */
export const MASK_MIN = -3.4028234663852886e38;

export interface AttentionOptions {
  scale: number;
  softcap?: number | null;
  /** Additive mask float32[B,1,Lq,Lk] (0 or MASK_MIN), or null for "every key visible". */
  mask?: tf.Tensor | null;
}

/**
 * q: float32[B,H,Lq,d], k/v: float32[B,KV,Lk,d] with H % KV == 0 → float32[B,H,Lq,d].
 * Query head h reads kv head ⌊h / (H/KV)⌋ (HF `repeat_kv`), done by grouping queries instead of copying keys.
 */
export function groupedQueryAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: AttentionOptions): tf.Tensor {
  return tf.tidy(() => {
    const [B, H, Lq, d] = q.shape as number[];
    const KV = k.shape[1]!;
    const Lk = k.shape[2]!;
    const rep = H / KV;
    const qg = tf.reshape(q, [B, KV, rep * Lq, d]); // heads kv·rep … kv·rep+rep−1 share kv head `kv`
    let s = tf.mul(matMulT(qg, k), o.scale); // [B,KV,rep·Lq,Lk]
    if (o.softcap) s = capLogits(s, o.softcap);
    if (o.mask) {
      s = tf.add(tf.reshape(s, [B, KV, rep, Lq, Lk]), tf.reshape(o.mask, [B, 1, 1, Lq, Lk]));
      s = tf.reshape(s, [B, KV, rep * Lq, Lk]);
    }
    const p = softmax(s);
    return tf.reshape(matMul(p, v), [B, H, Lq, d]);
  });
}
