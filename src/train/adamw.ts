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
 * `tf.train.adam` has no decoupled decay and a different ε placement, hence this class. Where tensors live in host
 * memory the update runs fused, one WebAssembly SIMD pass per parameter with the moments in WASM memory
 * (adamw-wasm.ts); elsewhere as 14 TF.js ops per parameter. Both give the same bits, and the same saved state.
 *
 *     const opt = new AdamW(model.trainableParameters(), { weightDecay: 0.01 });
 *     opt.step(grads, 2e-5);   // grads: Map<name, tf.Tensor>, not disposed by step()
 *     opt.dispose();
 */
import { tf } from "../tf.js";
import { activeTraits } from "../backend/traits.js";
import { FusedAdamWMemory, type AdamWConstants } from "./adamw-wasm.js";

export interface AdamWOptions {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  weightDecay?: number; // default 0 (HF TrainingArguments default; torch's own default is 0.01)
  /** Which parameters get weight decay; default {@link decayParameter} (not biases, not norm weights). */
  decays?: (name: string) => boolean;
  /**
   * How the update runs: "ops" (14 TF.js ops per parameter, any backend), "fused" (one WebAssembly SIMD pass per
   * parameter over host copies, moments in WASM memory: adamw-wasm.ts), or "auto" (default: fused where the backend's
   * tensors live in host memory and the moments fit in 4 GiB, ops elsewhere). Both give the same bits.
   */
  kernel?: "auto" | "ops" | "fused";
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
  /** The moments as variables (op path), or null when they live in {@link FusedAdamWMemory}. */
  m: tf.Variable | null;
  v: tf.Variable | null;
  decay: boolean;
  /** Index in the fused memory. */
  index: number;
  /** Fused path: the array the last update made, which is the parameter's storage on some backends (traits). */
  host: { dataId: object; values: Float32Array } | null;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Optimizer steps taken (torch's `state["step"]`, the same for every parameter here). */
  stepCount = 0;
  private readonly slots = new Map<string, Slot>();
  /** The moments when the update is fused (null: they are the slots' variables). */
  private fused: FusedAdamWMemory | null;

  constructor(params: Map<string, tf.Variable>, options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    const decays = options.decays ?? decayParameter;
    const kernel = options.kernel ?? "auto";
    if (!["auto", "ops", "fused"].includes(kernel)) throw new Error(`AdamW: kernel: got ${JSON.stringify(kernel)}; use "auto", "ops" or "fused"`);
    if (params.size === 0) throw new Error("AdamW: no parameters to optimize (is everything frozen?)");
    for (const [name, param] of params) {
      if (param.dtype !== "float32") throw new Error(`AdamW: parameter ${name} is ${param.dtype}; only float32 trains`);
    }
    const sizes = [...params.values()].map((p) => p.size);
    this.fused = kernel === "ops" || (kernel === "auto" && activeTraits().memory !== "host") ? null : FusedAdamWMemory.create(sizes);
    if (kernel === "fused" && !this.fused) throw new Error("AdamW: kernel \"fused\" needs WebAssembly SIMD and moments under 4 GiB; use \"ops\"");
    let index = 0;
    for (const [name, param] of params) {
      const zeros = () => {
        const z = tf.zerosLike(param);
        const v = tf.variable(z, false); // a Variable shares z's data; z itself must still be released
        z.dispose();
        return v;
      };
      const [m, v] = this.fused ? [null, null] : [zeros(), zeros()];
      this.slots.set(name, { param, m, v, decay: decays(name), index: index++, host: null });
    }
  }

  /** "fused" when the update runs as one WebAssembly pass per parameter, "ops" when as TF.js ops. */
  get kernel(): "fused" | "ops" {
    return this.fused ? "fused" : "ops";
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
   * (same shape); the caller keeps ownership of them. `gradScale` multiplies every gradient first (the clipping
   * coefficient: the same bits as scaling the gradients beforehand, without a pass over them).
   */
  step(grads: Map<string, tf.Tensor>, lr: number, gradScale = 1): void {
    for (const [name, s] of this.slots) {
      const g = grads.get(name);
      if (!g) throw new Error(`AdamW.step: no gradient for parameter ${name}`);
      if (g.shape.join() !== s.param.shape.join()) throw new Error(`AdamW.step: gradient of ${name} is [${g.shape}], parameter is [${s.param.shape}]`);
    }
    this.stepCount++;
    const t = this.stepCount;
    const { beta1: b1, beta2: b2, eps } = this;
    const stepSize = lr / (1 - b1 ** t); // lr / bias_correction1
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    const decay = 1 - lr * this.weightDecay;
    const keepsArray = activeTraits().tensorKeepsHostArray;
    for (const [name, s] of this.slots) {
      const g = grads.get(name)!;
      const decays = s.decay && this.weightDecay !== 0;
      if (this.fused) {
        const c: AdamWConstants = { gradScale, decay: decays ? decay : 1, beta1: b1, oneMinusBeta1: 1 - b1, beta2: b2, oneMinusBeta2: 1 - b2, bc2Sqrt, eps, stepSize };
        // The array made last step is the parameter's storage where the backend keeps it (no copy back out), as long
        // as the variable still holds that tensor; anything else is read back.
        const current = s.host?.dataId === s.param.dataId ? s.host.values : (s.param.dataSync() as Float32Array);
        const next = this.fused.update(s.index, g.dataSync() as Float32Array, current, c);
        const updated = tf.tensor(next, s.param.shape, "float32");
        s.param.assign(updated);
        updated.dispose();
        s.host = keepsArray ? { dataId: s.param.dataId, values: next } : null;
        continue;
      }
      tf.tidy(() => {
        let p: tf.Tensor = s.param;
        if (decays) p = tf.mul(p, decay);
        const gs = gradScale === 1 ? g : tf.mul(g, gradScale);
        const m = tf.add(tf.mul(s.m!, b1), tf.mul(gs, 1 - b1));
        const v = tf.add(tf.mul(s.v!, b2), tf.mul(tf.mul(gs, gs), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        s.m!.assign(m);
        s.v!.assign(v);
        s.param.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
      });
    }
  }

  /** Copy the state to the host (for a checkpoint). */
  async getState(): Promise<AdamWState> {
    const expAvg = new Map<string, { shape: number[]; data: Float32Array }>();
    const expAvgSq = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, s] of this.slots) {
      const shape = s.param.shape.slice();
      const { m, v } = this.fused ? this.fused.moments(s.index) : { m: (await s.m!.data()) as Float32Array, v: (await s.v!.data()) as Float32Array };
      expAvg.set(name, { shape, data: m });
      expAvgSq.set(name, { shape: shape.slice(), data: v });
    }
    return { step: this.stepCount, expAvg, expAvgSq };
  }

  /** Restore a state saved by {@link getState}; every parameter must be present with its shape. */
  setState(state: AdamWState): void {
    const checked = [...this.slots].map(([name, s]) => {
      const pair = (["exp_avg", "exp_avg_sq"] as const).map((what) => {
        const h = (what === "exp_avg" ? state.expAvg : state.expAvgSq).get(name);
        if (!h) throw new Error(`AdamW.setState: the saved state has no ${what} for ${name}`);
        if (h.shape.join() !== s.param.shape.join()) throw new Error(`AdamW.setState: ${what} of ${name} is [${h.shape}], parameter is [${s.param.shape}]`);
        return h.data;
      });
      return { s, m: pair[0]!, v: pair[1]! };
    }); // everything checked before anything changes
    for (const { s, m, v } of checked) {
      if (this.fused) this.fused.setMoments(s.index, m, v);
      else for (const [dst, h] of [[s.m!, m], [s.v!, v]] as const) tf.tidy(() => dst.assign(tf.tensor(h, dst.shape, "float32")));
    }
    this.stepCount = state.step;
  }

  /** Free the moments (the parameters stay). */
  dispose(): void {
    for (const s of this.slots.values()) {
      s.m?.dispose();
      s.v?.dispose();
    }
    this.slots.clear();
    this.fused = null; // its WebAssembly memory goes with the last reference
  }
}
