/**
 * AdamW exactly as `torch.optim.AdamW` (torch 2.x, single-tensor path, amsgrad=False, maximize=False) updates a
 * parameter, over an explicit list of TF.js Variables (the trainable ones: that is how LoRA and freezing work):
 *
 *     t += 1
 *     p  ← p · (1 − lr·wd)                         # decoupled weight decay, before the Adam update
 *     m  ← β1·m + (1 − β1)·g                        # exp_avg.lerp_(grad, 1 − β1)
 *     v  ← β2·v + (1 − β2)·g²                       # exp_avg_sq.mul_(β2).addcmul_(g, g, 1 − β2)
 *     p  ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
 *
 * (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"; ε is added after the bias-corrected √v.)
 * `tf.train.adam` has no decoupled decay and a different ε placement, hence this class.
 *
 *     const opt = new AdamW(model.trainableParameters(), { weightDecay: 0.01 });
 *     opt.step(grads, 2e-5);   // grads: Map<name, tf.Tensor>, not disposed by step()
 *     opt.dispose();
 */
import { tf } from "../tf.js";

export interface AdamWOptions {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  weightDecay?: number; // default 0 (HF TrainingArguments default; torch's own default is 0.01)
  /** Which parameters get weight decay; default {@link decayParameter} (not biases, not norm weights). */
  decays?: (name: string) => boolean;
}

/** Host copy of the optimizer state (what a checkpoint stores): moments in each parameter's internal layout. */
export interface AdamWState {
  step: number;
  expAvg: Map<string, { shape: number[]; data: Float32Array }>;
  expAvgSq: Map<string, { shape: number[]; data: Float32Array }>;
}

/**
 * Parameters without weight decay, by name, as HF's `get_decay_parameter_names` decides: biases and the weights
 * of normalisation layers (LayerNorm in SigLIP, RMSNorm in Gemma 2). Names are the model's parameter names:
 * `….bias`, `…layer_norm1.weight`, `…post_layernorm.weight`, `…input_layernorm.weight`,
 * `…pre_feedforward_layernorm.weight`, `language_model.model.norm.weight`, `…rmsnorm…`. LoRA's lora_A/lora_B are
 * decayed, as in HF.
 */
export function decayParameter(name: string): boolean {
  const n = name.toLowerCase();
  if (/(^|\.|_)bias($|\.)/.test(n) || n.includes("bias")) return false;
  if (n.includes("layernorm") || n.includes("layer_norm") || n.includes("rmsnorm")) return false;
  if (/(^|\.)norm($|\.)/.test(n) || /_norm($|\.)/.test(n)) return false;
  return true;
}

interface Slot {
  param: tf.Variable;
  m: tf.Variable;
  v: tf.Variable;
  decay: boolean;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Optimizer steps taken (torch's `state["step"]`, the same for every parameter here). */
  stepCount = 0;
  private readonly slots = new Map<string, Slot>();

  constructor(params: Map<string, tf.Variable>, options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    const decays = options.decays ?? decayParameter;
    if (params.size === 0) throw new Error("AdamW: no parameters to optimize (is everything frozen?)");
    for (const [name, param] of params) {
      if (param.dtype !== "float32") throw new Error(`AdamW: parameter ${name} is ${param.dtype}; only float32 trains`);
      const zeros = () => {
        const z = tf.zerosLike(param);
        const v = tf.variable(z, false); // a Variable shares z's data; z itself must still be released
        z.dispose();
        return v;
      };
      this.slots.set(name, { param, m: zeros(), v: zeros(), decay: decays(name) });
    }
  }

  /** Names of the optimized parameters, in update order. */
  names(): string[] {
    return [...this.slots.keys()];
  }

  /** Names that receive weight decay. */
  decayedNames(): string[] {
    return [...this.slots].filter(([, s]) => s.decay).map(([n]) => n);
  }

  /**
   * One update of every parameter with learning rate `lr`. `grads` must hold a gradient for each parameter
   * (same shape); the caller keeps ownership of them.
   */
  step(grads: Map<string, tf.Tensor>, lr: number): void {
    for (const name of this.slots.keys()) {
      const g = grads.get(name);
      if (!g) throw new Error(`AdamW.step: no gradient for parameter ${name}`);
    }
    this.stepCount++;
    const t = this.stepCount;
    const { beta1: b1, beta2: b2, eps } = this;
    const stepSize = lr / (1 - b1 ** t); // lr / bias_correction1
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    for (const [name, s] of this.slots) {
      const g = grads.get(name)!;
      tf.tidy(() => {
        let p: tf.Tensor = s.param;
        if (s.decay && this.weightDecay !== 0) p = tf.mul(p, 1 - lr * this.weightDecay);
        const m = tf.add(tf.mul(s.m, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(s.v, b2), tf.mul(tf.mul(g, g), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        s.m.assign(m);
        s.v.assign(v);
        s.param.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
      });
    }
  }

  /** Copy the state to the host (for a checkpoint). */
  async getState(): Promise<AdamWState> {
    const expAvg = new Map<string, { shape: number[]; data: Float32Array }>();
    const expAvgSq = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, s] of this.slots) {
      expAvg.set(name, { shape: s.m.shape.slice(), data: (await s.m.data()) as Float32Array });
      expAvgSq.set(name, { shape: s.v.shape.slice(), data: (await s.v.data()) as Float32Array });
    }
    return { step: this.stepCount, expAvg, expAvgSq };
  }

  /** Restore a state saved by {@link getState}; every parameter must be present with its shape. */
  setState(state: AdamWState): void {
    for (const [name, s] of this.slots) {
      for (const [what, map, dst] of [["exp_avg", state.expAvg, s.m], ["exp_avg_sq", state.expAvgSq, s.v]] as const) {
        const h = map.get(name);
        if (!h) throw new Error(`AdamW.setState: the saved state has no ${what} for ${name}`);
        if (h.shape.join() !== dst.shape.join()) throw new Error(`AdamW.setState: ${what} of ${name} is [${h.shape}], parameter is [${dst.shape}]`);
        tf.tidy(() => dst.assign(tf.tensor(h.data, h.shape, "float32")));
      }
    }
    this.stepCount = state.step;
  }

  /** Free the moment variables (the parameters stay). */
  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}
