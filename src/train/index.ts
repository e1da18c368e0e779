/** Training: arguments, AdamW, schedules, the Trainer and its events, checkpoints, job export. Re-exports only. */
export {
  TrainingArguments,
  TRAINING_ARGUMENTS_DEFAULTS,
  TRAINING_ARGUMENT_NAMES,
  IGNORED_FIELDS,
  type TrainingArgumentsInit,
  type TrainingArgumentsFields,
  type SchedulerType,
  type IntervalStrategy,
  type LogLevel,
  LOG_LEVELS,
} from "./arguments.js";
export { formatLogDict, pyFloat, leveledLogger, CONSOLE_LOGGER, type TrainerLogger } from "./log-lines.js";
export { shuffledImages, imageGapWarning, IMAGE_GAP_WARN_BELOW } from "./image-gap.js";
export { AdamW, decayParameter, type AdamWOptions, type AdamWState } from "./adamw.js";
export { lrLambda, learningRateAt, type ScheduleSpec } from "./schedule.js";
export { GradAccumulator, globalNorm } from "./grads.js";
export { withLeanTape, SavedShape, SHAPE_ONLY_GRADIENT_KERNELS } from "./lean-tape.js";
export { Rng, epochOrder, microBatches } from "./data-order.js";
export {
  EventChannel,
  CALLBACK_NAMES,
  type TrainerEvent,
  type TrainerEventMap,
  type TrainerEventType,
  type TrainerCallback,
  type TrainerControl,
  type LogEvent,
  type TrainOutputMetrics,
} from "./events.js";
export { listCheckpoints, lastCheckpoint, partialCheckpoints, rotateCheckpoints, checkpointDir, type CheckpointEntry } from "./checkpoint.js";
export { type TrainerStateData, type DataPosition } from "./state.js";
export { type EvalPrediction, type ComputeMetrics } from "./evaluate.js";
export { Trainer, type TrainerInit, type TrainOptions, type TrainOutput } from "./trainer.js";
export { TrainingError, NonFiniteLossError } from "./errors.js";
export { levenshtein, nearestName } from "../util/suggest.js";
export { exportTrainingJob, trainingJobJson, toHfTrainingArguments, camelToSnake, NO_DECAY_PATTERNS, type TrainingJobSpec } from "./export.js";
