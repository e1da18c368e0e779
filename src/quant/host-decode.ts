/**
 * Dequantization through host memory, for backends whose tensors live in host memory anyway (cpu, wasm, and the
 * native tensorflow CPU backend): read the codes back (a copy of n/2 bytes for NF4), decode them (NF4: a WebAssembly
 * SIMD loop, wasm-decode.ts, where it runs; else, and for int8, a JS loop) into the layout the product needs, upload
 * the float32 matrix. On WASM this is ~20× faster than the op-by-op device path
 * (GatherV2 and Concat dominate there); the values are the same bits (one float32 product per value, as
 * bitsandbytes). The float matrix is transient either way: only codes and scales stay resident.
 *
 * @example
 * const w = tf.tidy(() => dequantizeViaHost(state, "inOut")); // float32[in, out], ready for x·W
 */
import { tf } from "../tf.js";
import { DYNAMIC_CODE, NF4_CODE } from "./codebooks.js";
import type { DeviceQuantized } from "./device.js";
import { decodeNf4Wasm, decodeNf4WasmView } from "./wasm-decode.js";
import { activeTraits } from "../backend/traits.js";

const INV_127 = Math.fround(7.874015718698502e-3);

/** [rows, cols] row-major → [cols, rows], in 64×64 tiles with sequential writes (~2 ns/value in V8). */
export function transposeHost(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  const B = 64;
  for (let c0 = 0; c0 < cols; c0 += B) {
    const c1 = Math.min(c0 + B, cols);
    for (let r0 = 0; r0 < rows; r0 += B) {
      const r1 = Math.min(r0 + B, rows);
      for (let c = c0; c < c1; c++) {
        const o = c * rows;
        for (let r = r0; r < r1; r++) out[o + r] = src[r * cols + c]!;
      }
    }
  }
  return out;
}

function bytesOf(t: tf.Tensor): Uint8Array {
  const words = t.dataSync() as Int32Array;
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** Per-block absmax on the host, double-quantized or not (bitsandbytes' formula, float32 steps). */
export function hostAbsmax(d: DeviceQuantized): Float32Array {
  if (d.absmax) return d.absmax.dataSync() as Float32Array;
  const dq = d.dq!;
  const q = bytesOf(dq.words);
  const absmax2 = dq.absmax2.dataSync() as Float32Array;
  const offset = (dq.offset.dataSync() as Float32Array)[0]!;
  const out = new Float32Array(d.blocks);
  for (let i = 0; i < d.blocks; i++) out[i] = Math.fround(Math.fround(DYNAMIC_CODE[q[i]!]! * absmax2[Math.floor(i / dq.groupSize)]!) + offset);
  return out;
}

/** The dequantized matrix in torch layout [out, in], flattened, on the host. */
export function decodeHost(d: DeviceQuantized, options: { simd?: boolean } = {}): Float32Array {
  const bytes = bytesOf(d.words);
  const absmax = hostAbsmax(d);
  const n = d.numel;
  const out = new Float32Array(n);
  const bs = d.blockSize;
  if (d.quantType === "nf4") {
    const simd = options.simd === false ? null : decodeNf4Wasm(bytes, absmax, d.blocks, bs); // same bits, ~4× faster
    if (simd) return simd.length === n ? simd : simd.subarray(0, n);
    const table = new Float32Array(16);
    for (let b = 0; b < d.blocks; b++) {
      const a = absmax[b]!;
      for (let k = 0; k < 16; k++) table[k] = NF4_CODE[k]! * a; // stored as float32: fround(code · absmax)
      const end = Math.min((b + 1) * bs, n);
      for (let i = b * bs; i < end; i += 2) {
        const byte = bytes[i >> 1]!;
        out[i] = table[byte >> 4]!;
        if (i + 1 < end) out[i + 1] = table[byte & 15]!;
      }
    }
  } else {
    const codes = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let b = 0; b < d.blocks; b++) {
      const a = absmax[b]!;
      const end = Math.min((b + 1) * bs, n);
      for (let i = b * bs; i < end; i++) out[i] = Math.fround(Math.fround(codes[i]! * a) * INV_127);
    }
  }
  return out;
}

/**
 * The dequantized weight as a tensor: "outIn" = torch layout [out, in], "inOut" = ours [in, out]. `transient`: the
 * caller frees the tensor before the next dequantization (QuantLinear's product does): NF4 in torch layout is then
 * read straight from the SIMD decoder's memory where the backend keeps host arrays (no float32 allocation per layer).
 */
export function dequantizeViaHost(d: DeviceQuantized, layout: "outIn" | "inOut", transient = false): tf.Tensor2D {
  const [outF, inF] = d.shape;
  if (transient && layout === "outIn" && d.quantType === "nf4" && d.numel === d.blocks * d.blockSize && activeTraits().tensorKeepsHostArray) {
    const view = decodeNf4WasmView(bytesOf(d.words), hostAbsmax(d), d.blocks, d.blockSize);
    if (view) return tf.tensor2d(view, [outF, inF]);
  }
  const torch = decodeHost(d);
  return layout === "outIn" ? tf.tensor2d(torch, [outF, inF]) : tf.tensor2d(transposeHost(torch, outF, inF), [inF, outF]);
}
