/**
 * PaliGemma's attention masks, as HF 4.47 `PaliGemmaForConditionalGeneration._update_causal_mask` and
 * `Gemma2DecoderLayer` build them. `allowed[b][i][j]` says whether query i may read key j.
 *
 *   training  (token_type_ids AND labels given):  allowed = (j ≤ i and attn[j]) or tti[j] == 0
 *             image + prefix (type 0) bidirectional, suffix (type 1) causal. 4.47 unmasks type-0 keys after the
 *             padding mask, so pads with token type 0 become visible: processors must give pads type 1.
 *   inference (otherwise):                        allowed = attn[j]      — the whole input is bidirectional
 *   sliding layers additionally drop keys j ≤ i − sliding_window (only the past side is limited).
 *
 * big_vision's `make_attn_mask` is the same prefix-LM idea with `mask_ar`; HF ≥ 4.50 fixed the pad bug.
 */
import { tf } from "../tf.js";
import { MASK_MIN } from "../ops/attention.js";

export type MaskStyle = "training" | "inference";

/** allowed[b·L·L + i·L + j] as 0/1 for a batch of rows. */
export function makePrefixLmMask(
  attentionMask: Int32Array,
  tokenTypeIds: Int32Array | null,
  B: number,
  L: number,
  style: MaskStyle,
): Uint8Array {
  const allowed = new Uint8Array(B * L * L);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) {
        const real = attentionMask[b * L + j] !== 0;
        const ok = style === "training" ? (j <= i && real) || tokenTypeIds![b * L + j] === 0 : real;
        allowed[(b * L + i) * L + j] = ok ? 1 : 0;
      }
    }
  }
  return allowed;
}

/** Drop keys j ≤ i − window (HF `torch.tril(ones, diagonal=-sliding_window)`). Returns a new map. */
export function applySlidingWindow(allowed: Uint8Array, B: number, L: number, window: number): Uint8Array {
  const out = allowed.slice();
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      for (let j = 0; j <= i - window; j++) out[(b * L + i) * L + j] = 0;
    }
  }
  return out;
}

/** 0/1 map → additive float32[B,1,Lq,Lk] mask (0 or float32 min, as HF adds). */
export function additiveMask(allowed: Uint8Array, B: number, Lq: number, Lk: number): tf.Tensor {
  const m = new Float32Array(allowed.length);
  for (let n = 0; n < allowed.length; n++) m[n] = allowed[n] ? 0 : MASK_MIN;
  return tf.tensor4d(m, [B, 1, Lq, Lk]);
}
