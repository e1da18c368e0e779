/**
 * NF4 dequantization by a backend kernel that decodes the packed codes in native code (traits `nf4DequantKernel`:
 * TensorFlow ops on the native backend, backend/tensorflow-kernels.ts) — the same 16-bit-chunk lookup table as the
 * op-by-op device path, so the same bits. A double-quantized absmax is decoded on the host first (one value per
 * block of 64: the op-by-op decode of it cost more kernels than the weight's own).
 *
 * @example
 * const w = tf.tidy(() => dequantizeNf4WithKernel(state, activeTraits().nf4DequantKernel!)); // float32[out, in]
 */
import { tf } from "../tf.js";
import { activeTraits } from "../backend/traits.js";
import { absmaxOnDevice, lut, type DeviceQuantized } from "./device.js";
import { hostAbsmax } from "./host-decode.js";

/** The dequantized matrix, float32[out, in] (torch layout). Call inside a `tf.tidy`; the caller owns the result. */
export function dequantizeNf4WithKernel(d: DeviceQuantized, kernelName: string): tf.Tensor2D {
  if (d.quantType !== "nf4") throw new Error(`dequantizeNf4WithKernel: weight is ${d.quantType}, not nf4`);
  const absmax = d.absmax ?? (activeTraits().memory === "host" ? tf.tensor1d(hostAbsmax(d)) : absmaxOnDevice(d));
  const inputs = { words: d.words, table: lut("nf4"), absmax };
  const byBlock = tf.engine().runKernel(kernelName, inputs as unknown as tf.NamedTensorMap, { blockSize: d.blockSize }) as tf.Tensor2D;
  let flat = tf.reshape(byBlock, [-1]);
  if (flat.shape[0] !== d.numel) flat = tf.slice(flat, 0, d.numel);
  return tf.reshape(flat, d.shape);
}
