/**
 * `LoraLinear`: LoRA (Hu et al. 2021, eq. 3) around any `LinearLayer` — a float `Linear` or a quantized
 * `QuantLinear` (QLoRA) — as PEFT's `lora.Linear` computes it:
 *
 *     y = base(x) + (dropout(x) · A · B) · scaling        A: float32[in, r], B: float32[r, out]
 *
 * A starts Kaiming-uniform (PEFT `kaiming_uniform_(a=√5)`: U(±1/√in)), B at zero, so a fresh adapter leaves the
 * model's output bit-for-bit unchanged; scaling = α/r, or α/√r with rsLoRA. Dropout acts only when the forward
 * context says training, with masks from its seed (model/context.ts): the same context, the same masks. `merge()` folds B·A·scaling into a float base weight and `unmerge()` takes it out again.
 * A and B are kept as [in, r] and [r, out] (x·A·B needs no transposes); PEFT files hold them as
 * lora_A [r, in] and lora_B [out, r] (adapter IO transposes).
 *
 * @example
 * const lora = new LoraLinear(linear, { r: 8, alpha: 16, dropout: 0.05, seed: 1, dropoutStream: 0 });
 * const y = lora.forward(x);                                   // inference: equals linear.forward(x) until B is trained
 * const yt = lora.forward(x, { training: true, dropoutSeed: 7 }); // dropout on the LoRA input
 */
import { tf } from "../tf.js";
import { matMul } from "../ops/matmul.js";
import { activeTraits } from "../backend/traits.js";
import { loraDropout } from "./dropout.js";
import { Linear, type LinearLayer } from "../model/linear.js";
import { INFERENCE, dropoutSeedFor, type ForwardContext } from "../model/context.js";

export interface LoraLinearOptions {
  r: number;
  alpha: number;
  /** Dropout probability on the LoRA input while training. Default 0 (PEFT's nn.Identity). */
  dropout?: number;
  useRslora?: boolean;
  /** true: Kaiming-uniform A, zero B; "gaussian": A ~ N(0, 1/r), zero B; false: B Kaiming-uniform too (fan-in r). */
  init?: boolean | "gaussian";
  /** Seed for the random initialisation. */
  seed?: number;
  /** Which dropout stream of a forward this layer draws from (distinct per layer of a model). Default 0. */
  dropoutStream?: number;
}

/**
 * y = x·W for a frozen float `Linear`, with the input's gradient only, where products use explicit transposes
 * (WASM, cpu: `traits.explicitTransposeMatMul`): that gradient computes the weight's gradient too (a full [in, out]
 * product per layer per step); a frozen base does not need it. The value is the same `tf.matMul` as Linear.forward,
 * so outputs are bit-identical. Elsewhere Linear.forward itself does this: TF.js's own gradient skips W, which is
 * not on the tape's path to the trained variables.
 */
function frozenLinearForward(layer: Linear, x: tf.Tensor): tf.Tensor {
  const w = layer.weight;
  const product = tf.customGrad(((x2: tf.Tensor) => ({
    value: tf.matMul(x2, w),
    gradFunc: (dy: tf.Tensor) => tf.tidy(() => tf.matMul(dy, tf.transpose(w))), // [N,out]·[out,in]
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x2: tf.Tensor) => tf.Tensor;
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -1);
    let y = product(tf.reshape(x, [-1, layer.inFeatures])); // [N, out]
    if (layer.bias) y = tf.add(y, layer.bias);
    return tf.reshape(y, [...lead, layer.outFeatures]);
  });
}

export class LoraLinear implements LinearLayer {
  /** float32[in, r] */
  readonly loraA: tf.Variable;
  /** float32[r, out] */
  readonly loraB: tf.Variable;
  readonly r: number;
  readonly alpha: number;
  readonly scaling: number;
  readonly dropout: number;
  private merged = false;
  private readonly dropoutStream: number;

  constructor(
    readonly base: LinearLayer,
    options: LoraLinearOptions,
  ) {
    const { r, alpha } = options;
    if (!Number.isInteger(r) || r <= 0) throw new Error(`LoraLinear: r must be a positive integer, got ${r}`);
    this.r = r;
    this.alpha = alpha;
    this.scaling = options.useRslora ? alpha / Math.sqrt(r) : alpha / r;
    this.dropout = options.dropout ?? 0;
    this.dropoutStream = options.dropoutStream ?? 0;
    const init = options.init ?? true;
    const seed = options.seed ?? 0;
    const inF = base.inFeatures;
    const outF = base.outFeatures;
    // torch nn.init.kaiming_uniform_(w, a=√5) on w[r, in]: gain √(2/(1+5)), bound gain·√3/√fan_in = 1/√fan_in
    const a = tf.tidy(() =>
      init === "gaussian" ? tf.randomNormal([inF, r], 0, 1 / r, "float32", seed) : tf.randomUniform([inF, r], -1 / Math.sqrt(inF), 1 / Math.sqrt(inF), "float32", seed),
    );
    const b = tf.tidy(() => (init === false ? tf.randomUniform([r, outF], -1 / Math.sqrt(r), 1 / Math.sqrt(r), "float32", seed + 1) : tf.zeros([r, outF])));
    this.loraA = tf.variable(a, true);
    this.loraB = tf.variable(b, true);
    tf.dispose([a, b]);
  }

  get inFeatures(): number {
    return this.base.inFeatures;
  }

  get outFeatures(): number {
    return this.base.outFeatures;
  }

  /** Whether the update is currently folded into the base weight. */
  get isMerged(): boolean {
    return this.merged;
  }

  /** x: float32[..., in] → float32[..., out]; dropout on the LoRA input when `ctx.training`. */
  forward(x: tf.Tensor, ctx: ForwardContext = INFERENCE): tf.Tensor {
    return tf.tidy(() => {
      const base = this.base;
      const frozen = base instanceof Linear && !base.weight.trainable && !(base.bias?.trainable ?? false);
      const y = frozen && activeTraits().explicitTransposeMatMul ? frozenLinearForward(base, x) : base.forward(x, ctx);
      if (this.merged) return y;
      const lead = x.shape.slice(0, -1);
      let h = tf.reshape(x, [-1, this.inFeatures]); // [N, in]
      if (ctx.training && this.dropout > 0) h = loraDropout(h, this.dropout, dropoutSeedFor(ctx, this.dropoutStream));
      const delta = matMul(matMul(h, this.loraA), this.loraB); // [N, r] → [N, out]
      return tf.add(y, tf.reshape(tf.mul(delta, this.scaling), [...lead, this.outFeatures]));
    });
  }

  /** The weight update scaling·A·B, float32[in, out] (our layout). The caller disposes it. */
  deltaWeight(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(matMul(this.loraA, this.loraB), this.scaling) as tf.Tensor2D);
  }

  private floatBase(what: string): Linear {
    if (!(this.base instanceof Linear)) {
      throw new Error(`LoraLinear.${what}: the base layer is a ${this.base.constructor.name}; only a float Linear can be merged in place (mergeAndUnload re-quantizes quantized bases)`);
    }
    return this.base;
  }

  /** Fold the update into the base weight (W += scaling·A·B); forward then skips the LoRA branch. */
  merge(): void {
    if (this.merged) return;
    const w = this.floatBase("merge").weight;
    const d = this.deltaWeight();
    const merged = tf.add(w, d);
    w.assign(merged); // the variable now shares merged's data; drop our handle
    tf.dispose([d, merged]);
    this.merged = true;
  }

  /** Take the update out of the base weight again (W −= scaling·A·B). */
  unmerge(): void {
    if (!this.merged) return;
    const w = this.floatBase("unmerge").weight;
    const d = this.deltaWeight();
    const restored = tf.sub(w, d);
    w.assign(restored);
    tf.dispose([d, restored]);
    this.merged = false;
  }

  /** Free A and B (the base layer belongs to the model). */
  dispose(): void {
    this.loraA.dispose();
    this.loraB.dispose();
  }
}
