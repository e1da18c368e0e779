/**
 * Rotary position embedding, half-split (GPT-NeoX) convention as in HF `Gemma2RotaryEmbedding`:
 * inv_freq[i] = 1 / θ^(2i/d) in float32; emb = concat(pos·inv_freq, pos·inv_freq);
 * x' = x·cos(emb) + rotate_half(x)·sin(emb), rotate_half(x) = concat(−x[d/2:], x[:d/2]).
 */
import { tf } from "../tf.js";

export interface RopeTables {
  cos: tf.Tensor; // float32[B,1,L,d]
  sin: tf.Tensor; // float32[B,1,L,d]
}

/** cos/sin tables for integer positions: positions[b][l] (PaliGemma positions are 1-based in HF). */
export function ropeTables(positions: number[][], headDim: number, theta: number): RopeTables {
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
  return { cos: tf.tensor4d(cos, [B, 1, L, headDim]), sin: tf.tensor4d(sin, [B, 1, L, headDim]) };
}

/** Apply RoPE to x: float32[B,H,L,d]. */
export function applyRope(x: tf.Tensor, t: RopeTables): tf.Tensor {
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
}
