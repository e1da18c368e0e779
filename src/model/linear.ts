/**
 * The linear layer: the model's one injection point (tinygrad's `linear=nn.Linear`). LoRA and quantized layers
 * implement `LinearLayer` and replace a `Linear` in place, without module surgery.
 */
import { tf } from "../tf.js";
import { matMul } from "../ops/matmul.js";
import type { ForwardContext } from "./context.js";

export interface LinearLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** x: float32[..., in] → float32[..., out]; `ctx` (default inference) for layers that draw dropout (LoRA). */
  forward(x: tf.Tensor, ctx?: ForwardContext): tf.Tensor;
}

/** y = x·W + b with W kept as [in, out] (the checkpoint's [out, in] is transposed once, in io/keymap). */
export class Linear implements LinearLayer {
  constructor(
    readonly weight: tf.Variable, // float32[in, out]
    readonly bias: tf.Variable | null = null, // float32[out]
  ) {}

  get inFeatures(): number {
    return this.weight.shape[0]!;
  }

  get outFeatures(): number {
    return this.weight.shape[1]!;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, this.inFeatures]); // [N, in]
      let y = matMul(x2, this.weight); // [N, out]
      if (this.bias) y = tf.add(y, this.bias);
      return x.rank === 2 ? y : tf.reshape(y, [...lead, this.outFeatures]);
    });
  }
}

/**
 * A named place for a linear layer: the HF module path (`…layers.0.self_attn.q_proj`, the PEFT `target_modules`
 * vocabulary) and the layer it holds now. The model's modules hold slots, so `set` swaps what every forward uses
 * (a `LoraLinear`, a `QuantLinear`) with no module surgery; the slot itself forwards to its layer.
 */
export class LinearSlot implements LinearLayer {
  constructor(
    readonly name: string,
    private layer: LinearLayer,
  ) {}

  get(): LinearLayer {
    return this.layer;
  }

  /** Put `layer` in this slot; it must map the same widths ([in → out]) as the layer it replaces. */
  set(layer: LinearLayer): void {
    if (layer.inFeatures !== this.inFeatures || layer.outFeatures !== this.outFeatures) {
      throw new Error(
        `${this.name}: a [${layer.inFeatures} → ${layer.outFeatures}] layer cannot replace the ` +
          `[${this.inFeatures} → ${this.outFeatures}] one in this slot`,
      );
    }
    this.layer = layer;
  }

  get inFeatures(): number {
    return this.layer.inFeatures;
  }

  get outFeatures(): number {
    return this.layer.outFeatures;
  }

  forward(x: tf.Tensor, ctx?: ForwardContext): tf.Tensor {
    return this.layer.forward(x, ctx);
  }
}
