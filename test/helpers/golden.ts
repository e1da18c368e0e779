/**
 * The golden PaliGemma 2 fixtures made by HF transformers 4.47 (`test/fixtures/golden/paligemma2-tiny`, see its
 * README and gen.py): inputs and reference outputs as TF.js tensors, plus a comparison helper.
 */
import { tf } from "../../src/tf.js";
import { SafetensorsCheckpoint } from "../../src/io/safetensors.js";
import { goldenDir } from "./paths.js";

export const TINY = goldenDir("paligemma2-tiny");

export class Golden {
  private constructor(private readonly ckpt: SafetensorsCheckpoint) {}

  static async open(): Promise<Golden> {
    return new Golden(await SafetensorsCheckpoint.open(`${TINY}/outputs.safetensors`));
  }

  has(name: string): boolean {
    return this.ckpt.keys().includes(name);
  }

  /** A fixture tensor as float32 (floats) or int32 (I64/U8 data). The caller disposes it. */
  async tensor(name: string): Promise<tf.Tensor> {
    const t = await this.ckpt.read(name);
    return tf.tensor(t.data, t.shape, t.dtype === "bool" ? "int32" : t.dtype);
  }

  async array(name: string): Promise<number[]> {
    return Array.from((await this.ckpt.read(name)).data);
  }

  async close(): Promise<void> {
    await this.ckpt.close();
  }
}

/** max |a − b| over all elements (float64 on the host). */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape [${a.shape}] ≠ [${b.shape}]`);
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** max |a − b| / max(1, max|b|): an absolute tolerance for small values, relative for large ones. */
export function scaledDiff(a: tf.Tensor, b: tf.Tensor): number {
  const scale = Math.max(1, ...Array.from(b.dataSync(), Math.abs));
  return maxAbsDiff(a, b) / scale;
}
