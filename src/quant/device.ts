/**
 * Quantized weights on the TF.js device and their dequantization there (inside the caller's `tf.tidy`).
 *
 * Storage: the codes' bytes exactly as bitsandbytes lays them out (NF4: two codes per byte, element 2i in the high
 * nibble; int8: one two's-complement byte per value; double-quantized absmax: one byte per block), viewed as
 * little-endian int32 words — 8 NF4 codes or 4 int8 codes per int32 — padded to whole blocks. Scales stay float32.
 *
 * Unpacking needs no shifts (TF.js has none): a word's low 16 bits are `bitwiseAnd(w, 0xFFFF)` (`mod(w, 65536)` where
 * the backend lacks BitwiseAnd), its high 16 bits
 * `(w − low) / 65536` (exact in float32: at most 16 significant bits) taken mod 65536; each 16-bit chunk then indexes
 * a 65536-row lookup table holding the decoded values of its 2 bytes (4 NF4 codes or 2 int8 codes), in element
 * order. The tables (1 MB for NF4, 0.5 MB for 8-bit maps) are made once per backend and kept.
 *
 * @example
 * const state = uploadQuantized(host); // host from quantizeNf4 / quantizeInt8 (+ doubleQuantizeAbsmax)
 * const w = tf.tidy(() => dequantizeOnDevice(state)); // float32[out, in], bit-exact with bitsandbytes
 */
import { tf } from "../tf.js";
import { lacksKernel } from "../backend/traits.js";
import { DYNAMIC_CODE, NF4_CODE } from "./codebooks.js";
import type { QuantizedAbsmax } from "./blockwise.js";

export type QuantType = "nf4" | "int8";

/** A host-side quantized matrix (torch layout [out, in], flattened row-major, blocks along the flat order). */
export interface HostQuantized {
  quantType: QuantType;
  blockSize: number;
  shape: [number, number];
  /** NF4: packed nibbles, uint8[ceil(n/2)]; int8: the codes' bytes, uint8[n] (two's complement). */
  bytes: Uint8Array;
  /** float32[blocks], or double-quantized. */
  absmax: Float32Array | QuantizedAbsmax;
}

/** The same on the device: persistent tensors owned by whoever uploaded them (dispose with `disposeQuantized`). */
export interface DeviceQuantized {
  quantType: QuantType;
  blockSize: number;
  shape: [number, number];
  numel: number;
  blocks: number;
  words: tf.Tensor1D; // int32[blocks · blockSize / valuesPerWord]
  absmax: tf.Tensor1D | null; // float32[blocks] when not double-quantized
  dq: { words: tf.Tensor1D; absmax2: tf.Tensor1D; offset: tf.Scalar; groupSize: number; groups: number } | null;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Bytes → int32 words (little-endian), zero-padded to `byteLength` (a multiple of 4). */
function toWords(bytes: Uint8Array, byteLength: number): Int32Array {
  if (!LITTLE_ENDIAN) throw new Error("quantized storage assumes a little-endian host (every Node.js target but s390x)");
  const padded = new Uint8Array(byteLength);
  padded.set(bytes.subarray(0, Math.min(bytes.length, byteLength)));
  return new Int32Array(padded.buffer);
}

/** Upload a host-quantized matrix as persistent device tensors. */
export function uploadQuantized(h: HostQuantized): DeviceQuantized {
  const numel = h.shape[0] * h.shape[1];
  const blocks = Math.ceil(numel / h.blockSize);
  const perByte = h.quantType === "nf4" ? 2 : 1;
  if (h.blockSize % (4 * perByte) !== 0) {
    throw new Error(`blockSize: got ${h.blockSize}; ${h.quantType} storage needs a multiple of ${4 * perByte}`);
  }
  const codeBytes = (blocks * h.blockSize) / perByte;
  const words = tf.tensor1d(toWords(h.bytes, codeBytes), "int32");
  if (h.absmax instanceof Float32Array) {
    return { quantType: h.quantType, blockSize: h.blockSize, shape: h.shape, numel, blocks, words, absmax: tf.tensor1d(h.absmax), dq: null };
  }
  const q = h.absmax;
  const groups = Math.ceil(blocks / q.groupSize);
  if (q.groupSize % 4 !== 0) throw new Error(`double quantization group size ${q.groupSize} must be a multiple of 4`);
  const dq = {
    words: tf.tensor1d(toWords(q.qabsmax, groups * q.groupSize), "int32"),
    absmax2: tf.tensor1d(q.absmax2),
    offset: tf.scalar(q.offset),
    groupSize: q.groupSize,
    groups,
  };
  return { quantType: h.quantType, blockSize: h.blockSize, shape: h.shape, numel, blocks, words, absmax: null, dq };
}

export function disposeQuantized(d: DeviceQuantized): void {
  tf.dispose([d.words, ...(d.absmax ? [d.absmax] : []), ...(d.dq ? [d.dq.words, d.dq.absmax2, d.dq.offset] : [])]);
}

/** Device bytes held by a quantized matrix (codes + scales). */
export function quantizedBytes(d: DeviceQuantized): number {
  const t: (tf.Tensor | null | undefined)[] = [d.words, d.absmax, d.dq?.words, d.dq?.absmax2, d.dq?.offset];
  return t.reduce((s: number, x) => s + (x ? x.size * 4 : 0), 0);
}

// ---------------------------------------------------------------- lookup tables

type LutName = "nf4" | "int8" | "dynamic";
const LUTS = new Map<string, tf.Tensor2D>();

/** Row u (a 16-bit chunk = byte0 | byte1 << 8) → the values it encodes, in element order. */
function buildLut(name: LutName): Float32Array {
  const k = name === "nf4" ? 4 : 2;
  const out = new Float32Array(65536 * k);
  for (let u = 0; u < 65536; u++) {
    const b0 = u & 255;
    const b1 = u >> 8;
    if (name === "nf4") out.set([NF4_CODE[b0 >> 4]!, NF4_CODE[b0 & 15]!, NF4_CODE[b1 >> 4]!, NF4_CODE[b1 & 15]!], u * 4);
    else if (name === "int8") out.set([(b0 << 24) >> 24, (b1 << 24) >> 24], u * 2);
    else out.set([DYNAMIC_CODE[b0]!, DYNAMIC_CODE[b1]!], u * 2);
  }
  return out;
}

/** The lookup table `name` on the active backend (built once, kept until disposeQuantLookupTables). */
export function lut(name: LutName): tf.Tensor2D {
  const key = `${name}@${tf.getBackend()}`;
  let t = LUTS.get(key);
  if (!t || t.isDisposed) {
    const k = name === "nf4" ? 4 : 2;
    t = tf.keep(tf.tensor2d(buildLut(name), [65536, k]));
    LUTS.set(key, t);
  }
  return t;
}

/** Free the cached lookup tables (they are rebuilt on next use). */
export function disposeQuantLookupTables(): void {
  for (const t of LUTS.values()) t.dispose();
  LUTS.clear();
}

/** int32[W] words → float32[W · 2k] decoded values (k per 16-bit chunk), in element order. */
function unpack(words: tf.Tensor1D, table: tf.Tensor2D): tf.Tensor1D {
  const W = words.shape[0];
  // bytes 0,1: w & 0xFFFF, or where BitwiseAnd is missing (tfjs-node) the floor-mod, equal for two's complement
  const low = lacksKernel("BitwiseAnd") ? tf.mod(words, tf.scalar(65536, "int32")) : tf.bitwiseAnd(words, tf.fill([W], 0xffff, "int32"));
  const high = tf.cast(tf.mod(tf.div(tf.cast(tf.sub(words, low), "float32"), 65536), 65536), "int32"); // bytes 2,3
  return tf.reshape(tf.concat([tf.gather(table, low), tf.gather(table, high)], 1), [-1]); // [W, 2k] → [W·2k]
}

/** Per-block absmax (float32[blocks]), dequantizing the double-quantized form like bitsandbytes. */
export function absmaxOnDevice(d: DeviceQuantized): tf.Tensor1D {
  if (d.absmax) return d.absmax;
  const dq = d.dq!;
  const codes = tf.reshape(unpack(dq.words, lut("dynamic")), [dq.groups, dq.groupSize]); // [G, 256]
  const scaled = tf.reshape(tf.mul(codes, tf.reshape(dq.absmax2, [dq.groups, 1])), [-1]); // code·absmax2
  return tf.add(tf.slice(scaled, 0, d.blocks), dq.offset) as tf.Tensor1D; // + offset
}

/**
 * The dequantized matrix, float32[out, in] (torch layout). Bit-exact with bitsandbytes' `dequantize_4bit` (NF4) and
 * `int8_vectorwise_dequant` (int8). Call inside a `tf.tidy`; the caller owns the result.
 */
export function dequantizeOnDevice(d: DeviceQuantized): tf.Tensor2D {
  const values = unpack(d.words, lut(d.quantType)); // [blocks · blockSize]
  const blocks = tf.reshape(values, [d.blocks, d.blockSize]);
  let w = tf.mul(blocks, tf.reshape(absmaxOnDevice(d), [d.blocks, 1])); // code · absmax, per block
  if (d.quantType === "int8") w = tf.mul(w, tf.scalar(Math.fround(7.874015718698502e-3))); // · (1/127)
  let flat = tf.reshape(w, [-1]);
  if (flat.shape[0] !== d.numel) flat = tf.slice(flat, 0, d.numel);
  return tf.reshape(flat, d.shape);
}

