/**
 * Scaled dot-product attention with grouped KV heads, optional Gemma 2 soft-capping and an additive mask,
 * in HF's eager order: s = (q·kᵀ)·scale → cap·tanh(s/cap) → s + mask → softmax(float32) → ·v.
 */
import { tf } from "../tf.js";
import { matMul, matMulT, recordingGradients } from "./matmul.js";
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
    let s = scaledScores(matMulT(qg, k), o); // [B,KV,rep·Lq,Lk]
    if (o.mask) {
      s = tf.add(tf.reshape(s, [B, KV, rep, Lq, Lk]), tf.reshape(o.mask, [B, 1, 1, Lq, Lk]));
      s = tf.reshape(s, [B, KV, rep * Lq, Lk]);
    }
    const p = softmax(s);
    return tf.reshape(matMul(p, v), [B, H, Lq, d]);
  });
}

/**
 * (q·kᵀ)·scale, then the soft-cap cap·tanh(s / cap). Without a tape and with a power-of-two scale (Gemma 2:
 * 64^-0.5 = 1/8 for head_dim 64, 256^-0.5 = 1/16 for the 3B), the scale folds into the cap's division: s·2^-e / cap
 * and s / (cap·2^e) are the same real quotient rounded once (scaling by 2^-e is exact), one kernel fewer.
 */
function scaledScores(qk: tf.Tensor, o: AttentionOptions): tf.Tensor {
  if (!o.softcap) return tf.mul(qk, o.scale);
  const exponent = Math.log2(o.scale);
  if (Number.isInteger(exponent) && !recordingGradients()) {
    return tf.tidy(() => tf.mul(tf.tanh(tf.div(qk, o.softcap! / o.scale)), o.softcap!));
  }
  return capLogits(tf.mul(qk, o.scale), o.softcap);
}

/**
 * One query position of one row (greedy decoding), q: float32[1,H,1,d], over key segments float32[1,KV,T_i,d]
 * (the prompt's keys, then the generated ones: neither is copied to join them), as 2-D products: every head's
 * scores against all kv heads' keys [H, Σ KV·T_i], the other kv heads' blocks masked out (float32 min: exp gives
 * exactly 0 there, so p·v over all keys is the grouped attention), then p·v per segment, summed. KV times the (tiny)
 * arithmetic of the grouped form, but 2-D products instead of batched ones, which cost ~5× more per call on the
 * native backend (~120-220 µs CPU for BatchMatMulV2 vs ~25 µs for MatMul on TF 2.21), and no per-step copy of
 * the cache (a Concat of the ~300 cached keys took ~0.4-0.9 ms CPU per layer and tensor).
 */
function oneQueryAttention(q: tf.Tensor, segments: readonly KeySegment[], o: AttentionOptions): tf.Tensor {
  return tf.tidy(() => {
    const [, H, , d] = q.shape as number[];
    const KV = segments[0]!.k.shape[1]!;
    const lengths = segments.map((seg) => seg.k.shape[2]!);
    const flat = (t: tf.Tensor) => tf.reshape(t, [-1, d]); // [1,KV,T,d] → [KV·T, d]
    const qf = tf.reshape(q, [H, d]);
    const scores = segments.map((seg) => matMulT(qf, flat(seg.k))); // [H, KV·T_i]
    const s = scaledScores(scores.length === 1 ? scores[0]! : tf.concat(scores, 1), o);
    const p = softmax(tf.add(s, otherKvHeadsMask(H, KV, lengths)));
    const parts = segments.length === 1 ? [p] : tf.split(p, lengths.map((T) => KV * T), 1);
    const out = parts.map((pi, i) => matMul(pi, flat(segments[i]!.v))); // [H, d]
    return tf.reshape(out.length === 1 ? out[0]! : tf.addN(out), [1, H, 1, d]);
  });
}

/** float32[H, Σ KV·T_i]: per segment, 0 on query head h's kv head ⌊h / (H/KV)⌋ (HF `repeat_kv`), MASK_MIN elsewhere. */
function otherKvHeadsMask(H: number, KV: number, lengths: readonly number[]): tf.Tensor {
  const width = KV * lengths.reduce((a, b) => a + b, 0);
  const m = new Float32Array(H * width).fill(MASK_MIN);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / KV));
    let offset = h * width;
    for (const T of lengths) {
      m.fill(0, offset + g * T, offset + (g + 1) * T);
      offset += KV * T;
    }
  }
  return tf.tensor2d(m, [H, width]);
}

/** Keys and values of one stretch of cached positions: float32[rows,KV,T,d]; rows 1 = shared by every query row. */
export interface KeySegment {
  k: tf.Tensor;
  v: tf.Tensor;
}

/**
 * Attention of q: float32[R,H,Lq,d] over keys kept in segments (a KV cache: the prompt, then generated tokens),
 * equal to `groupedQueryAttention` over the segments concatenated along the key axis, without building that
 * concatenation. A segment with one row is shared by all R query rows (every beam reads the same prompt keys):
 * the R rows' queries then become extra query rows of one product, so the shared keys are never copied per row.
 * The softmax runs over all segments together. A mask is accepted only for one segment of R rows (the prefill);
 * decoding queries see every cached key.
 */
export function cachedAttention(q: tf.Tensor, segments: readonly KeySegment[], o: AttentionOptions): tf.Tensor {
  const only = segments.length === 1 ? segments[0]! : null;
  const oneQuery = q.shape[0] === 1 && q.shape[2] === 1 && !o.mask && !recordingGradients(); // greedy decoding
  if (oneQuery && segments.every((seg) => seg.k.shape[0] === 1)) return oneQueryAttention(q, segments, o);
  if (only && only.k.shape[0] === q.shape[0]) return groupedQueryAttention(q, only.k, only.v, o);
  if (o.mask) throw new Error("cachedAttention: a mask needs the keys as one segment with a row per query row (the prefill)");
  if (segments.every((seg) => seg.k.shape[0] === q.shape[0])) {
    // several query rows, no segment shared across them: one attention over the joined keys costs fewer batched
    // kernels than per-segment scores + split + addN (one row, greedy decoding, takes `oneQueryAttention` above)
    return tf.tidy(() => groupedQueryAttention(q, tf.concat(segments.map((seg) => seg.k), 2), tf.concat(segments.map((seg) => seg.v), 2), o));
  }
  return tf.tidy(() => {
    const [R, H, Lq, d] = q.shape as number[];
    const KV = segments[0]!.k.shape[1]!;
    const M = (H / KV) * Lq; // query rows per kv head and batch row
    const shared = (seg: KeySegment) => seg.k.shape[0] === 1 && R > 1;
    const qRows = tf.reshape(q, [R, KV, M, d]);
    const qAll = tf.reshape(tf.transpose(qRows, [1, 0, 2, 3]), [1, KV, R * M, d]); // every row's queries, one batch
    const toRows = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [KV, R, M, -1]), [1, 0, 2, 3]); // [1,KV,R·M,n] → [R,KV,M,n]
    const toAll = (t: tf.Tensor) => tf.reshape(tf.transpose(t, [1, 0, 2, 3]), [1, KV, R * M, -1]); // inverse
    const scores = segments.map((seg) => (shared(seg) ? toRows(matMulT(qAll, seg.k)) : matMulT(qRows, seg.k))); // [R,KV,M,T_i]
    const s = scaledScores(tf.concat(scores, 3), o);
    const p = tf.split(tf.softmax(s), segments.map((seg) => seg.k.shape[2]!), 3);
    const out = segments.map((seg, i) => (shared(seg) ? toRows(matMul(toAll(p[i]!), seg.v)) : matMul(p[i]!, seg.v))); // [R,KV,M,d]
    return tf.reshape(out.length === 1 ? out[0]! : tf.addN(out), [R, H, Lq, d]);
  });
}
