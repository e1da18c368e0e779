/**
 * COCO segmentation ⇄ binary masks, bit-compatible with pycocotools (`pycocotools/_mask.pyx`,
 * `common/maskApi.c`): polygons rasterised the way `rleFrPoly` does it (boundary traced at 5× resolution, then
 * down-sampled to column crossings), RLE in column-major (Fortran) order with counts starting at a run of zeros,
 * the compact string form (`rleToString`/`rleFrString`: 5-bit groups + 48, deltas against counts[i-2]),
 * `area` = number of ones, `toBbox` = tight `[x, y, w, h]`.
 *
 * Masks here are row-major `uint8[H,W]` (1 inside), what the rest of the project (and sharp) uses.
 *
 * @example
 * const mask = segmentationToMask([[10, 10, 50, 10, 30, 40]], 64, 48); // a triangle in a 64×48 image
 * maskArea(mask); encodeRle(mask); // { size: [48, 64], counts: "..." } as pycocotools.mask.encode gives
 */

/** A binary mask: `data` is uint8[height, width] row-major, 1 inside, 0 outside. */
export interface BinaryMask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** COCO RLE: `size` is [height, width]; `counts` uncompressed (numbers) or compressed (pycocotools string). */
export interface CocoRle {
  size: [number, number];
  counts: number[] | string;
}

/** A COCO `segmentation` value: polygons `[[x1, y1, x2, y2, ...], ...]` or an RLE. */
export type CocoSegmentation = number[][] | CocoRle;

/** Polygon rasterisation at 5× (pycocotools `rleFrPoly`), returning uncompressed column-major RLE counts. */
function polygonToCounts(xy: readonly number[], h: number, w: number): number[] {
  const scale = 5;
  const k = Math.floor(xy.length / 2);
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < k; j++) {
    x.push(Math.trunc(scale * xy[2 * j] + 0.5)); // C's (int)(v + .5): truncation
    y.push(Math.trunc(scale * xy[2 * j + 1] + 0.5));
  }
  x.push(x[0]);
  y.push(y[0]);
  // 1. dense boundary points (u, v) along every edge, at the upsampled resolution
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let [xs, xe, ys, ye] = [x[j], x[j + 1], y[j], y[j + 1]];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) [xs, xe, ys, ye] = [xe, xs, ye, ys];
    if (dx >= dy) {
      const s = dx === 0 ? 0 : (ye - ys) / dx;
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(Math.trunc(ys + s * t + 0.5));
      }
    } else {
      const s = (xe - xs) / dy;
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(Math.trunc(xs + s * t + 0.5));
      }
    }
  }
  // 2. where the boundary crosses a pixel column centre: the first pixel row below it (down-sampled)
  const bounds: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    yd = Math.ceil(yd < 0 ? 0 : yd > h ? h : yd);
    bounds.push(xd * h + yd);
  }
  // 3. sorted toggle positions → run lengths; zero-length runs merge their neighbours
  bounds.push(h * w);
  bounds.sort((a, b) => a - b);
  const diffs = bounds.map((b, i) => b - (i > 0 ? bounds[i - 1] : 0));
  const counts: number[] = [diffs[0]];
  for (let j = 1; j < diffs.length; j++) {
    if (diffs[j] > 0) counts.push(diffs[j]);
    else if (++j < diffs.length) counts[counts.length - 1] += diffs[j];
  }
  return counts;
}

/** Uncompressed column-major counts → a row-major mask. */
function countsToMask(counts: readonly number[], h: number, w: number): BinaryMask {
  const data = new Uint8Array(h * w);
  let pos = 0;
  counts.forEach((c, i) => {
    if (i % 2 === 1) {
      for (let p = pos; p < Math.min(pos + c, h * w); p++) data[(p % h) * w + Math.floor(p / h)] = 1;
    }
    pos += c;
  });
  return { width: w, height: h, data };
}

/** A row-major mask → uncompressed column-major counts (starting with the zeros run, possibly 0). */
function maskToCounts(mask: BinaryMask): number[] {
  const { width: w, height: h, data } = mask;
  const counts: number[] = [];
  let cur = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      const b = data[y * w + x] ? 1 : 0;
      if (b !== cur) {
        counts.push(run);
        run = 0;
        cur = b;
      }
      run++;
    }
  }
  counts.push(run);
  return counts;
}

/** pycocotools `rleToString`: counts → the compact ASCII form. */
export function rleToString(counts: readonly number[]): string {
  let s = "";
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i] - (i > 2 ? counts[i - 2] : 0);
    for (let more = true; more; ) {
      let c = ((x % 32) + 32) % 32; // x & 0x1f on a signed value
      x = Math.floor(x / 32); // x >>= 5, arithmetic
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/** pycocotools `rleFrString`: the compact ASCII form → counts. Throws on characters outside the alphabet. */
export function rleFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    for (let more = true; more; ) {
      if (p >= s.length) throw new RangeError("RLE string ends in the middle of a count");
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new RangeError(`RLE string has an invalid character ${JSON.stringify(s[p])} at ${p}`);
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k); // sign extension
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** Encodes a mask as compressed COCO RLE (what `pycocotools.mask.encode` returns, counts as a string). */
export function encodeRle(mask: BinaryMask): CocoRle {
  return { size: [mask.height, mask.width], counts: rleToString(maskToCounts(mask)) };
}

/** Decodes COCO RLE (compressed or not) to a mask. Throws when the counts do not add up to height·width. */
export function decodeRle(rle: CocoRle): BinaryMask {
  const [h, w] = rle.size;
  const counts = typeof rle.counts === "string" ? rleFromString(rle.counts) : rle.counts;
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== h * w) throw new RangeError(`RLE counts sum to ${total}; expected height·width = ${h}·${w} = ${h * w}`);
  return countsToMask(counts, h, w);
}

/** Rasterises polygons (their union, as pycocotools merges them) into an H×W mask. */
export function polygonsToMask(polygons: readonly (readonly number[])[], width: number, height: number): BinaryMask {
  const out = new Uint8Array(width * height);
  for (const poly of polygons) {
    if (poly.length < 6) continue; // pycocotools needs ≥ 3 points
    const m = countsToMask(polygonToCounts(poly, height, width), height, width);
    for (let i = 0; i < out.length; i++) out[i] |= m.data[i];
  }
  return { width, height, data: out };
}

/**
 * Any COCO `segmentation` value → a mask for an image of `width`×`height` (pycocotools `annToMask`). Throws a
 * RangeError on malformed values (the converters turn it into a message naming the annotation).
 */
export function segmentationToMask(seg: CocoSegmentation, width: number, height: number): BinaryMask {
  if (Array.isArray(seg)) {
    if (!seg.every((p) => Array.isArray(p) && p.every(Number.isFinite))) throw new RangeError("polygons must be arrays of numbers [x1, y1, x2, y2, ...]");
    return polygonsToMask(seg, width, height);
  }
  if (seg && typeof seg === "object" && Array.isArray(seg.size) && (typeof seg.counts === "string" || Array.isArray(seg.counts))) {
    if (seg.size[0] !== height || seg.size[1] !== width) throw new RangeError(`RLE size [${seg.size}] differs from the image [${height}, ${width}]`);
    return decodeRle(seg);
  }
  throw new RangeError("segmentation must be polygons [[x, y, ...]] or an RLE {size: [h, w], counts}");
}

/** Number of ones (pycocotools `area`). */
export function maskArea(mask: BinaryMask): number {
  let n = 0;
  for (const b of mask.data) n += b ? 1 : 0;
  return n;
}

/** Tight box `[x, y, w, h]` of the ones (pycocotools `toBbox`); `[0, 0, 0, 0]` for an empty mask. */
export function maskBbox(mask: BinaryMask): [number, number, number, number] {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[y * mask.width + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
