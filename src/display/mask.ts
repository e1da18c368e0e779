/**
 * Binary masks ⇄ run-length encoding (`MaskRle`, row-major, 0-run first: the layout the extension decodes).
 * Masks are resampled (nearest) onto the preview grid, so a 20-mask display costs a few kB, not 20 full images.
 *
 * @example
 * const rle = encodeMaskRle(mask.data.subarray(0, h * w), w, h, 320, 240); // full-size mask → 320×240 grid
 * decodeMaskRle(rle).length; // 320·240
 */
import type { MaskRle } from "./protocol.js";
import { DisplayError } from "./errors.js";

/**
 * Encodes `src` (uint8[h,w], nonzero = inside) resampled to `outW`×`outH` with nearest-neighbour sampling at
 * pixel centres.
 */
export function encodeMaskRle(src: ArrayLike<number>, w: number, h: number, outW = w, outH = h): MaskRle {
  if (src.length !== w * h) throw new DisplayError("mask", `expected ${w}·${h} = ${w * h} values; got ${src.length}`);
  if (!(outW >= 1 && outH >= 1)) throw new DisplayError("mask", `bad output grid ${outW}×${outH}`);
  const xs = new Int32Array(outW);
  for (let x = 0; x < outW; x++) xs[x] = Math.min(w - 1, Math.floor(((x + 0.5) * w) / outW));
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let y = 0; y < outH; y++) {
    const row = Math.min(h - 1, Math.floor(((y + 0.5) * h) / outH)) * w;
    for (let x = 0; x < outW; x++) {
      const v = src[row + xs[x]] ? 1 : 0;
      if (v === current) run++;
      else {
        counts.push(run);
        current = v;
        run = 1;
      }
    }
  }
  counts.push(run);
  return { width: outW, height: outH, counts };
}

/** RLE → uint8[height·width] of 0/1; throws when the counts do not cover the grid exactly. */
export function decodeMaskRle(rle: MaskRle): Uint8Array {
  const n = rle.width * rle.height;
  const out = new Uint8Array(n);
  let pos = 0;
  for (let i = 0; i < rle.counts.length; i++) {
    const c = rle.counts[i];
    if (!Number.isInteger(c) || c < 0 || pos + c > n) throw new DisplayError("mask.counts", `run ${i} (${c}) overflows the ${rle.width}×${rle.height} grid`);
    if (i % 2 === 1) out.fill(1, pos, pos + c);
    pos += c;
  }
  if (pos !== n) throw new DisplayError("mask.counts", `runs cover ${pos} of ${n} pixels`);
  return out;
}

/** Number of 1 pixels. */
export function maskRleArea(rle: MaskRle): number {
  let a = 0;
  for (let i = 1; i < rle.counts.length; i += 2) a += rle.counts[i];
  return a;
}
