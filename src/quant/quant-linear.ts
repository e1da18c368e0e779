/**
 * `QuantLinear`: a frozen linear layer whose weight is stored NF4 (4-bit) or int8 blockwise (bitsandbytes'
 * `Linear4bit` / `Params4bit` in spirit) and dequantized inside every forward, so only the codes and scales stay
 * resident. Implements `LinearLayer`, so it replaces a `Linear` in a model slot and LoRA wraps it unchanged (QLoRA).
 *
 * The weight is quantized in torch layout [out, in] (blocks of 64 along each output row, as bitsandbytes does for an
 * `nn.Linear`), so its codes equal those of the same weight quantized in Python. The gradient flows to the input
 * only: the backward pass dequantizes the weight again instead of keeping it (bitsandbytes' `MatMul4Bit` does the
 * same), so only one layer's float weight exists at a time. Where tensors live in host memory (cpu, wasm, native
 * CPU) the weight is decoded on the host (host-decode.ts: NF4 by a WebAssembly SIMD loop, wasm-decode.ts), elsewhere
 * by the backend's kernel or TF.js ops (kernel-decode.ts, device.ts): same bits.
 *
 * @example
 * const q = QuantLinear.fromLinear(linear, { bits: 4, blockSize: 64, doubleQuant: true });
 * const y = q.forward(x); // float32[..., out], within NF4 error of linear.forward(x)
 */
import { tf } from "../tf.js";
import { activeTraits } from "../backend/traits.js";
import type { Linear, LinearLayer } from "../model/linear.js";
import { doubleQuantizeAbsmax, quantizeInt8, quantizeNf4 } from "./blockwise.js";
import { dequantizeViaHost, transposeHost } from "./host-decode.js";
import { dequantizeNf4WithKernel } from "./kernel-decode.js";
import {
  dequantizeOnDevice,
  disposeQuantized,
  quantizedBytes,
  uploadQuantized,
  type DeviceQuantized,
  type HostQuantized,
  type QuantType,
} from "./device.js";

/** How to quantize a weight. */
export interface QuantOptions {
  /** 4 = NF4 (QLoRA's NormalFloat4), 8 = symmetric absmax int8. */
  bits: 4 | 8;
  /** Values per absmax block; default 64 (bitsandbytes' default). A multiple of 8. */
  blockSize?: number;
  /** Quantize the per-block absmax too (8-bit dynamic map, groups of 256 blocks); default false (as bitsandbytes). */
  doubleQuant?: boolean;
}

export function validateQuantOptions(o: QuantOptions): Required<QuantOptions> {
  if (o.bits !== 4 && o.bits !== 8) throw new Error(`bits: got ${JSON.stringify(o.bits)}; use 4 (NF4) or 8 (int8)`);
  const blockSize = o.blockSize ?? 64;
  if (!Number.isInteger(blockSize) || blockSize < 8 || blockSize % 8 !== 0) {
    throw new Error(`blockSize: got ${blockSize}; use a positive multiple of 8 (bitsandbytes: 64)`);
  }
  if (o.doubleQuant !== undefined && typeof o.doubleQuant !== "boolean") {
    throw new Error(`doubleQuant: got ${JSON.stringify(o.doubleQuant)}; use true or false`);
  }
  return { bits: o.bits, blockSize, doubleQuant: o.doubleQuant ?? false };
}

/** Quantize a host matrix in torch layout [out, in] (flattened row-major). */
export function quantizeHost(weight: Float32Array, shape: [number, number], options: QuantOptions): HostQuantized {
  const o = validateQuantOptions(options);
  if (weight.length !== shape[0] * shape[1]) throw new Error(`weight has ${weight.length} values, shape [${shape}] needs ${shape[0] * shape[1]}`);
  const quantType: QuantType = o.bits === 4 ? "nf4" : "int8";
  let bytes: Uint8Array;
  let absmax: Float32Array;
  if (quantType === "nf4") {
    ({ packed: bytes, absmax } = quantizeNf4(weight, o.blockSize));
  } else {
    const q = quantizeInt8(weight, o.blockSize);
    bytes = new Uint8Array(q.codes.buffer, q.codes.byteOffset, q.codes.length);
    absmax = q.absmax;
  }
  return { quantType, blockSize: o.blockSize, shape, bytes, absmax: o.doubleQuant ? doubleQuantizeAbsmax(absmax) : absmax };
}

export class QuantLinear implements LinearLayer {
  /**
   * Where weights are dequantized: "host" (read codes back, decode on the host — NF4 by a WebAssembly SIMD loop whose
   * memory the product borrows, no float32 allocation per layer — else a JS loop; fast where tensors live in host
   * memory), "device" (TF.js ops only: bitwiseAnd, lookup-table gathers), "kernel" (NF4 only: the backend's native
   * kernel, traits `nf4DequantKernel`), or "auto" (host where the backend's tensors live in host memory: traits
   * `memory`; elsewhere the backend's kernel where it has one, else device). All give the same bits. Measured on the
   * native CPU backend, one forward's NF4 weights of the bench `small` model (80M values): host 0.13 s CPU, kernel
   * 0.42 s, the JS loop alone 0.63 s.
   */
  static dequantizePath: "auto" | "host" | "device" | "kernel" = "auto";
  private readonly product: (x: tf.Tensor) => tf.Tensor;

  /**
   * @param weight the quantized weight (owned from now on: `dispose()` frees it)
   * @param bias float32[out] or null; kept as given (frozen by `quantizeModel`)
   * @param options the options it was quantized with (re-used by `withWeight`)
   */
  constructor(
    readonly weight: DeviceQuantized,
    readonly bias: tf.Variable | null,
    readonly options: Required<QuantOptions>,
  ) {
    // y = x·Wᵀ with W dequantized here and again in the backward pass; the only gradient is the input's. Where
    // MatMul takes transposes as flags, W stays in torch layout (no host transpose of every weight per forward).
    this.product = tf.customGrad(((x: tf.Tensor) => ({
      value: activeTraits().explicitTransposeMatMul
        ? tf.matMul(x, this.weightIn("inOut", true)) // [N, in]·[in, out]
        : tf.matMul(x, this.weightIn("outIn", true), false, true), // [N, in]·[out, in]ᵀ
      gradFunc: (dy: tf.Tensor) => tf.tidy(() => tf.matMul(dy, this.weightIn("outIn", true))), // [N, out]·[out, in]
    })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
  }

  /** Quantize a float `Linear` (its weight is [in, out]; quantized in torch layout [out, in]). */
  static fromLinear(linear: Linear, options: QuantOptions): QuantLinear {
    const o = validateQuantOptions(options);
    const [inF, outF] = linear.weight.shape as [number, number];
    const torchLayout = transposeHost(linear.weight.dataSync() as Float32Array, inF, outF); // [in, out] → [out, in]
    return new QuantLinear(uploadQuantized(quantizeHost(torchLayout, [outF, inF], o)), linear.bias, o);
  }

  get inFeatures(): number {
    return this.weight.shape[1];
  }

  get outFeatures(): number {
    return this.weight.shape[0];
  }

  get quantType(): QuantType {
    return this.weight.quantType;
  }

  /** Number of weight values represented (what PEFT counts for a 4-bit parameter), bias excluded. */
  get numel(): number {
    return this.weight.numel;
  }

  /** Device bytes of the quantized weight (codes + scales), bias excluded. */
  get numBytes(): number {
    return quantizedBytes(this.weight);
  }

  /** The dequantized weight, float32[out, in] (torch layout). The caller disposes it. */
  dequantize(): tf.Tensor2D {
    return tf.tidy(() => this.weightIn("outIn"));
  }

  /**
   * The dequantized weight in torch layout [out, in] or ours [in, out], by the configured path. `transient`: freed
   * before the next dequantization (the product's forward and gradient), so the host path may lend its decoder's memory.
   */
  private weightIn(layout: "outIn" | "inOut", transient = false): tf.Tensor2D {
    const path = QuantLinear.dequantizePath;
    const traits = activeTraits();
    const kernel = this.weight.quantType === "nf4" ? traits.nf4DequantKernel : null;
    if (path === "kernel" && !kernel) throw new Error(`QuantLinear.dequantizePath "kernel": backend ${traits.name} has no ${this.weight.quantType} dequantization kernel; use "auto"`);
    if (path === "host" || (path === "auto" && traits.memory === "host")) return dequantizeViaHost(this.weight, layout, transient);
    const w = path !== "device" && kernel ? dequantizeNf4WithKernel(this.weight, kernel) : dequantizeOnDevice(this.weight);
    return layout === "outIn" ? w : tf.transpose(w);
  }

  /** A new QuantLinear holding `weight` (float32 [out, in], torch layout) quantized with this layer's options. */
  withWeight(weight: Float32Array): QuantLinear {
    return new QuantLinear(uploadQuantized(quantizeHost(weight, this.weight.shape, this.options)), this.bias, this.options);
  }

  /** x: float32[..., in] → float32[..., out]. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      let y = this.product(tf.reshape(x, [-1, this.inFeatures])); // [N, out]
      if (this.bias) y = tf.add(y, this.bias);
      return tf.reshape(y, [...lead, this.outFeatures]);
    });
  }

  /** Free the quantized weight (not the bias, which the model's parameter map owns). */
  dispose(): void {
    disposeQuantized(this.weight);
  }
}
