/**
 * The `<seg>` codec around the VQ-VAE (codecs/vqvae/model.ts), both ways, as big_vision does it:
 *   - encode (big_vision/pp/proj/paligemma/segmentation.py, `refcoco_mask2str`): crop the full-image mask to the
 *     box (edges rounded half-to-even, like `tf.round`), resize the crop to 64×64 (bilinear, antialiased:
 *     `tf.image.resize(..., antialias=True)`), encode → 16 codes;
 *   - decode (big_vision/evaluators/proj/paligemma/transfers/segmentation.py, `Evaluator.run`): 16 codes → 64×64
 *     float mask → PIL bilinear resize into the box (box edges `int(bin / 1023 · size)`, truncation) → `> 0` →
 *     pasted into an all-zero image-size mask.
 * The resampler is Pillow's (`Resample.c`: triangle filter widened by the downscale factor, horizontal pass then
 * vertical, float32 between passes); TF's antialiased bilinear is the same filter.
 *
 * @example
 *   const vae = await VqVae.load("vae-oid.npz");
 *   const codes = await segEncoder(vae).encode(mask, [x1, y1, x2, y2]);          // 16 ints in 0..127
 *   const full = decodeSegMask(vae, codes, locs, { imageWidth: 640, imageHeight: 480 }); // uint8[480·640]
 */
import { tf } from "../tf.js";
import { LOC_MAX, type ImageSize } from "./loc.js";
import type { VqVae } from "./vqvae/model.js";

/** A binary mask: row-major uint8[height·width], 1 inside. */
export interface Mask {
  data: Uint8Array;
  width: number;
  height: number;
}

interface Coeffs {
  bounds: Int32Array; // per output: xmin, count
  k: Float64Array; // per output: ksize weights
  ksize: number;
}

/** Pillow `precompute_coeffs` for the bilinear filter (support 1). */
function coeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const k = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      k[xx * ksize + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) k[xx * ksize + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, k, ksize };
}

/**
 * Bilinear resize of a float image (row-major float32[h·w]) to `outW × outH`, antialiased when shrinking:
 * Pillow's `Image.resize(..., BILINEAR)` on mode "F" images (and, to float precision, TF's antialiased bilinear).
 */
export function resizeBilinear(src: Float32Array, w: number, h: number, outW: number, outH: number): Float32Array {
  if (src.length !== w * h) throw new RangeError(`resizeBilinear: ${src.length} values for ${w}×${h}`);
  if (!(Number.isInteger(outW) && Number.isInteger(outH) && outW > 0 && outH > 0)) throw new RangeError(`resizeBilinear: output size ${outW}×${outH}`);
  let cur = src;
  let cw = w;
  if (outW !== w) {
    const c = coeffs(w, outW);
    const tmp = new Float32Array(outW * h);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < outW; xx++) {
        const xmin = c.bounds[xx * 2];
        const n = c.bounds[xx * 2 + 1];
        let ss = 0;
        for (let x = 0; x < n; x++) ss += cur[y * cw + xmin + x] * c.k[xx * c.ksize + x];
        tmp[y * outW + xx] = ss;
      }
    }
    cur = tmp;
    cw = outW;
  }
  if (outH !== h) {
    const c = coeffs(h, outH);
    const out = new Float32Array(outW * outH);
    for (let yy = 0; yy < outH; yy++) {
      const ymin = c.bounds[yy * 2];
      const n = c.bounds[yy * 2 + 1];
      for (let x = 0; x < outW; x++) {
        let ss = 0;
        for (let y = 0; y < n; y++) ss += cur[(ymin + y) * cw + x] * c.k[yy * c.ksize + y];
        out[yy * outW + x] = ss;
      }
    }
    cur = out;
  }
  return cur === src ? Float32Array.from(src) : cur;
}

/** tf.round: half to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The 64×64 encoder input for one object: the mask cropped to `xyxy` (pixels; edges rounded half-to-even and
 * clamped to the image, at least 1 pixel) and resized, values in [0, 1].
 */
export function cropMask64(mask: Mask, xyxy: ArrayLike<number>): Float32Array {
  checkMask(mask);
  const clampI = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  let x1 = clampI(roundHalfEven(xyxy[0]), mask.width - 1);
  let y1 = clampI(roundHalfEven(xyxy[1]), mask.height - 1);
  let x2 = clampI(roundHalfEven(xyxy[2]), mask.width);
  let y2 = clampI(roundHalfEven(xyxy[3]), mask.height);
  if (x2 <= x1) x2 = x1 + 1;
  if (y2 <= y1) y2 = y1 + 1;
  const cw = x2 - x1;
  const ch = y2 - y1;
  const crop = new Float32Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) crop[y * cw + x] = mask.data[(y1 + y) * mask.width + x1 + x] ? 1 : 0;
  return resizeBilinear(crop, cw, ch, 64, 64);
}

/** A `SegEncoder` (data/converters/coco.ts) backed by the VQ-VAE: full-image mask + pixel box → 16 codes. */
export function segEncoder(vae: VqVae): { encode(mask: Mask, xyxy: [number, number, number, number]): number[] } {
  return {
    encode(mask, xyxy) {
      const m = tf.tensor4d(cropMask64(mask, xyxy), [1, 64, 64, 1]);
      try {
        return vae.encode(m)[0];
      } finally {
        m.dispose();
      }
    },
  };
}

/** The pixel box big_vision pastes into: `int(bin / 1023 · size)` for [y1, x1, y2, x2] bins → [x1, y1, x2, y2]. */
export function pasteBox(locs: ArrayLike<number>, size: ImageSize): [number, number, number, number] {
  const { imageWidth: w, imageHeight: h } = size;
  return [Math.trunc((locs[1] / LOC_MAX) * w), Math.trunc((locs[0] / LOC_MAX) * h), Math.trunc((locs[3] / LOC_MAX) * w), Math.trunc((locs[2] / LOC_MAX) * h)];
}

/**
 * A decoded 64×64 float mask (`> 0` inside) → an image-size binary mask: resized into the integer box
 * [x1, y1, x2, y2] and thresholded; an empty box gives an empty mask.
 */
export function pasteMask64(m64: Float32Array, box: readonly number[], size: ImageSize): Uint8Array {
  const { imageWidth: W, imageHeight: H } = size;
  const out = new Uint8Array(W * H);
  const [x1, y1, x2, y2] = box;
  if (!(x2 > x1 && y2 > y1)) return out;
  const bw = x2 - x1;
  const bh = y2 - y1;
  const r = resizeBilinear(m64, 64, 64, bw, bh);
  for (let y = 0; y < bh; y++) {
    const yy = y1 + y;
    if (yy < 0 || yy >= H) continue;
    for (let x = 0; x < bw; x++) {
      const xx = x1 + x;
      if (xx >= 0 && xx < W && r[y * bw + x] > 0) out[yy * W + xx] = 1;
    }
  }
  return out;
}

/** 16 codes + the object's `<loc>` bins → the image-size binary mask (uint8[H·W]). */
export function decodeSegMask(vae: VqVae, codes: readonly number[], locs: ArrayLike<number>, size: ImageSize): Uint8Array {
  return decodeSegMasks(vae, [{ codes, locs }], size)[0];
}

/** Batched `decodeSegMask` (one decoder call for all objects of an image). */
export function decodeSegMasks(vae: VqVae, objects: readonly { codes: readonly number[]; locs: ArrayLike<number> }[], size: ImageSize): Uint8Array[] {
  if (!objects.length) return [];
  const t = vae.decode(objects.map((o) => o.codes));
  const all = t.dataSync() as Float32Array;
  t.dispose();
  return objects.map((o, i) => pasteMask64(all.subarray(i * 4096, (i + 1) * 4096), pasteBox(o.locs, size), size));
}

function checkMask(m: Mask): void {
  if (!m || !(m.data instanceof Uint8Array) || !(m.width > 0 && m.height > 0) || m.data.length !== m.width * m.height) {
    throw new RangeError(`mask must be { data: Uint8Array(width·height), width, height }; got ${m?.width}×${m?.height} with ${m?.data?.length} values`);
  }
}
