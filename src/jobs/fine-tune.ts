/**
 * One fine-tune into a run directory (the `train` command and the main job): load data and model, make the
 * model trainable by strategy, train with eval on the valid split, save the weights, `run.json` and `report.json`
 * (config + curves). Generation settings come from the data: `maxNewTokens` and `minNewTokens` from the tokenized
 * train suffixes.
 *
 *     const r = await fineTune({ data: "pallets", out: "runs/a", model: "nano", strategy: "lora",
 *       trainingArguments: { maxSteps: 40, learningRate: 1e-3 } });
 *     r.run.generation.maxNewTokens;
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PaliGemmaForConditionalGeneration } from "../model/paligemma.js";
import { PaliGemmaProcessor } from "../data/processor.js";
import { loadDataset, type DatasetSplits } from "../data/dataset.js";
import type { ExampleDataset } from "../data/types.js";
import type { TrainableModel } from "../model/trainable.js";
import { LoraConfig, type LoraConfigInit } from "../lora/config.js";
import { loraConfigFromPeftJson, loraConfigToPeftJson } from "../lora/adapter-config.js";
import { Trainer, type TrainOutput } from "../train/trainer.js";
import type { TrainerCallback } from "../train/events.js";
import { TrainingArguments, type TrainingArgumentsInit } from "../train/arguments.js";
import { CONSOLE_LOGGER, type TrainerLogger } from "../train/log-lines.js";
import type { ProgressCallback } from "../events/progress.js";
import type { BackendName } from "../backend/select.js";
import { DEFAULT_LORA, QLORA_QUANTIZATION, prepareModel, saveTrained, usesAdapter, type Strategy } from "./strategy.js";
import { strategyMemoryPlan } from "./memory-plan.js";
import { suffixLengths } from "./generation-length.js";
import { resolveModelDir } from "./model-ref.js";
import { isRunDir, readRunConfig, writeRunConfig, type RunConfig } from "./run-dir.js";
import { curvesOf, writeJobReport, type JobReport } from "./report.js";

export interface FineTuneOptions {
  /** Dataset root ({train,valid,test}/annotations.jsonl). */
  data: string;
  /** Run directory to create. */
  out: string;
  /** "nano" or a checkpoint directory. Default "nano". */
  model?: string;
  strategy?: Strategy;
  /** LoraConfig fields (lora, qlora). Default maestro's: r 8, α 16, dropout 0.05 on q,k,v,o,gate,up,down. */
  lora?: LoraConfigInit;
  /** TrainingArguments; `outputDir` is always `<out>/checkpoints`. */
  trainingArguments?: TrainingArgumentsInit;
  /** Beams for the run's generation settings. Default 3 (the tutorial's). */
  numBeams?: number;
  task?: string | null;
  /** Resume from the newest checkpoint in `<out>/checkpoints`. */
  resume?: boolean;
  backend?: BackendName;
  onProgress?: ProgressCallback;
  logger?: TrainerLogger;
  /** More Trainer callbacks (the main job's time budget). */
  callbacks?: TrainerCallback[];
  /** An already loaded base model and its processor (the main job evaluates it before training). */
  loaded?: { base: PaliGemmaForConditionalGeneration; processor: PaliGemmaProcessor; splits?: DatasetSplits };
}

export interface FineTuneResult {
  run: RunConfig;
  model: TrainableModel;
  processor: PaliGemmaProcessor;
  trainer: Trainer;
  splits: DatasetSplits;
  output: TrainOutput;
  report: JobReport;
}

async function allSuffixes(ds: ExampleDataset): Promise<string[]> {
  return Promise.all(Array.from({ length: ds.length }, async (_, i) => (await ds.get(i)).suffix));
}

export async function fineTune(o: FineTuneOptions): Promise<FineTuneResult> {
  const out = resolve(o.out);
  const data = resolve(o.data);
  const splits = o.loaded?.splits ?? (await loadDataset(data));
  if (!splits.train || splits.train.length === 0) throw new Error(`${data}: no train split (train/annotations.jsonl) or it is empty`);
  // resuming continues the run as it was configured (run.json); options given now override it
  const previous = o.resume && (await isRunDir(out)) ? await readRunConfig(out) : null;
  const strategy = o.strategy ?? previous?.strategy ?? "lora";
  const modelDir = resolveModelDir(o.model ?? previous?.model ?? "nano");
  const lora = previous?.lora
    ? loraConfigFromPeftJson(previous.lora).with({ ...(o.lora ?? {}), inferenceMode: false })
    : new LoraConfig({ ...DEFAULT_LORA, ...(o.lora ?? {}) });
  const { outputDir: _old, ...previousArgs } = (previous?.trainingArguments ?? {}) as TrainingArgumentsInit;
  const userArgs = { ...previousArgs, ...(o.trainingArguments ?? {}) };
  const args = new TrainingArguments({
    ...(splits.valid ? { evalStrategy: "steps" as const } : {}),
    ...userArgs,
    outputDir: join(out, "checkpoints"),
  });
  const processor = o.loaded?.processor ?? (await PaliGemmaProcessor.fromPretrained(modelDir));
  const lengths = suffixLengths(processor.tokenizer, await allSuffixes(splits.train));
  let base = o.loaded?.base;
  if (!base) {
    // the plan of this very run, printed and checked before a weight is read; qlora quantizes while loading
    const planned = await strategyMemoryPlan(modelDir, strategy, {
      backend: o.backend, batchSize: args.perDeviceTrainBatchSize, loraRank: lora.r,
      loraTargets: Array.isArray(lora.targetModules) ? lora.targetModules : undefined,
    });
    (o.logger ?? CONSOLE_LOGGER).info(planned.text);
    base = await PaliGemmaForConditionalGeneration.fromPretrained(modelDir, {
      backend: o.backend, memoryPlan: planned.options,
      quantizationConfig: strategy === "qlora" ? QLORA_QUANTIZATION : undefined,
    });
  }
  const model = prepareModel(base, strategy, lora, args.seed);
  await mkdir(out, { recursive: true });
  const run: RunConfig = {
    version: 1, task: o.task ?? null, model: modelDir, data, strategy,
    lora: usesAdapter(strategy) ? loraConfigToPeftJson(lora.with({ baseModelNameOrPath: modelDir })) : null,
    trainingArguments: args.toJSON(),
    generation: { maxNewTokens: lengths.maxNewTokens, minNewTokens: lengths.minNewTokens, numBeams: o.numBeams ?? 3 },
    prompt: (await splits.train.get(0)).prefix,
    createdAt: new Date().toISOString(),
  };
  await writeRunConfig(out, run); // first, so a crashed run can still be resumed and inspected
  const warnings: string[] = [];
  const sink = o.logger ?? CONSOLE_LOGGER;
  const trainer = new Trainer({
    model, processor, args, trainDataset: splits.train, evalDataset: args.evalStrategy === "no" ? undefined : splits.valid,
    callbacks: o.callbacks, onProgress: o.onProgress, logger: { info: (l) => sink.info(l), warn: (l) => (warnings.push(l), sink.warn(l)) },
  });
  const output = await trainer.train({ resumeFromCheckpoint: o.resume ?? false }).catch((e: Error) => {
    throw wasmHeapHint(e, args.perDeviceTrainBatchSize);
  });
  await saveTrained(model, strategy, out);
  const report: JobReport = {
    version: 1, task: run.task, createdAt: run.createdAt, wallSeconds: output.metrics.trainRuntime,
    config: run, suffixTokens: { max: lengths.max, min: lengths.min, mean: lengths.mean },
    data: Object.fromEntries(Object.entries(splits).map(([k, v]) => [k, v!.length])),
    curves: curvesOf(trainer.trainerState?.logHistory ?? []), train: output.metrics, metrics: { before: null, after: null },
    predictions: [], warnings,
  };
  await writeJobReport(out, report);
  return { run, model, processor, trainer, splits, output, report };
}

/** WASM's heap is 4 GB: when a step overflows it, the runtime's message says nothing useful; say what to change. */
function wasmHeapHint(e: Error, batchSize: number): Error {
  if (!/null function or function signature mismatch|memory access out of bounds|Out of memory|Aborted\(/i.test(e.message ?? "")) return e;
  return new Error(`${e.message} — most likely the WASM backend's 4 GB heap overflowed during a training step (micro-batch ` +
    `${batchSize}); use a smaller perDeviceTrainBatchSize with gradientAccumulationSteps (--per-device-train-batch-size 1 ` +
    `--gradient-accumulation-steps ${batchSize}), or the native backend (npm run setup:native)`, { cause: e });
}
