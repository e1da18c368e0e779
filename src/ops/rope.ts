/**
 * Rotary position embedding, half-split (GPT-NeoX) convention as in HF `Gemma2RotaryEmbedding`:
 * inv_freq[i] = 1 / θ^(2i/d) in float32; emb = concat(pos·inv_freq, pos·inv_freq);
 * x' = x·cos(emb) + rotate_half(x)·sin(emb), rotate_half(x) = concat(−x[d/2:], x[:d/2]).
 */
import { tf } from "../tf.js";
import { matMul } from "./matmul.js";

export interface RopeTables {
  cos: tf.Tensor; // float32[B,1,L,d]
  sin: tf.Tensor; // float32[B,1,L,d]; with `halfSwap`: its first half negated
  /**
   * The decoding form (few positions, no gradient): float32[d,d] P that swaps the halves, so rotate_half(x)·sin is
   * (x·P)·sin' with sin' = (−sin₁, sin₂): one product instead of split, neg and concat. Bit-identical: x·P copies
   * entries (one 1 per column, the rest adds exact zeros) and −a·b = a·(−b) exactly.
   */
  halfSwap?: tf.Tensor; // float32[d,d]
}

/**
 * cos/sin tables for integer positions: positions[b][l] (PaliGemma positions are 1-based in HF).
 * `form: "halfSwap"` gives the decoding form (see `RopeTables.halfSwap`); the default suits training too.
 */
export function ropeTables(positions: number[][], headDim: number, theta: number, form: "split" | "halfSwap" = "split"): RopeTables {
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim)));
  const B = positions.length;
  const L = positions[0].length;
  const cos = new Float32Array(B * L * headDim);
  const sin = new Float32Array(B * L * headDim);
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      const base = (b * L + l) * headDim;
      for (let i = 0; i < half; i++) {
        const f = Math.fround(positions[b][l] * invFreq[i]); // float32 product, as torch computes it
        const c = Math.cos(f);
        const s = Math.sin(f);
        cos[base + i] = c;
        cos[base + half + i] = c;
        sin[base + i] = s;
        sin[base + half + i] = s;
      }
    }
  }
  if (form === "split") return { cos: tf.tensor4d(cos, [B, 1, L, headDim]), sin: tf.tensor4d(sin, [B, 1, L, headDim]) };
  const swap = new Float32Array(headDim * headDim); // (x·P)[j] = x[(j + half) mod d]
  for (let j = 0; j < headDim; j++) swap[((j + half) % headDim) * headDim + j] = 1;
  for (let n = 0; n < B * L; n++) for (let i = 0; i < half; i++) sin[n * headDim + i] = -sin[n * headDim + i];
  return { cos: tf.tensor4d(cos, [B, 1, L, headDim]), sin: tf.tensor4d(sin, [B, 1, L, headDim]), halfSwap: tf.tensor2d(swap, [headDim, headDim]) };
}

/** Apply RoPE to x: float32[B,H,L,d]. */
export function applyRope(x: tf.Tensor, t: RopeTables): tf.Tensor {
  if (t.halfSwap) {
    return tf.tidy(() => {
      const d = x.shape[3]!;
      // as one 2-D product [B·H·L, d]·[d, d]: a tiny BatchMatMul costs ~5× a 2-D MatMul on the native backend
      const swapped = tf.reshape(matMul(tf.reshape(x, [-1, d]), t.halfSwap!), x.shape);
      return tf.add(tf.mul(x, t.cos), tf.mul(swapped, t.sin));
    });
  }
  return tf.tidy(() => {
    const d = x.shape[3]!;
    const [x1, x2] = tf.split(x, [d / 2, d / 2], 3);
    const rotated = tf.concat([tf.neg(x2), x1], 3); // rotate_half
    return tf.add(tf.mul(x, t.cos), tf.mul(rotated, t.sin));
  });
}

export function disposeRope(t: RopeTables): void {
  t.cos.dispose();
  t.sin.dispose();
  t.halfSwap?.dispose();
}
