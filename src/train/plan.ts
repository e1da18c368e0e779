/**
 * How long a training run is, from the arguments and the dataset size (HF 4.47 `Trainer._inner_training_loop`):
 * micro-batches per epoch, optimizer steps per epoch (÷ gradient accumulation, at least 1), `maxSteps` (given, or
 * epochs × updates per epoch), epochs to iterate, and the learning-rate schedule over those steps.
 *
 *     const plan = trainingPlan(args, dataset.length); // { batchesPerEpoch, maxSteps, numEpochs, schedule }
 */
import type { TrainingArguments } from "./arguments.js";
import { microBatches } from "./data-order.js";
import type { ScheduleSpec } from "./schedule.js";
import { TrainingError } from "./errors.js";

export interface TrainingPlan {
  batchesPerEpoch: number;
  maxSteps: number;
  numEpochs: number;
  schedule: ScheduleSpec;
}

export function trainingPlan(args: TrainingArguments, datasetLength: number): TrainingPlan {
  const batchesPerEpoch = microBatches(Array.from({ length: datasetLength }, (_, i) => i), args.perDeviceTrainBatchSize, args.dataloaderDropLast).length;
  if (batchesPerEpoch === 0) throw new TrainingError(`Trainer.train: ${datasetLength} examples make no full batch of ${args.perDeviceTrainBatchSize} with dataloaderDropLast`);
  const updatesPerEpoch = Math.max(Math.floor(batchesPerEpoch / args.gradientAccumulationSteps), 1);
  const maxSteps = args.maxSteps > 0 ? args.maxSteps : Math.ceil(args.numTrainEpochs * updatesPerEpoch);
  const numEpochs = args.maxSteps > 0 ? Math.ceil(args.maxSteps / updatesPerEpoch) : Math.ceil(args.numTrainEpochs);
  const schedule: ScheduleSpec = { type: args.lrSchedulerType, baseLr: args.learningRate, warmupSteps: args.warmupStepsFor(maxSteps), totalSteps: maxSteps };
  return { batchesPerEpoch, maxSteps, numEpochs, schedule };
}
