/**
 * How well a `<seg>` VQ-VAE round-trips masks, measured the way the codec is used (codecs/seg.ts):
 *   - at 64×64: IoU of `decode(encode(crop)) > 0` against `crop > ½`, where crop = the mask cropped to its box
 *     and resized to 64×64 (`cropMask64`);
 *   - pasted: the decoded 64×64 mask resized into the object's box (`pasteMask64`, big_vision's evaluator) and
 *     compared with the original full-size mask;
 * plus codebook usage (distinct codes, and the perplexity exp(H) of the code histogram).
 *
 * @example
 * const r = roundTripIou(vae, objects);  // objects: { mask, box }[]
 * r.meanIou64; r.meanIouPasted; r.codesUsed;
 */
import { tf } from "../../tf.js";
import { cropMask64, pasteMask64, type Mask } from "../seg.js";
import { SEG_CODEBOOK_SIZE, type VqVae } from "./model.js";

export interface RoundTripReport {
  objects: number;
  meanIou64: number;
  meanIouPasted: number;
  /** Per-object IoUs, in input order. */
  iou64: number[];
  iouPasted: number[];
  /** Distinct codes over all objects, of 128. */
  codesUsed: number;
  /** exp(entropy) of the code histogram: the number of equally used codes it is worth. */
  perplexity: number;
  /** The encoded codes (16 per object). */
  codes: number[][];
}

const iou = (a: ArrayLike<number>, b: ArrayLike<number>, thA: number, thB: number): number => {
  let i = 0;
  let u = 0;
  for (let k = 0; k < a.length; k++) {
    const [p, q] = [a[k] > thA, b[k] > thB];
    if (p && q) i++;
    if (p || q) u++;
  }
  return u === 0 ? 1 : i / u;
};

/** Encode → decode every object (batches of `batchSize`) and measure; see the module doc. */
export function roundTripIou(vae: VqVae, objects: readonly { mask: Mask; box: readonly number[] }[], batchSize = 64): RoundTripReport {
  const r: RoundTripReport = { objects: objects.length, meanIou64: 0, meanIouPasted: 0, iou64: [], iouPasted: [], codesUsed: 0, perplexity: 0, codes: [] };
  for (let s = 0; s < objects.length; s += batchSize) {
    const batch = objects.slice(s, s + batchSize);
    const crops = batch.map((o) => cropMask64(o.mask, o.box as [number, number, number, number]));
    const input = tf.tensor4d(concat(crops), [batch.length, 64, 64, 1]);
    const codes = vae.encode(input);
    input.dispose();
    const out = vae.decode(codes);
    const dec = out.dataSync() as Float32Array;
    out.dispose();
    batch.forEach((o, i) => {
      const d = dec.subarray(i * 4096, (i + 1) * 4096);
      r.iou64.push(iou(d, crops[i], 0, 0.5));
      const size = { imageWidth: o.mask.width, imageHeight: o.mask.height };
      r.iouPasted.push(iou(pasteMask64(d, o.box, size), o.mask.data, 0, 0));
    });
    r.codes.push(...codes);
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  r.meanIou64 = mean(r.iou64);
  r.meanIouPasted = mean(r.iouPasted);
  const hist = new Array<number>(SEG_CODEBOOK_SIZE).fill(0);
  for (const c of r.codes.flat()) hist[c]++;
  const total = r.codes.length * 16;
  r.codesUsed = hist.filter((h) => h > 0).length;
  r.perplexity = total ? Math.exp(-hist.reduce((h, n) => (n ? h + (n / total) * Math.log(n / total) : h), 0)) : 0;
  return r;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
