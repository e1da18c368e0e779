/**
 * What an evaluation during training decides (HF 4.47 `Trainer._determine_best_metric` and
 * `EarlyStoppingCallback.on_evaluate`): whether the tracked metric improved on the best so far (then this step's
 * checkpoint becomes the best one), and whether early stopping's patience ran out (compared against the previous
 * best, with `earlyStoppingThreshold`).
 *
 *     const { stop } = judgeEvaluation(metrics, state, args); // updates state.bestMetric / bestModelCheckpoint / counter
 */
import type { TrainingArguments } from "./arguments.js";
import { checkpointDir } from "./checkpoint.js";
import { TrainingError } from "./errors.js";
import type { TrainerStateData } from "./state.js";

/** Update `state` from the evaluation `metrics`; `stop` says early stopping ends the run. No-op without a metric. */
export function judgeEvaluation(metrics: Record<string, number>, state: TrainerStateData, args: TrainingArguments): { stop: boolean } {
  if (args.metricForBestModel === null) return { stop: false };
  const key = args.metricForBestModel.startsWith("eval_") ? args.metricForBestModel : `eval_${args.metricForBestModel}`;
  const value = metrics[key];
  if (value === undefined) {
    throw new TrainingError(`metricForBestModel: "${key}" is not among the evaluation metrics (${Object.keys(metrics).join(", ")}); change metricForBestModel or computeMetrics`);
  }
  const better = (a: number, b: number) => (args.greaterIsBetter ? a > b : a < b);
  let stop = false;
  if (args.earlyStoppingPatience !== null) { // HF EarlyStoppingCallback.on_evaluate: against the previous best
    const improved = state.bestMetric === null || (better(value, state.bestMetric) && Math.abs(value - state.bestMetric) > args.earlyStoppingThreshold);
    state.earlyStoppingCounter = improved ? 0 : state.earlyStoppingCounter + 1;
    stop = state.earlyStoppingCounter >= args.earlyStoppingPatience;
  }
  if (state.bestMetric === null || better(value, state.bestMetric)) { // HF _determine_best_metric
    state.bestMetric = value;
    state.bestModelCheckpoint = checkpointDir(args.outputDir, state.globalStep);
  }
  return { stop };
}
