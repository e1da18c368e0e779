/**
 * The Trainer's event vocabulary as types (fixed, typed; fastai-style: display code lives outside the trainer).
 * A leaf module (no imports): the Trainer (src/train) emits these events and the displays (src/display, kernel/)
 * consume them, both importing from here, so there is one definition and no aliases.
 *
 * @example
 * import type { TrainerCallback } from "../events/trainer.js";
 * const cb: TrainerCallback = { onLog: (e) => console.log(e.step, e.loss, e.learningRate, e.gradNorm) };
 */

/** Training-progress record (one per `loggingSteps`). */
export interface LogEvent {
  step: number;
  /** Fractional epoch (HF `state.epoch`). */
  epoch: number;
  /** Mean micro-batch loss since the previous log. */
  loss: number;
  /** HF's logged `learning_rate`: the scheduler's rate after this step, i.e. the next step's rate. */
  learningRate: number;
  /** Global L2 norm of the accumulated gradients before clipping, at this step. */
  gradNorm: number;
  /** Training examples per second since the previous log. */
  samplesPerSecond: number;
}

export interface TrainerEventMap {
  trainBegin: { maxSteps: number; numEpochs: number; globalStep: number; trainableParameters: number; resumedFrom: string | null };
  epochBegin: { epoch: number };
  stepBegin: { step: number };
  /** After an optimizer step. `loss` is the mean of its micro-batch losses. */
  stepEnd: { step: number; epoch: number; loss: number; learningRate: number; gradNorm: number };
  log: LogEvent;
  /** Metrics of an evaluation (`eval_loss`, computeMetrics' keys prefixed `eval_`, timing). */
  evaluate: { step: number; epoch: number; metrics: Record<string, number> };
  save: { step: number; checkpoint: string };
  epochEnd: { epoch: number };
  /**
   * Last event of every run: "done" (maxSteps / epochs reached), "stopped" (early stopping or a callback's
   * `control.shouldTrainingStop`), "failed" (then `message` says why and `metrics` is null; train() rejects).
   * The Trainer always sets `status` (optional in the type only so that hand-made events stay valid).
   */
  trainEnd: { globalStep: number; status?: "done" | "stopped" | "failed"; message?: string; metrics: TrainOutputMetrics | null; bestModelCheckpoint: string | null };
}

export type TrainerEventType = keyof TrainerEventMap;

/** One event, tagged: `{ type: "log", step, loss, … }`. */
export type TrainerEvent = { [K in TrainerEventType]: { type: K } & TrainerEventMap[K] }[TrainerEventType];

/** Flags a callback may set, read by the trainer after each event (HF `TrainerControl`). */
export interface TrainerControl {
  shouldTrainingStop: boolean;
  /** Set in `onStepEnd`: evaluate (when there is an eval set) and/or save a checkpoint after this step, whatever
   * the strategies say (HF `control.should_evaluate` / `should_save`); the Trainer clears them after acting. */
  shouldEvaluate?: boolean;
  shouldSave?: boolean;
}

export type HandlerName<K extends string> = `on${Capitalize<K>}`;

/** A callbacks object: any subset of `onTrainBegin`, `onEpochBegin`, `onStepBegin`, `onStepEnd`, `onLog`, … */
export type TrainerCallback = {
  [K in TrainerEventType as HandlerName<K>]?: (event: TrainerEventMap[K], control: TrainerControl) => void | Promise<void>;
};

export interface TrainOutputMetrics {
  trainRuntime: number;
  trainSamplesPerSecond: number;
  trainStepsPerSecond: number;
  /** Mean micro-batch loss over the steps run in this call. */
  trainLoss: number;
  epoch: number;
}

/** Valid handler names, for checking callback objects. */
export const CALLBACK_NAMES = [
  "onTrainBegin", "onEpochBegin", "onStepBegin", "onStepEnd", "onLog", "onEvaluate", "onSave", "onEpochEnd", "onTrainEnd",
] as const;
