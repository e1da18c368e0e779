/**
 * `Trainer`: the training loop of HF `transformers.Trainer` (4.47) for a PaliGemma model in TF.js: AdamW over the
 * model's trainable variables, gradient accumulation, global-norm clipping, a per-optimizer-step LR schedule,
 * logging / evaluation / checkpointing by strategy, best-model tracking, early stopping, exact resume.
 * It emits events (events.ts) and never displays anything.
 *
 *     const trainer = new Trainer({ model, args: { outputDir: "out", learningRate: 2e-5, gradientAccumulationSteps: 16 },
 *       trainDataset, evalDataset, collator: processor, callbacks: [{ onLog: (e) => console.log(e) }] });
 *     await trainer.train();                              // or train({ resumeFromCheckpoint: true })
 *     const metrics = await trainer.evaluate();           // { eval_loss, … }
 *
 * Loss under accumulation (HF 4.47 for PaliGemma, whose forward takes no `num_items_in_batch`): every micro-batch
 * loss is a mean over its own label tokens and is divided by `gradientAccumulationSteps` before backward, so an
 * optimizer step uses  g = Σᵢ ∇ meanLossᵢ / GA  (the mean of micro-batch means; it equals the large-batch gradient
 * when the micro-batches hold equally many label tokens). An epoch's last, shorter accumulation is still ÷ GA (HF).
 */
import { tf } from "../tf.js";
import type { Collator, Example, ExampleDataset } from "../data/types.js";
import type { TrainableModel } from "../model/trainable.js";
import { TrainingArguments, type TrainingArgumentsInit } from "./arguments.js";
import { AdamW } from "./adamw.js";
import { GradAccumulator } from "./grads.js";
import { withLeanTape } from "./lean-tape.js";
import { learningRateAt, type ScheduleSpec } from "./schedule.js";
import { trainingPlan } from "./plan.js";
import { judgeEvaluation } from "./best-model.js";
import { trainMetricsLog, trainOutputMetrics } from "./run-metrics.js";
import { Rng, epochOrder, microBatches } from "./data-order.js";
import { EventBus, type EventChannel, type TrainerCallback, type TrainerControl, type TrainerEvent, type TrainOutputMetrics } from "./events.js";
import { checkpointDir, lastCheckpoint, removePartialCheckpoints, rotateCheckpoints, writeCheckpointAtomically } from "./checkpoint.js";
import { lastGoodCheckpoint, maxAbsWeight, measureHealth, type CheckpointHealth } from "./health.js";
import { checkSameDataOrder, loadTrainingState, saveTrainingState, type TrainerStateData } from "./state.js";
import { disposeBatch, evaluationMetrics, predictDataset, type ComputeMetrics, type EvalPrediction } from "./evaluate.js";
import { NonFiniteLossError, TrainingError } from "./errors.js";
import { ProgressEmitter, type ProgressCallback } from "../events/progress.js";
import { CONSOLE_LOGGER, formatLogDict, leveledLogger, round4, type TrainerLogger } from "./log-lines.js";
import { imageGapWarning } from "./image-gap.js";

export interface TrainerInit {
  model: TrainableModel;
  args?: TrainingArguments | TrainingArgumentsInit;
  trainDataset?: ExampleDataset;
  evalDataset?: ExampleDataset;
  /** Examples → model batch (the PaliGemmaProcessor). `processor` is accepted as its alias. */
  collator?: Collator;
  processor?: Collator;
  computeMetrics?: ComputeMetrics;
  callbacks?: TrainerCallback[];
  /**
   * "shuffle" (default): a new permutation each epoch, seeded by (dataSeed, epoch). "sequential": dataset order,
   * as HF does after overriding `_get_train_sampler` with a SequentialSampler (fixed-order experiments, parity).
   */
  trainDataOrder?: "shuffle" | "sequential";
  /**
   * Progress of `train()` (task "train", unit "step": loss, learningRate, gradNorm, samplesPerSecond, the latest
   * eval_image_gap) and of each evaluation (task "evaluate"), for terminal bars and notebook displays. Not called
   * when `args.disableTqdm`.
   */
  onProgress?: ProgressCallback;
  /** Where HF-style log lines and warnings go (default the console), filtered by `args.logLevel`. */
  logger?: TrainerLogger;
}

export interface TrainOptions {
  /** true: the newest `checkpoint-N` in outputDir; a string: that checkpoint directory. */
  resumeFromCheckpoint?: boolean | string;
}

export interface TrainOutput {
  globalStep: number;
  trainingLoss: number;
  metrics: TrainOutputMetrics;
}

export class Trainer {
  readonly model: TrainableModel;
  readonly args: TrainingArguments;
  readonly trainDataset?: ExampleDataset;
  readonly evalDataset?: ExampleDataset;
  readonly collator: Collator;
  readonly computeMetrics?: ComputeMetrics;
  readonly trainDataOrder: "shuffle" | "sequential";
  private readonly bus: EventBus;
  private readonly control: TrainerControl = { shouldTrainingStop: false };
  /** The trainer's RNG (model dropout via `setTrainingSeed`); its state is saved in checkpoints. */
  readonly rng: Rng;
  private state: TrainerStateData | null = null;
  /** The NaN guard's verdicts on the checkpoints saved by this Trainer, by path; the last step's loss. */
  private readonly healthOf = new Map<string, CheckpointHealth>();
  private lastStepLoss = NaN;
  private readonly logger: TrainerLogger;
  private readonly onProgress?: ProgressCallback;
  /** Scalars of the latest evaluation shown beside the training bar (eval_loss, eval_image_gap). */
  private lastEvalScalars: Record<string, number> = {};

  constructor(init: TrainerInit) {
    if (!init.model) throw new TrainingError("Trainer: `model` is required");
    this.model = init.model;
    this.args = init.args instanceof TrainingArguments ? init.args : new TrainingArguments(init.args ?? {});
    const collator = init.collator ?? init.processor;
    if (!collator || typeof collator.collate !== "function") {
      throw new TrainingError("Trainer: pass `collator` (or `processor`): an object with collate(examples) → ModelBatch, e.g. a PaliGemmaProcessor");
    }
    this.collator = collator;
    this.trainDataset = init.trainDataset;
    this.evalDataset = init.evalDataset;
    this.computeMetrics = init.computeMetrics;
    this.trainDataOrder = init.trainDataOrder ?? "shuffle";
    if (this.trainDataOrder !== "shuffle" && this.trainDataOrder !== "sequential") {
      throw new TrainingError(`Trainer: trainDataOrder must be "shuffle" or "sequential", got ${JSON.stringify(this.trainDataOrder)}`);
    }
    if (this.args.evalStrategy !== "no" && !this.evalDataset) {
      throw new TrainingError(`Trainer: evalStrategy is "${this.args.evalStrategy}" but no evalDataset was given; pass evalDataset or set evalStrategy "no"`);
    }
    this.bus = new EventBus(init.callbacks ?? []);
    this.logger = leveledLogger(init.logger ?? CONSOLE_LOGGER, this.args.logLevel);
    this.onProgress = this.args.disableTqdm ? undefined : init.onProgress;
    this.rng = new Rng(this.args.seed);
  }

  /** An async iterator over the events of the next (or the running) `train()`; it ends when training ends. */
  events(): EventChannel<TrainerEvent> {
    return this.bus.subscribe();
  }

  /** HF `TrainerState` of the last/running training (null before train()). */
  get trainerState(): Readonly<TrainerStateData> | null {
    return this.state;
  }

  /** Train; resolves when done, rejects (e.g. {@link NonFiniteLossError}) when training cannot go on. */
  async train(options: TrainOptions = {}): Promise<TrainOutput> {
    try {
      const out = await this.trainLoop(options);
      this.bus.finish();
      return out;
    } catch (e) {
      try {
        const st = this.state;
        await this.bus.emit("trainEnd", { globalStep: st?.globalStep ?? 0, status: "failed", message: (e as Error).message ?? String(e),
          metrics: null, bestModelCheckpoint: st?.bestModelCheckpoint ?? null }, this.control);
      } finally {
        this.bus.finish(e);
      }
      throw e;
    }
  }

  private async trainLoop(options: TrainOptions): Promise<TrainOutput> {
    const args = this.args;
    const dataset = this.trainDataset;
    if (!dataset || dataset.length === 0) throw new TrainingError("Trainer.train: trainDataset is missing or empty");
    const GA = args.gradientAccumulationSteps;
    const { maxSteps, numEpochs, schedule } = trainingPlan(args, dataset.length); // HF 4.47 `_inner_training_loop`

    const params = this.model.trainableParameters();
    const optimizer = new AdamW(params, { beta1: args.adamBeta1, beta2: args.adamBeta2, eps: args.adamEpsilon, weightDecay: args.weightDecay });
    const byVarName = new Map([...params].map(([name, v]) => [v.name, name]));
    const varList = [...params.values()];
    const acc = new GradAccumulator();
    let resumedFrom: string | null = null;
    let progress: ProgressEmitter | null = null;
    let state: TrainerStateData = {
      globalStep: 0, epoch: 0, maxSteps, numTrainEpochs: numEpochs, loggingSteps: args.loggingSteps, evalSteps: args.evalSteps,
      saveSteps: args.saveSteps, trainBatchSize: args.perDeviceTrainBatchSize, logHistory: [], bestMetric: null, bestModelCheckpoint: null,
      data: { epoch: 0, position: 0, dataSeed: args.dataSeed, datasetLength: dataset.length, batchSize: args.perDeviceTrainBatchSize },
      lossSinceLog: 0, stepsSinceLog: 0, earlyStoppingCounter: 0, totalLossSum: 0, guard: null, lastGoodCheckpoint: null,
    };
    try {
      await removePartialCheckpoints(args.outputDir);
      if (options.resumeFromCheckpoint) {
        resumedFrom = options.resumeFromCheckpoint === true ? await lastCheckpoint(args.outputDir) : options.resumeFromCheckpoint;
        if (!resumedFrom) throw new TrainingError(`resumeFromCheckpoint: no checkpoint-N directory in ${args.outputDir}; train without resuming, or pass a checkpoint path`);
        state = await this.resume(resumedFrom, state, optimizer);
      }
      this.state = state;
      this.control.shouldTrainingStop = false;
      await this.bus.emit("trainBegin", { maxSteps, numEpochs, globalStep: state.globalStep, trainableParameters: varList.reduce((n, v) => n + v.size, 0), resumedFrom }, this.control);
      progress = new ProgressEmitter(this.onProgress, { task: "train", total: maxSteps, unit: "step", label: "train" });
      if (state.globalStep > 0) progress.update(state.globalStep);

      const started = performance.now();
      const startStep = state.globalStep;
      let lossThisRun = 0;
      let lastLogTime = performance.now();
      let samplesSinceLog = 0;
      let lastGradNorm = NaN;
      const initialMaxAbs = state.guard ? 0 : maxAbsWeight(varList); // the NaN guard's reference (health.ts)
      let lastLr = learningRateAt(schedule, state.globalStep);
      let samplesThisRun = 0;

      for (let epoch = state.data.epoch; epoch < numEpochs && !this.control.shouldTrainingStop && state.globalStep < maxSteps; epoch++) {
        const order = epochOrder(dataset.length, { seed: args.dataSeed, epoch, shuffle: this.trainDataOrder === "shuffle" });
        const batches = microBatches(order, args.perDeviceTrainBatchSize, args.dataloaderDropLast);
        const start = epoch === state.data.epoch ? state.data.position : 0;
        if (start >= batches.length) continue; // resumed right at an epoch's end
        await this.bus.emit("epochBegin", { epoch }, this.control);
        let stepLoss = 0;
        for (let b = start; b < batches.length; b++) {
          if (acc.count === 0) await this.bus.emit("stepBegin", { step: state.globalStep + 1 }, this.control);
          // 1. forward + backward of one micro-batch, loss ÷ GA (accelerate's backward), gradients summed
          const examples: Example[] = await Promise.all(batches[b]!.map((i) => dataset.get(i)));
          const batch = await this.collator.collate(examples);
          if (!batch.labels) throw new TrainingError("Trainer: the collator returned a batch without labels; training batches need labels");
          this.model.train(); // HF training_step: model.train() (evaluation switches to eval())
          this.model.setTrainingSeed(this.rng.nextUint32()); // dropout masks, reproducible on resume
          let value: tf.Scalar;
          let grads: tf.NamedTensorMap;
          try {
            ({ value, grads } = withLeanTape(() => tf.variableGrads(() => tf.div(this.model.computeLoss(batch), GA) as tf.Scalar, varList)));
          } finally {
            disposeBatch(batch);
          }
          const scaled = (await value.data())[0]!;
          value.dispose();
          const named = new Map(Object.entries(grads).map(([k, g]) => [byVarName.get(k)!, g]));
          if (!Number.isFinite(scaled)) {
            tf.dispose([...named.values()]);
            acc.dispose();
            const good = await this.lastGood();
            throw new NonFiniteLossError(state.globalStep + 1, "loss", scaled * GA, good.path, batches[b], good.checked);
          }
          acc.add(named);
          stepLoss += scaled;
          samplesSinceLog += examples.length;
          samplesThisRun += examples.length;
          if (acc.count < GA && b + 1 < batches.length) continue;

          // 2. clip, check, update with this step's learning rate
          const { norm: gradNorm, scale: clipScale } = acc.clipScale(args.maxGradNorm); // applied inside the update
          if (!Number.isFinite(gradNorm)) {
            acc.dispose();
            const good = await this.lastGood();
            throw new NonFiniteLossError(state.globalStep + 1, "gradient norm", gradNorm, good.path, undefined, good.checked);
          }
          const lr = learningRateAt(schedule, state.globalStep);
          const g = acc.take();
          optimizer.step(g, lr, clipScale);
          tf.dispose([...g.values()]);
          state.globalStep++;
          state.epoch = epoch + (b + 1) / batches.length;
          state.data = { ...state.data, epoch, position: b + 1 };
          state.lossSinceLog += stepLoss;
          state.stepsSinceLog++;
          lossThisRun += stepLoss;
          state.totalLossSum += stepLoss;
          state.guard ??= { firstLoss: stepLoss, initialMaxAbsWeight: initialMaxAbs };
          this.lastStepLoss = stepLoss;
          lastGradNorm = gradNorm;
          lastLr = learningRateAt(schedule, state.globalStep); // HF logs the scheduler's rate after stepping
          await this.bus.emit("stepEnd", { step: state.globalStep, epoch: state.epoch, loss: stepLoss, learningRate: lr, gradNorm }, this.control);
          progress.update(state.globalStep, {
            loss: stepLoss, learningRate: lr, gradNorm, epoch: state.epoch,
            samplesPerSecond: samplesThisRun / ((performance.now() - started) / 1000), ...this.lastEvalScalars,
          });
          stepLoss = 0;

          // 3. log / evaluate / save by strategy (HF DefaultFlowCallback.on_step_end)
          const s = state.globalStep;
          const done = s >= maxSteps;
          if (done) this.control.shouldTrainingStop = true;
          const every = (strategy: string, n: number) => strategy === "steps" && s % n === 0;
          const logNow = (args.loggingFirstStep && s === 1) || every(args.loggingStrategy, args.loggingSteps);
          const evalNow = every(args.evalStrategy, args.evalSteps) || (this.control.shouldEvaluate === true && this.evalDataset !== undefined);
          const saveNow = every(args.saveStrategy, args.saveSteps) || (done && args.saveStrategy !== "no") || this.control.shouldSave === true;
          this.control.shouldEvaluate = this.control.shouldSave = false;
          const t = performance.now();
          await this.logSaveEvaluate({ logNow, evalNow, saveNow }, { lastLr, lastGradNorm, samplesPerSecond: samplesSinceLog / ((t - lastLogTime) / 1000) }, optimizer, schedule);
          if (logNow) (lastLogTime = performance.now()), (samplesSinceLog = 0);
          if (this.control.shouldTrainingStop) break;
        }
        state.data = { ...state.data, epoch: epoch + 1, position: 0 };
        await this.bus.emit("epochEnd", { epoch }, this.control);
        const byEpoch = (strategy: string) => strategy === "epoch";
        await this.logSaveEvaluate(
          { logNow: byEpoch(args.loggingStrategy), evalNow: byEpoch(args.evalStrategy), saveNow: byEpoch(args.saveStrategy) },
          { lastLr, lastGradNorm, samplesPerSecond: samplesSinceLog / ((performance.now() - lastLogTime) / 1000) }, optimizer, schedule,
        );
      }

      if (args.loadBestModelAtEnd && state.bestModelCheckpoint) await this.model.loadState(state.bestModelCheckpoint);
      const metrics = trainOutputMetrics(state, {
        runtimeSeconds: (performance.now() - started) / 1000, samples: samplesThisRun, steps: state.globalStep - startStep, lossSum: lossThisRun,
      });
      state.logHistory.push({ ...trainMetricsLog(metrics), step: state.globalStep });
      const status = state.globalStep < maxSteps ? "stopped" : "done";
      this.logger.info(formatLogDict(trainMetricsLog(metrics)));
      progress.end(state.globalStep, { loss: metrics.trainLoss, samplesPerSecond: metrics.trainSamplesPerSecond, ...this.lastEvalScalars });
      await this.bus.emit("trainEnd", { globalStep: state.globalStep, status, metrics, bestModelCheckpoint: state.bestModelCheckpoint }, this.control);
      return { globalStep: state.globalStep, trainingLoss: metrics.trainLoss, metrics };
    } catch (e) {
      progress?.end(state.globalStep, undefined, (e as Error).message ?? String(e));
      throw e;
    } finally {
      acc.dispose();
      optimizer.dispose();
    }
  }

  /** The NaN guard's answer: the last good checkpoint (if still on disk) and what was checked (health.ts). */
  private async lastGood(): Promise<{ path: string | null; checked: string }> {
    return lastGoodCheckpoint(this.state!.lastGoodCheckpoint, this.healthOf);
  }

  /** HF `_maybe_log_save_evaluate`: log, then evaluate (early stopping, best metric), then save + rotate. */
  private async logSaveEvaluate(
    what: { logNow: boolean; evalNow: boolean; saveNow: boolean },
    info: { lastLr: number; lastGradNorm: number; samplesPerSecond: number },
    optimizer: AdamW,
    schedule: ScheduleSpec,
  ): Promise<void> {
    const state = this.state!;
    const args = this.args;
    if (what.logNow && state.stepsSinceLog > 0) {
      const loss = state.lossSinceLog / state.stepsSinceLog;
      state.logHistory.push({ loss, grad_norm: info.lastGradNorm, learning_rate: info.lastLr, epoch: state.epoch, step: state.globalStep });
      state.lossSinceLog = 0;
      state.stepsSinceLog = 0;
      await this.bus.emit("log", { step: state.globalStep, epoch: state.epoch, loss, learningRate: info.lastLr, gradNorm: info.lastGradNorm, samplesPerSecond: info.samplesPerSecond }, this.control);
      this.logger.info(formatLogDict({ loss: round4(loss), grad_norm: info.lastGradNorm, learning_rate: info.lastLr, epoch: state.epoch }));
    }
    if (what.evalNow && judgeEvaluation(await this.evaluate(), state, args).stop) this.control.shouldTrainingStop = true;
    if (what.saveNow) {
      const health = measureHealth(state.globalStep, this.lastStepLoss, maxAbsWeight(this.model.trainableParameters().values()), state.guard ?? { firstLoss: this.lastStepLoss, initialMaxAbsWeight: 0 });
      state.health = health;
      this.healthOf.set(checkpointDir(args.outputDir, state.globalStep), health);
      if (health.good) state.lastGoodCheckpoint = checkpointDir(args.outputDir, state.globalStep);
      const dir = await writeCheckpointAtomically(args.outputDir, state.globalStep, async (tmp) => {
        await this.model.saveState(tmp);
        await saveTrainingState(tmp, {
          state, optimizer: await optimizer.getState(), schedule: { ...schedule, stepsTaken: state.globalStep },
          rng: this.rng.getState(), args: args.toJSON(),
        });
      });
      await rotateCheckpoints(args.outputDir, { limit: args.saveTotalLimit, keep: [args.loadBestModelAtEnd ? state.bestModelCheckpoint : null, state.lastGoodCheckpoint] });
      await this.bus.emit("save", { step: state.globalStep, checkpoint: dir }, this.control);
    }
  }

  /** Restore weights, optimizer, RNG and data position from `dir`; checks the run is the same shape. */
  private async resume(dir: string, fresh: TrainerStateData, optimizer: AdamW): Promise<TrainerStateData> {
    const saved = await loadTrainingState(dir);
    checkSameDataOrder(dir, saved.state.data, fresh.data);
    await this.model.loadState(dir);
    optimizer.setState(saved.optimizer);
    this.rng.setState(saved.rng);
    return { ...saved.state, maxSteps: fresh.maxSteps, numTrainEpochs: fresh.numTrainEpochs };
  }

  /**
   * Evaluate on the whole eval split: `eval_loss` (teacher forcing, batch means weighted by batch size, as HF),
   * with `args.evalImageGap` also `eval_shuffled_image_loss` and `eval_image_gap` (= shuffled − true loss; see
   * image-gap.ts; a warning when ≈ 0 after warm-up), plus `computeMetrics` over generated answers when given
   * (keys prefixed `eval_`), and timings.
   */
  async evaluate(o: { dataset?: ExampleDataset; metricKeyPrefix?: string } = {}): Promise<Record<string, number>> {
    const dataset = o.dataset ?? this.evalDataset;
    if (!dataset || dataset.length === 0) throw new TrainingError("Trainer.evaluate: no evalDataset (pass one to the Trainer or to evaluate({ dataset }))");
    const prefix = o.metricKeyPrefix ?? "eval";
    this.model.eval();
    const metrics = await evaluationMetrics(this.model, dataset, this.collator, {
      prefix, batchSize: this.args.perDeviceEvalBatchSize, imageGap: this.args.evalImageGap, onProgress: this.onProgress,
      computeMetrics: this.computeMetrics, predictions: (ds) => this.predictions(ds),
      onImageGap: (gap) => {
        const warning = this.state && imageGapWarning(gap, this.state.globalStep, this.args.warmupStepsFor(this.state.maxSteps));
        if (warning) this.logger.warn(warning);
      },
    });
    if (this.state) {
      metrics["epoch"] = this.state.epoch;
      this.state.logHistory.push({ ...metrics, step: this.state.globalStep });
    }
    this.lastEvalScalars = Object.fromEntries(Object.entries(metrics).filter(([k]) => k === `${prefix}_loss` || k === `${prefix}_image_gap`));
    this.logger.info(formatLogDict(metrics));
    await this.bus.emit("evaluate", { step: this.state?.globalStep ?? 0, epoch: this.state?.epoch ?? 0, metrics }, this.control);
    return metrics;
  }

  /** Generate answers for a dataset (default: the eval split) and score them with computeMetrics when given. */
  async predict(dataset?: ExampleDataset): Promise<EvalPrediction & { metrics: Record<string, number> }> {
    const ds = dataset ?? this.evalDataset;
    if (!ds) throw new TrainingError("Trainer.predict: pass a dataset (or give the Trainer an evalDataset)");
    const p = await this.predictions(ds);
    const metrics: Record<string, number> = {};
    if (this.computeMetrics) for (const [k, v] of Object.entries(await this.computeMetrics(p))) metrics[k.startsWith("test_") ? k : `test_${k}`] = v;
    return { ...p, metrics };
  }

  private predictions(dataset: ExampleDataset): Promise<EvalPrediction> {
    this.model.eval();
    return predictDataset(this.model, dataset, this.collator, {
      batchSize: this.args.perDeviceEvalBatchSize, maxNewTokens: this.args.generationMaxNewTokens, numBeams: this.args.generationNumBeams,
    });
  }
}
