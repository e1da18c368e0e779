/**
 * Blockwise absmax quantization on the host, bit-exact with bitsandbytes (0.50, CPU):
 *
 * - NF4: `functional.quantize_4bit(x, blocksize, quant_type="nf4")` — per block of `blockSize` values the absmax
 *   (float32), each value scaled into [-1, 1] and rounded to the nearest NF4 code (midpoint rule, `torch.bucketize`),
 *   two codes per byte with element 2i in the high nibble. `dequantizeNf4` is `dequantize_4bit`.
 * - int8: symmetric absmax int8 per block (`functional.int8_vectorwise_quant` applied to blocks: q = round(x·127/absmax),
 *   half to even), `int8_vectorwise_dequant` back (q·absmax·(1/127)).
 * - Double quantization (QLoRA §3, `compress_statistics=True`): the per-block absmax minus their mean (`offset`),
 *   8-bit blockwise-quantized in groups of 256 with the signed dynamic map. Dequantization is bit-exact with
 *   bitsandbytes; quantization picks the nearest map value (ties to the lower), where bitsandbytes' CPU kernel uses a
 *   lookup-table search that misses the nearest value for about 0.15% of entries (see test/quant/).
 *
 * Every float step is rounded to float32 exactly where torch computes in float32 (`Math.fround`).
 *
 * @example
 * const { packed, absmax } = quantizeNf4(weights, 64);
 * const back = dequantizeNf4(packed, absmax, weights.length, 64); // ≈ weights, |err| ≤ absmax · 0.16
 */
import { bucketize, codeMidpoints, DYNAMIC_CODE, NF4_CODE, roundHalfEven } from "./codebooks.js";

/** The smallest absmax bitsandbytes divides by (`absmax.clamp(min=1e-38)`), as float32. */
const ABSMAX_FLOOR = Math.fround(1e-38);
/** 1/127 as bitsandbytes writes it (`7.874015718698502e-3`), as float32. */
const INV_127 = Math.fround(7.874015718698502e-3);
const NF4_BOUNDS = codeMidpoints(NF4_CODE);

function checkBlockSize(blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 2 || blockSize % 2 !== 0) {
    throw new Error(`blockSize: got ${blockSize}; use an even integer ≥ 2 (bitsandbytes uses 64)`);
  }
}

function blockAbsmax(x: Float32Array, start: number, end: number): number {
  let m = 0;
  for (let i = start; i < end; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

/**
 * NF4-quantize `x` (any length) in blocks of `blockSize`.
 * Returns `packed`: uint8[ceil(n/2)] (element 2i in the high nibble; an odd count is padded with code 7 = 0.0, as
 * bitsandbytes pads) and `absmax`: float32[ceil(n/blockSize)].
 */
export function quantizeNf4(x: Float32Array, blockSize = 64): { packed: Uint8Array; absmax: Float32Array } {
  checkBlockSize(blockSize);
  const n = x.length;
  const blocks = Math.ceil(n / blockSize);
  const absmax = new Float32Array(blocks);
  const packed = new Uint8Array(Math.ceil(n / 2));
  const full = n - (n % blockSize);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, n);
    const am = blockAbsmax(x, start, end);
    // full blocks: x · (1 / max(absmax, 1e-38)), absmax stored as is; the partial last block: x / max(absmax, 1e-38),
    // and there the clamped absmax is what is stored (bitsandbytes' two code paths)
    const partial = start >= full;
    const amc = Math.max(am, ABSMAX_FLOOR);
    absmax[b] = partial ? amc : am;
    const r = Math.fround(1 / amc);
    for (let i = start; i < end; i++) {
      const scaled = partial ? Math.fround(x[i]! / amc) : Math.fround(x[i]! * r);
      const code = nf4Index(scaled < -1 ? -1 : scaled > 1 ? 1 : scaled);
      if (i % 2 === 0) packed[i >> 1] = (code << 4) | 7; // low nibble 7 (= 0.0) until element i+1 arrives: bnb pads with 0
      else packed[i >> 1] = (packed[i >> 1]! & 0xf0) | code;
    }
  }
  return { packed, absmax };
}

/**
 * `bucketize(v, NF4 midpoints)` without a branch tree (random weights make every branch a coin flip): a 4097-bin
 * grid over [-1, 1] gives the count of midpoints below the bin before v's, then one comparison adds the (at most
 * one) midpoint between there and v. Exact: bins are 1/2048 wide, midpoints ≥ 0.08 apart.
 */
const GRID = 2048;
const NF4_BOUNDS_INF = Float64Array.from([...NF4_BOUNDS, Infinity]);
const NF4_GRID = Uint8Array.from({ length: 2 * GRID + 2 }, (_, k) => NF4_BOUNDS.filter((b) => b < (k - 1) / GRID - 1).length);

function nf4Index(v: number): number {
  const c = NF4_GRID[((v + 1) * GRID) | 0]!;
  return v > NF4_BOUNDS_INF[c]! ? c + 1 : c;
}

/** The 4-bit code of element i of a packed NF4 buffer. */
export function nf4CodeAt(packed: Uint8Array, i: number): number {
  const byte = packed[i >> 1]!;
  return i % 2 === 0 ? byte >> 4 : byte & 15;
}

/** `dequantize_4bit`: value i = NF4[code i] · absmax[i / blockSize] (one float32 product). */
export function dequantizeNf4(packed: Uint8Array, absmax: Float32Array, n: number, blockSize = 64): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(NF4_CODE[nf4CodeAt(packed, i)]! * absmax[Math.floor(i / blockSize)]!);
  return out;
}

/**
 * Symmetric absmax int8 per block: q = round_half_even(x · fround(127 / absmax)), in [-127, 127]; an all-zero block
 * gives codes 0 and absmax 0.
 */
export function quantizeInt8(x: Float32Array, blockSize = 64): { codes: Int8Array; absmax: Float32Array } {
  checkBlockSize(blockSize);
  const n = x.length;
  const blocks = Math.ceil(n / blockSize);
  const absmax = new Float32Array(blocks);
  const codes = new Int8Array(n);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, n);
    const am = blockAbsmax(x, start, end);
    absmax[b] = am;
    if (am === 0) continue;
    const s = Math.fround(127 / am);
    for (let i = start; i < end; i++) codes[i] = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(x[i]! * s))));
  }
  return { codes, absmax };
}

/** `int8_vectorwise_dequant` per block: (q · absmax) · (1/127), each product in float32. */
export function dequantizeInt8(codes: Int8Array, absmax: Float32Array, blockSize = 64): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    out[i] = Math.fround(Math.fround(codes[i]! * absmax[Math.floor(i / blockSize)]!) * INV_127);
  }
  return out;
}

/** Double-quantized absmax: uint8 codes into the dynamic map, one float32 scale per `groupSize` blocks, an offset. */
export interface QuantizedAbsmax {
  qabsmax: Uint8Array; // [blocks]
  absmax2: Float32Array; // [ceil(blocks / groupSize)]
  offset: number; // float32: the mean absmax, subtracted before quantizing
  groupSize: number; // 256 in bitsandbytes
  code: Float32Array; // the 256-entry map (DYNAMIC_CODE)
}

/** Quantize per-block absmax values the way `quantize_4bit(..., compress_statistics=True)` does (see file doc). */
export function doubleQuantizeAbsmax(absmax: Float32Array, groupSize = 256, code: Float32Array = DYNAMIC_CODE): QuantizedAbsmax {
  let sum = 0;
  for (const a of absmax) sum += a;
  const offset = Math.fround(sum / Math.max(1, absmax.length));
  const groups = Math.ceil(absmax.length / groupSize);
  const absmax2 = new Float32Array(groups);
  const qabsmax = new Uint8Array(absmax.length);
  const bounds = codeMidpoints(code);
  const zero = code.indexOf(0);
  for (let g = 0; g < groups; g++) {
    const start = g * groupSize;
    const end = Math.min(start + groupSize, absmax.length);
    let am = 0;
    for (let i = start; i < end; i++) am = Math.max(am, Math.abs(Math.fround(absmax[i]! - offset)));
    absmax2[g] = am;
    for (let i = start; i < end; i++) {
      // bucketize on the midpoints = the nearest map value, a value exactly between two going to the lower one
      qabsmax[i] = am === 0 ? zero : bucketize(Math.fround(Math.fround(absmax[i]! - offset) / am), bounds);
    }
  }
  return { qabsmax, absmax2, offset, groupSize, code };
}

/** bitsandbytes' absmax from a double-quantized state: fround(fround(code[q] · absmax2[group]) + offset). */
export function dequantizeAbsmax(q: QuantizedAbsmax): Float32Array {
  const out = new Float32Array(q.qabsmax.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.fround(q.code[q.qabsmax[i]!]! * q.absmax2[Math.floor(i / q.groupSize)]!);
    out[i] = Math.fround(v + q.offset);
  }
  return out;
}
