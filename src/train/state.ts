/**
 * What a checkpoint holds besides the model's own state files (`model.saveState(dir)`, read back by
 * `model.loadState(dir)`: the HF checkpoint for the base model; a PEFT adapter + `trainable_params.safetensors`,
 * model/trainable-state.ts, for a PeftModel), and reading it back:
 *
 *   trainer_state.json         HF-shaped: global_step, epoch, max_steps, log_history, best_metric, best_model_checkpoint…
 *                              plus our resume block (`paligemma_ts`: data order, RNG, loss sums, early stopping)
 *   optimizer.safetensors      AdamW moments `exp_avg.<param>` / `exp_avg_sq.<param>` (internal layout), step in metadata
 *   scheduler.json             the schedule and the steps taken
 *   rng_state.json             the trainer RNG's state (four uint32 words)
 *   training_args.json         the TrainingArguments (camelCase)
 *
 *     await saveTrainingState(tmpDir, snapshot);
 *     const s = await loadTrainingState("out/checkpoint-20");
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../util/atomic-write.js";
import { join } from "node:path";
import { SafetensorsFile } from "../io/safetensors.js";
import { saveSafetensors, type TensorToWrite } from "../io/safetensors-write.js";
import type { AdamWState } from "./adamw.js";
import type { ScheduleSpec } from "./schedule.js";
import { TrainingError } from "./errors.js";
import type { CheckpointHealth, HealthReference } from "./health.js";

export const TRAINER_STATE_FILE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const SCHEDULER_FILE = "scheduler.json";
export const RNG_FILE = "rng_state.json";
export const ARGS_FILE = "training_args.json";
export { TRAINABLE_FILE } from "../model/trainable-state.js";

/** Where the data order stands: everything needed to continue the same sequence of micro-batches. */
export interface DataPosition {
  /** 0-based epoch being trained. */
  epoch: number;
  /** Micro-batches of that epoch already consumed (at an optimizer-step boundary). */
  position: number;
  dataSeed: number;
  datasetLength: number;
  batchSize: number;
}

/** The Trainer's bookkeeping (HF `TrainerState` + resume fields). */
export interface TrainerStateData {
  globalStep: number;
  epoch: number;
  maxSteps: number;
  numTrainEpochs: number;
  loggingSteps: number;
  evalSteps: number;
  saveSteps: number;
  trainBatchSize: number;
  logHistory: Record<string, number>[];
  bestMetric: number | null;
  bestModelCheckpoint: string | null;
  data: DataPosition;
  /** Sum of micro-batch losses / accumulation steps since the last log, and steps since then. */
  lossSinceLog: number;
  stepsSinceLog: number;
  earlyStoppingCounter: number;
  /** Sum of the step losses of every step of the run so far (resumed runs included): `trainLoss` is its mean. */
  totalLossSum: number;
  /** What the NaN guard compares against (health.ts); null until the first step. */
  guard: HealthReference | null;
  /** The newest checkpoint the NaN guard found healthy (kept by rotation), or null. */
  lastGoodCheckpoint: string | null;
  /** This checkpoint's health, measured when it was saved. */
  health?: CheckpointHealth;
}

export interface TrainingSnapshot {
  state: TrainerStateData;
  optimizer: AdamWState;
  schedule: ScheduleSpec & { stepsTaken: number };
  rng: number[];
  args: object;
}

/** HF's trainer_state.json keys (snake_case), with our resume fields under `paligemma_ts`. */
function stateToJson(s: TrainerStateData): object {
  return {
    best_metric: s.bestMetric,
    best_model_checkpoint: s.bestModelCheckpoint,
    epoch: s.epoch,
    eval_steps: s.evalSteps,
    global_step: s.globalStep,
    is_hyper_param_search: false,
    is_local_process_zero: true,
    is_world_process_zero: true,
    log_history: s.logHistory,
    logging_steps: s.loggingSteps,
    max_steps: s.maxSteps,
    num_input_tokens_seen: 0,
    num_train_epochs: s.numTrainEpochs,
    save_steps: s.saveSteps,
    stateful_callbacks: {},
    total_flos: 0,
    train_batch_size: s.trainBatchSize,
    trial_name: null,
    trial_params: null,
    paligemma_ts: {
      data: s.data,
      loss_since_log: s.lossSinceLog,
      steps_since_log: s.stepsSinceLog,
      early_stopping_counter: s.earlyStoppingCounter,
      total_loss_sum: s.totalLossSum,
      guard: s.guard,
      last_good_checkpoint: s.lastGoodCheckpoint,
      health: s.health,
    },
  };
}

function stateFromJson(j: any, file: string): TrainerStateData {
  const ours = j?.paligemma_ts;
  if (typeof j?.global_step !== "number" || !ours?.data) {
    throw new TrainingError(`${file}: not a paligemma-ts trainer state (no global_step / paligemma_ts.data); resume from a checkpoint this Trainer wrote`);
  }
  return {
    globalStep: j.global_step,
    epoch: j.epoch,
    maxSteps: j.max_steps,
    numTrainEpochs: j.num_train_epochs,
    loggingSteps: j.logging_steps,
    evalSteps: j.eval_steps,
    saveSteps: j.save_steps,
    trainBatchSize: j.train_batch_size,
    logHistory: j.log_history ?? [],
    bestMetric: j.best_metric ?? null,
    bestModelCheckpoint: j.best_model_checkpoint ?? null,
    data: ours.data,
    lossSinceLog: ours.loss_since_log ?? 0,
    stepsSinceLog: ours.steps_since_log ?? 0,
    earlyStoppingCounter: ours.early_stopping_counter ?? 0,
    // checkpoints written before total_loss_sum existed: NaN marks the sum unknown (trainLoss then covers this call)
    totalLossSum: typeof ours.total_loss_sum === "number" ? ours.total_loss_sum : NaN,
    guard: ours.guard ?? null,
    lastGoodCheckpoint: ours.last_good_checkpoint ?? null,
    health: ours.health,
  };
}

/** Write everything but the model files into `dir`. */
export async function saveTrainingState(dir: string, snap: TrainingSnapshot): Promise<void> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, h] of snap.optimizer.expAvg) tensors[`exp_avg.${name}`] = { dtype: "F32", shape: h.shape, data: h.data };
  for (const [name, h] of snap.optimizer.expAvgSq) tensors[`exp_avg_sq.${name}`] = { dtype: "F32", shape: h.shape, data: h.data };
  await saveSafetensors(join(dir, OPTIMIZER_FILE), tensors, { format: "pt", step: String(snap.optimizer.step) });
  const json = (o: unknown) => JSON.stringify(o, null, 2) + "\n";
  await writeFileAtomic(join(dir, SCHEDULER_FILE), json(snap.schedule));
  await writeFileAtomic(join(dir, RNG_FILE), json({ trainer: snap.rng }));
  await writeFileAtomic(join(dir, ARGS_FILE), json(snap.args));
  await writeFileAtomic(join(dir, TRAINER_STATE_FILE), json(stateToJson(snap.state)));
}

async function readJson(path: string): Promise<any> {
  let text: string;
  try {
    text = await readFile(path, "utf-8");
  } catch (e) {
    throw new TrainingError(`${path}: cannot be read (${(e as Error).message}); is this a complete checkpoint directory?`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TrainingError(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

/** Read what {@link saveTrainingState} wrote. */
export async function loadTrainingState(dir: string): Promise<Omit<TrainingSnapshot, "args">> {
  const state = stateFromJson(await readJson(join(dir, TRAINER_STATE_FILE)), join(dir, TRAINER_STATE_FILE));
  const schedule = await readJson(join(dir, SCHEDULER_FILE));
  const rngJson = await readJson(join(dir, RNG_FILE));
  const rng = rngJson?.trainer as number[];
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
    throw new TrainingError(`${join(dir, RNG_FILE)}: field "trainer": expected four uint32 words; got ${JSON.stringify(rng)?.slice(0, 80)}; the checkpoint is damaged: resume from another one`);
  }
  const file = await SafetensorsFile.open(join(dir, OPTIMIZER_FILE));
  try {
    const expAvg = new Map<string, { shape: number[]; data: Float32Array }>();
    const expAvgSq = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const key of file.keys()) {
      const h = await file.read(key);
      const [map, name] = key.startsWith("exp_avg_sq.") ? [expAvgSq, key.slice(11)] : [expAvg, key.slice(8)];
      map.set(name, { shape: h.shape, data: h.data as Float32Array });
    }
    return { state, schedule, rng, optimizer: { step: Number(file.metadata["step"] ?? state.globalStep), expAvg, expAvgSq } };
  } finally {
    await file.close();
  }
}

/** A resume must continue the same sequence of micro-batches: same dataset length, batch size and data seed. */
export function checkSameDataOrder(dir: string, saved: DataPosition, now: DataPosition): void {
  if (saved.datasetLength !== now.datasetLength || saved.batchSize !== now.batchSize || saved.dataSeed !== now.dataSeed) {
    throw new TrainingError(
      `${dir}: was trained with ${saved.datasetLength} examples, batch size ${saved.batchSize}, dataSeed ${saved.dataSeed}; ` +
        `now ${now.datasetLength}, ${now.batchSize}, ${now.dataSeed}. Resume with the same dataset and arguments, or start a new run.`,
    );
  }
}
