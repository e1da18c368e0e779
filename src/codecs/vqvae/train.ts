/**
 * Training the `<seg>` VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation Learning",
 * arXiv 1711.00937) with big_vision's vae-oid architecture and shapes (codecs/vqvae/model.ts: the same encoder and
 * decoder functions inference uses): 64×64 masks → 4×4×512 features → 16 codes of a 128-entry codebook → 64×64.
 *
 * One step, on a batch of masks m ∈ [0,1]^{B×64×64} (soft at the edges: the crop is resized with antialiasing):
 *
 *     z   = enc(m)                                   # float32[B,4,4,512]
 *     k   = argmin_j ‖z − e_j‖²                      # nearest code (no gradient)
 *     z_q = z + sg(e_k − z)                          # straight-through estimator (paper §3.2)
 *     L   = ‖dec(z_q) − (2m − 1)‖²                   # reconstruction, mean over pixels
 *         + ‖sg(z) − e_k‖²                           # codebook loss: the codebook is learned by this loss (not EMA)
 *         + β ‖z − sg(e_k)‖²,  β = 0.25              # commitment loss (paper eq. 3)
 *
 * Reconstruction is L2 against 2m − 1, the encoder's own input scale: vae-oid's decoder outputs values roughly
 * in [−1, 1] with 0 as the inside/outside threshold, so a checkpoint trained this way is a drop-in for it (same
 * range, same threshold), and L2 fits the soft antialiased targets at the edges without saturating.
 *
 * Codebook health: the codebook starts as encoder outputs of the first batch (data-dependent initialisation),
 * and every `restartEvery` steps the codes no batch used since the last check are restarted at random encoder
 * outputs of the current batch (Dhariwal et al. 2020, Jukebox §B.1: "random restarts"), so no code stays dead.
 * Parameters are tf.js Variables in TF layout, updated by the library's AdamW (train/adamw.ts); `toArrays()`
 * gives them back in vae-oid's PyTorch names and layouts for `writeNpz`, so our checkpoint and the real one
 * load through the one `VqVae.load`.
 *
 * @example
 * const trainer = new VqVaeTrainer({ seed: 0 });
 * const rng = new Random(1);
 * for (let i = 0; i < 1000; i++) trainer.step(synthMaskBatch(rng, 32), 1e-3);
 * await writeNpz("vae.npz", trainer.toArrays(), { dtype: "float16" });
 * trainer.dispose();
 */
import { tf } from "../../tf.js";
import { ProgressEmitter, type ProgressCallback } from "../../events/progress.js";
import { AdamW } from "../../train/adamw.js";
import { learningRateAt } from "../../train/schedule.js";
import { SEG_CODEBOOK_SIZE, TF_TO_TORCH, TORCH_TO_TF, VqVaeError, nearestCode, vqVaeDecoder, vqVaeEncoder, vqVaeParamShapes } from "./model.js";

export interface VqVaeTrainConfig {
  /** Seeds the weight initialisation. Default 0. */
  seed?: number;
  /** Commitment weight β (paper eq. 3). Default 0.25. */
  beta?: number;
  /** Steps between dead-code restarts (0: never). Default 50. */
  restartEvery?: number;
  /** AdamW weight decay (not applied to biases or the codebook). Default 0. */
  weightDecay?: number;
}

/** What one step measured. */
export interface VqVaeStepStats {
  loss: number;
  reconstruction: number;
  codebook: number;
  commitment: number;
  /** Mean IoU of (decoded > 0) vs (mask > ½) over the batch, at 64×64. */
  iou: number;
  /** Distinct codes used by this batch. */
  codesInBatch: number;
}

/**
 * Kernels the backward pass needs that a backend may lack: WASM has no Conv2DBackpropFilter and no
 * UnsortedSegmentSum (tf.gather's gradient), so training runs on tensorflow (native) or cpu, not wasm.
 */
export const VQVAE_TRAINING_KERNELS = ["Conv2DBackpropFilter", "Conv2DBackpropInput", "UnsortedSegmentSum"] as const;

/** The training kernels the active backend lacks (empty: it can train). */
export function missingTrainingKernels(): string[] {
  return VQVAE_TRAINING_KERNELS.filter((k) => tf.getKernel(k, tf.getBackend()) === undefined);
}

type HostArrays = Map<string, { shape: number[]; data: Float32Array }>;

/** Stop-gradient: the identity forward, zero gradient backward. */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({ value: tf.mul(x, 1), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;

/** Mean IoU at 64×64 of `logits > 0` vs `masks > ½`, per row of float32[B,64,64,1]. */
export function batchIou(logits: tf.Tensor, masks: tf.Tensor): number[] {
  const [inter, uni] = tf.tidy(() => {
    const p = tf.greater(logits, 0);
    const t = tf.greater(masks, 0.5);
    const i = tf.sum(tf.cast(tf.logicalAnd(p, t), "float32"), [1, 2, 3]);
    const u = tf.sum(tf.cast(tf.logicalOr(p, t), "float32"), [1, 2, 3]);
    return [i, u];
  });
  const [i, u] = [inter.dataSync(), uni.dataSync()];
  inter.dispose();
  uni.dispose();
  return Array.from(i, (v, k) => (u[k] === 0 ? 1 : v / u[k]));
}

export class VqVaeTrainer {
  /** Parameters in TF layout under vae-oid's names. */
  readonly params = new Map<string, tf.Variable>();
  readonly optimizer: AdamW;
  readonly beta: number;
  readonly restartEvery: number;
  steps = 0;
  /** Codes used since the last restart check. */
  private used = new Uint8Array(SEG_CODEBOOK_SIZE);
  /** Codes restarted so far. */
  restarts = 0;
  private codebookReady = false;

  /** Fresh weights (seeded He initialisation), or `init`: vae-oid names and PyTorch layouts (a checkpoint). */
  constructor(config: VqVaeTrainConfig = {}, init?: ReadonlyMap<string, { shape: readonly number[]; data: unknown }>) {
    const missing = missingTrainingKernels();
    if (missing.length) {
      throw new VqVaeError(`VqVaeTrainer: backend "${tf.getBackend()}" lacks ${missing.join(", ")} (the backward pass needs them); ` +
        `train on "tensorflow" (npm run setup:native) or "cpu" (initBackend({ backend: "cpu" }) or PALIGEMMA_BACKEND=cpu)`);
    }
    this.beta = config.beta ?? 0.25;
    this.restartEvery = config.restartEvery ?? 50;
    const seed = config.seed ?? 0;
    let k = 0;
    for (const [name, shape] of vqVaeParamShapes()) {
      const t = tf.tidy(() => {
        const given = init?.get(name);
        if (init && !given) throw new VqVaeError(`VqVaeTrainer: the initial weights lack ${name}`);
        if (given) {
          if (given.shape.join() !== shape.join()) throw new VqVaeError(`VqVaeTrainer: initial ${name} is [${given.shape}], expected [${shape}]`);
          if (!(given.data instanceof Float32Array || given.data instanceof Float64Array)) throw new VqVaeError(`VqVaeTrainer: initial ${name} is not float`);
          const w = tf.tensor(Float32Array.from(given.data), shape, "float32");
          return shape.length === 4 ? tf.transpose(w, TORCH_TO_TF) : w;
        }
        if (name.endsWith(".bias") || name === "_vq_vae._embedding") return tf.zeros(shape, "float32"); // the codebook is set from data at step 1
        // He (Kaiming) normal for conv layers followed by ReLU; the last conv of each residual branch starts
        // small so each block starts near the identity. Transposed convs: fan-in = in·k²/stride².
        const [a, b, kh, kw] = shape; // PyTorch layout: conv [O,I,kh,kw]; transposed [I,O,kh,kw]
        const transposed = /^decoder\.(4|6|8|10)\.weight$/.test(name);
        const fanIn = transposed ? (a * kh * kw) / 4 : b * kh * kw;
        const std = Math.sqrt(2 / fanIn) * (name.endsWith("net.4.weight") ? 0.1 : 1);
        return tf.transpose(tf.randomNormal(shape, 0, std, "float32", seed * 1000 + k), TORCH_TO_TF);
      });
      k++;
      this.params.set(name, tf.variable(t, true));
      t.dispose();
    }
    this.codebookReady = init !== undefined;
    this.optimizer = new AdamW(this.params, {
      weightDecay: config.weightDecay ?? 0,
      decays: (n) => !n.endsWith(".bias") && n !== "_vq_vae._embedding",
    });
  }

  /**
   * One training step on `masks` (float32[B·64·64] or a [B,64,64,1] tensor, values in [0,1]) at learning rate
   * `lr`. Returns what it measured.
   */
  step(masks: Float32Array | tf.Tensor, lr: number): VqVaeStepStats {
    const m = (masks instanceof tf.Tensor ? tf.reshape(masks, [-1, 64, 64, 1]) : tf.tensor4d(masks, [masks.length / 4096, 64, 64, 1])) as tf.Tensor4D;
    const codebook = this.params.get("_vq_vae._embedding")!;
    if (!this.codebookReady) {
      this.restartCodes(m, Array.from({ length: SEG_CODEBOOK_SIZE }, (_, i) => i));
      this.codebookReady = true;
    }
    let parts: tf.Scalar[] = [];
    let logits: tf.Tensor | null = null;
    let codes: tf.Tensor | null = null;
    const varList = [...this.params.values()];
    const { value, grads } = tf.variableGrads(() => {
      const z = tf.reshape(vqVaeEncoder(this.params, m), [-1, 512]) as tf.Tensor2D; // [B·16, 512]
      // nearest code, as a fresh tensor off the tape (gather's gradient rejects indices that have a history)
      const idx = tf.tensor1d(nearestCode(stopGradient(z) as tf.Tensor2D, codebook).dataSync() as Int32Array, "int32"); // [B·16]
      const e = tf.gather(codebook, idx); // [B·16, 512]
      const zq = tf.add(z, stopGradient(tf.sub(e, z))); // straight-through
      const out = vqVaeDecoder(this.params, tf.reshape(zq, [-1, 4, 4, 512]) as tf.Tensor4D); // [B,64,64,1]
      const rec = tf.mean(tf.squaredDifference(out, tf.sub(tf.mul(m, 2), 1))) as tf.Scalar;
      const cb = tf.mean(tf.squaredDifference(stopGradient(z), e)) as tf.Scalar;
      const commit = tf.mul(this.beta, tf.mean(tf.squaredDifference(z, stopGradient(e)))) as tf.Scalar;
      parts = [tf.keep(rec), tf.keep(cb), tf.keep(commit)];
      logits = tf.keep(out);
      codes = tf.keep(idx);
      return tf.addN([rec, cb, commit]) as tf.Scalar;
    }, varList);
    const byName = new Map<string, tf.Tensor>();
    for (const [name, v] of this.params) byName.set(name, grads[v.name]);
    this.optimizer.step(byName, lr);
    this.steps++;
    const [rec, cb, commit] = parts.map((p) => p.dataSync()[0]);
    const iou = batchIou(logits!, m);
    const used = codes!.dataSync() as Int32Array;
    const inBatch = new Set(used);
    for (const c of used) this.used[c] = 1;
    const stats: VqVaeStepStats = {
      loss: value.dataSync()[0],
      reconstruction: rec,
      codebook: cb,
      commitment: commit / this.beta,
      iou: iou.reduce((a, b) => a + b, 0) / iou.length,
      codesInBatch: inBatch.size,
    };
    tf.dispose([value, ...Object.values(grads), ...parts, logits!, codes!]);
    if (this.restartEvery > 0 && this.steps % this.restartEvery === 0) {
      const dead = [...this.used.keys()].filter((c) => !this.used[c]);
      if (dead.length) this.restartCodes(m, dead);
      this.used.fill(0);
    }
    m.dispose();
    return stats;
  }

  /** Set the codebook rows `dead` to random encoder outputs of `m` (plus a little noise so restarts differ). */
  private restartCodes(m: tf.Tensor4D, dead: number[]): void {
    const codebook = this.params.get("_vq_vae._embedding")!;
    const zt = tf.tidy(() => tf.reshape(vqVaeEncoder(this.params, m), [-1, 512]));
    const z = zt.dataSync() as Float32Array;
    zt.dispose();
    const n = z.length / 512;
    const rms = Math.sqrt(z.reduce((s, x) => s + x * x, 0) / z.length) || 1;
    const e = Float32Array.from(codebook.dataSync() as Float32Array);
    let r = (this.steps * 2654435761 + 12345) >>> 0; // an LCG: restarts are a function of the step, hence seedable
    const rand = () => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (const c of dead) {
      const row = Math.floor(rand() * n);
      for (let j = 0; j < 512; j++) e[c * 512 + j] = z[row * 512 + j] + (rand() - 0.5) * 0.1 * rms;
    }
    tf.tidy(() => codebook.assign(tf.tensor2d(e, [SEG_CODEBOOK_SIZE, 512])));
    this.restarts += this.codebookReady ? dead.length : 0;
  }

  /** The weights in vae-oid's names and PyTorch layouts (what `VqVae.fromArrays` and `writeNpz` take). */
  toArrays(): HostArrays {
    const out: HostArrays = new Map();
    for (const [name, v] of this.params) {
      const t = v.rank === 4 ? tf.transpose(v, TF_TO_TORCH) : v;
      out.set(name, { shape: t.shape.slice(), data: Float32Array.from(t.dataSync() as Float32Array) });
      if (t !== v) t.dispose();
    }
    return out;
  }

  /** Free the parameters and the optimizer state. */
  dispose(): void {
    this.optimizer.dispose();
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

export interface TrainVqVaeOptions {
  /** Steps to run (the cosine schedule's horizon). */
  steps: number;
  /** The batch for step k: float32[B·64·64] masks in [0,1] (e.g. data/synth/masks.ts `synthMaskBatch`). */
  batch: (step: number) => Float32Array;
  /** Peak learning rate. Default 1e-3, cosine-decayed to 0 after `warmupSteps` linear warmup (default 100). */
  learningRate?: number;
  warmupSteps?: number;
  /** Stop early (after the current step) at this `Date.now()`. */
  deadline?: number;
  /** Called after every step with its stats (for logs and checkpoints). */
  onStep?: (step: number, stats: VqVaeStepStats, lr: number) => void | Promise<void>;
  /** Progress events (task "train", unit "step"). */
  onProgress?: ProgressCallback;
}

/**
 * The training loop: `steps` steps of `trainer` on `batch(k)` with a warmup + cosine learning rate
 * (train/schedule.ts, HF's "cosine"), counted from `trainer.steps` so a resumed run continues its schedule.
 * Returns the stats of the last step.
 */
export async function trainVqVae(trainer: VqVaeTrainer, options: TrainVqVaeOptions): Promise<VqVaeStepStats | null> {
  const spec = { type: "cosine" as const, baseLr: options.learningRate ?? 1e-3, warmupSteps: options.warmupSteps ?? 100, totalSteps: options.steps };
  const progress = new ProgressEmitter(options.onProgress, { task: "train", total: options.steps, unit: "step", label: "VQ-VAE" });
  let last: VqVaeStepStats | null = null;
  try {
    while (trainer.steps < options.steps && !(options.deadline !== undefined && Date.now() >= options.deadline)) {
      const k = trainer.steps;
      const lr = learningRateAt(spec, k) || spec.baseLr / Math.max(1, spec.warmupSteps); // step 0 of a warmup would be a no-op
      last = trainer.step(options.batch(k), lr);
      await options.onStep?.(trainer.steps, last, lr);
      progress.update(trainer.steps, { loss: last.loss, iou: last.iou, learningRate: lr });
    }
  } catch (e) {
    progress.end(trainer.steps, undefined, (e as Error).message);
    throw e;
  }
  progress.end(trainer.steps, last ? { loss: last.loss, iou: last.iou } : undefined);
  return last;
}
