/**
 * Pretraining the nano PaliGemma so that it needs its image (issue 10: a model trained from scratch on text
 * learned the templates and its image features collapsed). Three things make the image necessary:
 *
 * 1. the data (`data/synth/pretrain.ts`): random strings and random scenes, so no answer can be guessed;
 * 2. dense supervision of the image features: a per-patch classifier (character under the patch, shape class, or
 *    background) on the projected image features the decoder reads, trained beside the decoder, so the features
 *    carry what is where from step one (the role a pretrained SigLIP plays in PaliGemma); and a second per-patch
 *    head for the reading order (the patch holds the k-th character of the answer, or the k-th shape from the
 *    left), so that finding the t-th character becomes a content lookup for the decoder's attention instead of a
 *    pointer problem it must solve from positions;
 * 3. a curriculum from one large line of glyphs to blocks of small text, optionally capped at `maxChars` glyphs
 *    per line (single-glyph classification first).
 *
 *     loss = CE(decoder, suffix) + auxWeight · patchCE + orderWeight · orderCE
 *     patchCE, orderCE = ½ (CE over labelled patches + CE over background patches)
 *
 * The health signal, logged every `gapEvery` steps on a fixed held-out batch: the decoder's loss with each row's
 * own image against the loss with the images rolled by one row (`shuffledLoss − trueLoss`; ≈ 0 means the model
 * ignores the image).
 *
 * Resumable: {@link NanoPretrainer.save} writes the model (F32), head, AdamW moments and step; the data of step s
 * is a pure function of (seed, s), so a resumed run sees exactly the batches it would have seen.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../tf.js";
import { AdamW } from "../train/adamw.js";
import { GradAccumulator } from "../train/grads.js";
import { SafetensorsCheckpoint } from "../io/safetensors.js";
import { saveSafetensors, type TensorToWrite } from "../io/safetensors-write.js";
import type { PaliGemmaForConditionalGeneration } from "../model/paligemma.js";
import type { ForwardContext } from "../model/context.js";
import type { PaliGemmaProcessor } from "../data/processor.js";
import { ORDER_CLASSES, PATCH_CLASSES, pretrainSample, type PretrainSample, type PretrainTask, type TextLayoutKind } from "../data/synth/pretrain.js";
import { headLoss, linearHead, tiedHead, type PatchHead } from "./patch-heads.js";
import { ProgressEmitter, type ProgressCallback } from "../events/progress.js";

export type PretrainPhase = "joint" | "vision" | "decoder";
export const PRETRAIN_PHASES: readonly PretrainPhase[] = ["joint", "vision", "decoder"];

export interface PretrainConfig {
  seed: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  weightDecay: number;
  /** Steps until the curriculum reaches level 1. */
  curriculumSteps: number;
  /** Weight of the per-patch loss. */
  auxWeight: number;
  /** Weight of the per-patch reading-order loss; 0 or absent (runs saved before it existed): no order head. */
  orderWeight?: number;
  /** Cap on the characters per text line (uniform 1..maxChars); absent: the level decides. */
  maxChars?: number;
  /** The characters of the text tasks (absent: random alphabets); a small one first is the easiest reading task. */
  alphabet?: string;
  /** Text layout of the text tasks: "free" (absent) or "grid" (one glyph per patch cell; fourth sitting). */
  layout?: TextLayoutKind;
  /** The patch head: "linear" (absent: runs saved before the tied head) or "tied" (scored through the token embedding). */
  head?: "linear" | "tied";
  /**
   * "joint" (absent): decoder CE + patch losses on every parameter; "vision": only the patch losses, no decoder
   * forward, training the vision tower + projector (+ the token embedding the tied head reads): the warm-up;
   * "decoder": the joint losses with the vision tower and projector frozen (the decoder's gradient, ~5× the patch
   * loss's, undid the warm-up's glyph features in 25 joint steps: held-out patch accuracy 0.94 → 0.66).
   */
  phase?: PretrainPhase;
  maxGradNorm: number;
  mixture?: Partial<Record<PretrainTask, number>>;
}

export const DEFAULT_PRETRAIN: PretrainConfig = {
  seed: 0, batchSize: 8, learningRate: 1e-3, warmupSteps: 50, weightDecay: 0.01, curriculumSteps: 3000,
  auxWeight: 1, orderWeight: 1, maxGradNorm: 1, mixture: undefined,
};

/** One logged step (also what `log.jsonl` holds). */
export interface PretrainRecord {
  step: number;
  loss: number;
  textLoss: number;
  patchLoss: number;
  patchAccuracy: number; // non-background patches classified right, this batch
  orderLoss?: number;
  orderAccuracy?: number; // non-background patches given their right reading-order index, this batch
  gradNorm: number;
  level: number;
  learningRate: number;
  secondsPerStep: number;
  trueLoss?: number; // held-out batch, own images
  shuffledLoss?: number; // held-out batch, images rolled by one row
  readDistinct?: number; // reading probe: distinct greedy answers over its held-out images
  readAccuracy?: number; // reading probe: mean character accuracy
  heldOutPatchAccuracy?: number; // labelled patches of a held-out batch classified right
}

interface Batch {
  samples: PretrainSample[];
  pixels: tf.Tensor4D;
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  tokenTypeIds: tf.Tensor2D;
  labels: tf.Tensor2D;
  patchLabels: tf.Tensor2D;
  orderLabels: tf.Tensor2D;
}

const EMBEDDING = "language_model.model.embed_tokens.weight";
/** What the vision phase trains (besides the heads). */
const VISION_PHASE = ["vision_tower.", "multi_modal_projector."];

/** The vision phase's forward context (training; the nano config has no dropout). */
const VISION_TRAINING: ForwardContext = Object.freeze({ training: true, dropoutSeed: 0 });

export class NanoPretrainer {
  step = 0;
  readonly heads: PatchHead[];
  private readonly optimizer: AdamW;
  private heldOut: PretrainSample[] | null = null;

  constructor(
    readonly model: PaliGemmaForConditionalGeneration,
    readonly processor: PaliGemmaProcessor,
    readonly config: PretrainConfig,
  ) {
    const D = model.config.textConfig.hiddenSize;
    if (config.head === "tied") {
      // class c: background (learned row), characters '!'..'~' (their token's embedding), shapes (learned rows)
      const classIds = Array.from({ length: PATCH_CLASSES }, (_, c) => {
        if (c === 0 || c > 94) return -1;
        const ids = processor.tokenizer.encode(String.fromCharCode(0x20 + c), { addSpecialTokens: false });
        if (ids.length !== 1) throw new Error(`tied head: the tokenizer splits ${JSON.stringify(String.fromCharCode(0x20 + c))} into ${ids.length} tokens; it needs a character vocabulary`);
        return ids[0]!;
      });
      this.heads = [tiedHead(this.embedding(), classIds, config.seed + 7)];
    } else {
      this.heads = [linearHead("patch_head", PATCH_CLASSES, D, config.seed + 7)];
    }
    if ((config.orderWeight ?? 0) > 0) this.heads.push(linearHead("order_head", ORDER_CLASSES, D, config.seed + 11));
    this.optimizer = new AdamW(this.parameters(), { weightDecay: config.weightDecay });
  }

  /** The decoder's token embedding (tied with its output head). */
  private embedding(): tf.Variable {
    const e = this.model.trainableParameters().get(EMBEDDING);
    if (!e) throw new Error(`tied head: the model has no trainable ${EMBEDDING}`);
    return e;
  }

  /**
   * Every trained variable: the per-patch heads' and the model's; in the vision phase only the vision tower's,
   * the projector's and (tied head) the token embedding; in the decoder phase all but the vision tower's and
   * the projector's.
   */
  parameters(): Map<string, tf.Variable> {
    const vision = (n: string) => VISION_PHASE.some((prefix) => n.startsWith(prefix));
    const phase = this.config.phase ?? "joint";
    const model = [...this.model.trainableParameters()].filter(([n]) => phase === "joint" ||
      (phase === "vision" ? vision(n) || (this.config.head === "tied" && n === EMBEDDING) : !vision(n)));
    return new Map([...model, ...this.heads.flatMap((h) => h.variables())]);
  }

  level(step = this.step): number {
    return Math.min(1, step / Math.max(1, this.config.curriculumSteps));
  }

  learningRate(step = this.step): number {
    return this.config.learningRate * Math.min(1, (step + 1) / Math.max(1, this.config.warmupSteps));
  }

  /** The samples of training step `step` (a pure function of seed and step). */
  samples(step: number, level = this.level(step)): Promise<PretrainSample[]> {
    const { seed, batchSize } = this.config;
    return Promise.all(Array.from({ length: batchSize }, (_, i) =>
      pretrainSample({ ...this.sampleOptions(), seed, index: step * batchSize + i, level })));
  }

  /** The recipe's data options (mixture, glyph cap, alphabet, layout; absent ones keep the generator's defaults). */
  sampleOptions(): { mixture?: Partial<Record<PretrainTask, number>>; maxChars?: number; alphabet?: string; layout?: TextLayoutKind } {
    const { mixture, maxChars, alphabet, layout } = this.config;
    return { mixture, maxChars, alphabet, layout };
  }

  /** Samples → tensors (pixels normalised as the processor does: (x/255 − 0.5)/0.5). */
  batch(samples: PretrainSample[]): Batch {
    const B = samples.length;
    const { height: H, width: W } = this.processor.config;
    const text = this.processor.encodeText(samples.map((s) => s.prefix), samples.map((s) => s.suffix));
    const L = text.seqLength;
    const pix = new Float32Array(B * 3 * H * W);
    samples.forEach((s, b) => {
      for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) pix[((b * 3 + c) * H * W) + i] = s.rgb[i * 3 + c]! / 127.5 - 1;
    });
    const P = samples[0]!.patchLabels.length;
    const patch = new Int32Array(B * P);
    const order = new Int32Array(B * P);
    samples.forEach((s, b) => (patch.set(s.patchLabels, b * P), order.set(s.orderLabels, b * P)));
    return {
      samples,
      pixels: tf.tensor4d(pix, [B, 3, H, W]),
      inputIds: tf.tensor2d(text.inputIds, [B, L], "int32"),
      attentionMask: tf.tensor2d(text.attentionMask, [B, L], "int32"),
      tokenTypeIds: tf.tensor2d(text.tokenTypeIds, [B, L], "int32"),
      labels: tf.tensor2d(text.labels!, [B, L], "int32"),
      patchLabels: tf.tensor2d(patch, [B, P], "int32"),
      orderLabels: tf.tensor2d(order, [B, P], "int32"),
    };
  }

  /**
   * Scalars: total, decoder and per-patch loss, and the patch accuracy on non-background patches. The model keeps
   * (tf.keep) the hidden states it returns, so they escape tidy: they are pushed to `kept` for the caller to free
   * once the backward pass no longer needs them.
   */
  private losses(b: Batch, kept: tf.Tensor[], pixels: tf.Tensor = b.pixels) {
    let feats: tf.Tensor; // [B,N,D], the projector's output ÷ √D (what the decoder's embedding holds)
    let textLoss: tf.Scalar;
    if (this.config.phase === "vision") {
      feats = this.model.imageFeatures(pixels, false, VISION_TRAINING).features;
      textLoss = tf.scalar(0);
    } else {
      const out = this.model.forward({ pixelValues: pixels, inputIds: b.inputIds, attentionMask: b.attentionMask,
        tokenTypeIds: b.tokenTypeIds, labels: b.labels }, { outputHiddenStates: true });
      kept.push(...(out.hiddenStates ?? []), ...(out.visionHiddenStates ?? []));
      feats = out.imageFeatures!;
      textLoss = out.loss! as tf.Scalar;
    }
    const [B, N, D] = feats.shape as number[];
    // the heads read the projector's output (features × √D), so their input is O(1)
    const x = tf.mul(tf.reshape(feats, [B * N, D]), Math.sqrt(D)) as tf.Tensor2D;
    const [patch, order] = this.heads.map((h) => headLoss(h.logits(x), tf.reshape(h.target === "patch" ? b.patchLabels : b.orderLabels, [B * N]) as tf.Tensor1D));
    let loss = tf.add(textLoss, tf.mul(patch!.loss, this.config.auxWeight));
    if (order) loss = tf.add(loss, tf.mul(order.loss, this.config.orderWeight!));
    return { loss, textLoss, patchLoss: patch!.loss, patchAccuracy: patch!.accuracy, orderLoss: order?.loss, orderAccuracy: order?.accuracy };
  }

  /** Accuracy of the patch head on the labelled patches of a held-out batch (seed + 1000003, current level). */
  async heldOutPatchAccuracy(rows = 32): Promise<number> {
    const samples = await Promise.all(Array.from({ length: rows }, (_, i) => pretrainSample({ ...this.sampleOptions(), seed: this.config.seed + 1000003, index: i, level: this.level() })));
    const b = this.batch(samples);
    const acc = tf.tidy(() => {
      const feats = this.model.imageFeatures(b.pixels).features;
      const [B, N, D] = feats.shape as number[];
      const x = tf.mul(tf.reshape(feats, [B * N, D]), Math.sqrt(D)) as tf.Tensor2D;
      const h = this.heads.find((k) => k.target === "patch")!;
      return headLoss(h.logits(x), tf.reshape(b.patchLabels, [B * N]) as tf.Tensor1D).accuracy;
    });
    const out = (await acc.data())[0]!;
    tf.dispose([acc, ...Object.values(b).filter((x) => x instanceof tf.Tensor)]);
    return out;
  }

  /** One optimizer step on the batch of `this.step`; returns its record (without the gap). */
  async trainStep(): Promise<PretrainRecord> {
    const t0 = Date.now();
    const level = this.level();
    const b = this.batch(await this.samples(this.step, level));
    const params = this.parameters();
    let aux: tf.Scalar[] = [];
    const kept: tf.Tensor[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const l = this.losses(b, kept);
      aux = [l.textLoss, l.patchLoss, l.patchAccuracy, ...(l.orderLoss ? [l.orderLoss, l.orderAccuracy!] : [])].map((t) => tf.keep(t)) as tf.Scalar[];
      return l.loss as tf.Scalar;
    }, [...params.values()]);
    const acc = new GradAccumulator();
    acc.add(new Map([...params].map(([name, v]) => [name, grads[v.name]!])));
    const gradNorm = acc.clip(this.config.maxGradNorm);
    const clipped = acc.take();
    const lr = this.learningRate();
    this.optimizer.step(clipped, lr);
    const [loss, textLoss, patchLoss, patchAccuracy, orderLoss, orderAccuracy] = [value, ...aux].map((t) => t.dataSync()[0]!);
    tf.dispose([value, ...aux, ...kept, ...clipped.values(), ...Object.values(b).filter((t) => t instanceof tf.Tensor)]);
    this.step++;
    return { step: this.step, loss: loss!, textLoss: textLoss!, patchLoss: patchLoss!, patchAccuracy: patchAccuracy!,
      ...(orderLoss === undefined ? {} : { orderLoss, orderAccuracy }),
      gradNorm, level, learningRate: lr, secondsPerStep: (Date.now() - t0) / 1000 };
  }

  /**
   * The decoder's loss on a fixed held-out batch (seed + 1000003, at the current level) with its own images and
   * with the images rolled by one row. The gap is the first health signal.
   */
  async imageGap(rows = 8): Promise<{ trueLoss: number; shuffledLoss: number }> {
    const level = this.level();
    this.heldOut = await Promise.all(Array.from({ length: rows }, (_, i) =>
      pretrainSample({ ...this.sampleOptions(), seed: this.config.seed + 1000003, index: i, level })));
    const b = this.batch(this.heldOut);
    const kept: tf.Tensor[] = [];
    const [t, s] = tf.tidy(() => {
      const rolled = tf.concat([tf.slice(b.pixels, [1, 0, 0, 0]), tf.slice(b.pixels, [0, 0, 0, 0], [1, -1, -1, -1])]);
      return [this.losses(b, kept).textLoss, this.losses(b, kept, rolled).textLoss];
    });
    const out = { trueLoss: t!.dataSync()[0]!, shuffledLoss: s!.dataSync()[0]! };
    tf.dispose([t!, s!, ...kept, ...Object.values(b).filter((x) => x instanceof tf.Tensor)]);
    return out;
  }

  /**
   * Train `steps` more steps, logging each record to `onRecord`, measuring the gap every `gapEvery` steps and
   * saving to `runDir` every `saveEvery` steps (and at the end); `probe.run` (e.g. a reading probe) every
   * `probe.every` steps adds its fields to the record. Progress events: task "pretrain", unit "step".
   */
  async train(opts: { steps: number; runDir: string; gapEvery: number; saveEvery: number; onRecord?: (r: PretrainRecord) => void;
    probe?: { every: number; run: (t: NanoPretrainer) => Promise<Partial<PretrainRecord>> };
    onProgress?: ProgressCallback; deadline?: number }): Promise<void> {
    const end = this.step + opts.steps;
    const progress = new ProgressEmitter(opts.onProgress, { task: "pretrain", total: end, unit: "step", label: "nano pretraining" });
    try {
      while (this.step < end && (opts.deadline === undefined || Date.now() < opts.deadline)) {
        const r = await this.trainStep();
        if (this.step % opts.gapEvery === 0 || this.step === 1) {
          if (this.config.phase !== "vision") Object.assign(r, await this.imageGap());
          r.heldOutPatchAccuracy = await this.heldOutPatchAccuracy();
        }
        if (opts.probe && this.step % opts.probe.every === 0) Object.assign(r, await opts.probe.run(this));
        opts.onRecord?.(r);
        progress.update(this.step, { loss: r.loss, textLoss: r.textLoss, patchLoss: r.patchLoss });
        if (this.step % opts.saveEvery === 0) await this.save(opts.runDir);
      }
      await this.save(opts.runDir);
      progress.end(this.step);
    } catch (e) {
      progress.end(this.step, undefined, (e as Error).message);
      throw e;
    }
  }

  /** Write `runDir/state/` (model F32, heads, AdamW moments, step) atomically (a temp dir, then rename). */
  async save(runDir: string): Promise<void> {
    const tmp = join(runDir, `state.tmp-${process.pid}`);
    const dst = join(runDir, "state");
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await this.model.savePretrained(tmp, { dtype: "F32" });
    const host = async (v: tf.Variable): Promise<TensorToWrite> => ({ shape: v.shape.slice(), data: (await v.data()) as Float32Array });
    const heads: Record<string, TensorToWrite> = {};
    for (const [name, v] of this.heads.flatMap((h) => h.variables())) heads[name] = await host(v);
    await saveSafetensors(join(tmp, "patch_head.safetensors"), heads);
    const st = await this.optimizer.getState();
    const moments: Record<string, TensorToWrite> = {};
    for (const [n, m] of st.expAvg) moments[`exp_avg.${n}`] = m;
    for (const [n, m] of st.expAvgSq) moments[`exp_avg_sq.${n}`] = m;
    await saveSafetensors(join(tmp, "optimizer.safetensors"), moments);
    await writeFile(join(tmp, "pretrain_state.json"), JSON.stringify({ step: this.step, optimizerStep: st.step, config: this.config }, null, 2));
    await rm(`${dst}.old`, { recursive: true, force: true });
    await rename(dst, `${dst}.old`).catch(() => undefined);
    await rename(tmp, dst);
    await rm(`${dst}.old`, { recursive: true, force: true });
  }

  /** Restore the head, the optimizer and the step from `runDir/state/` (the model is loaded from there by the caller). */
  async restore(runDir: string): Promise<void> {
    const dir = join(runDir, "state");
    const saved = JSON.parse(await readFile(join(dir, "pretrain_state.json"), "utf-8")) as { step: number; optimizerStep: number };
    const read = async (file: string) => {
      const ck = await SafetensorsCheckpoint.open(join(dir, file));
      const out = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const k of ck.keys()) out.set(k, { shape: ck.info(k).shape, data: (await ck.read(k)).data as Float32Array });
      await ck.close();
      return out;
    };
    const saved_ = await read("patch_head.safetensors");
    for (const [key, v] of this.heads.flatMap((h) => h.variables())) {
      const t = saved_.get(key);
      if (!t) throw new Error(`restore: ${dir}/patch_head.safetensors has no ${key} (saved by a recipe without it; start a new run with --from)`);
      tf.tidy(() => v.assign(tf.tensor(t.data, t.shape)));
    }
    const mom = await read("optimizer.safetensors");
    // a phase change (vision → joint) trains parameters the saved optimizer did not have: their moments start at 0
    const zeros = (name: string) => {
      const v = this.parameters().get(name)!;
      return { shape: v.shape.slice(), data: new Float32Array(v.size) };
    };
    const pick = (prefix: string) => new Map([...this.parameters().keys()].map((n) => [n, mom.get(prefix + n) ?? zeros(n)]));
    this.optimizer.setState({ step: saved.optimizerStep, expAvg: pick("exp_avg."), expAvgSq: pick("exp_avg_sq.") });
    this.step = saved.step;
  }

  dispose(): void {
    this.optimizer.dispose();
    for (const h of this.heads) h.dispose();
  }
}
