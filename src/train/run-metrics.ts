/**
 * The figures a finished `train()` reports (HF 4.47 `TrainOutput.metrics`, `speed_metrics("train", …)`), and their
 * HF log-history spelling.
 */
import type { TrainOutputMetrics } from "./events.js";
import type { TrainerStateData } from "./state.js";

export interface RunTotals {
  runtimeSeconds: number;
  /** Examples and optimizer steps of this `train()` call, and the sum of its step losses. */
  samples: number;
  steps: number;
  lossSum: number;
}

export function trainOutputMetrics(state: TrainerStateData, run: RunTotals): TrainOutputMetrics {
  const { runtimeSeconds: runtime, steps } = run;
  return {
    trainRuntime: runtime,
    trainSamplesPerSecond: run.samples / runtime,
    trainStepsPerSecond: steps / runtime,
    // The mean step loss over every step of the run, resumed steps included (issue 13.10). HF 4.47.1 computes
    // `train_loss = self._total_loss_scalar / max(self.state.global_step, 0.001)` (trainer.py, after the loop),
    // with `_total_loss_scalar` reset to 0 in each `train()` call: after a resume it divides this call's loss
    // sum by all steps, which is neither mean. We keep the sum in the checkpoint and report the true mean; it
    // equals HF's figure for a run without resume. (Checkpoints without the sum: the mean over this call.)
    trainLoss: Number.isFinite(state.totalLossSum) && state.globalStep > 0 ? state.totalLossSum / state.globalStep : steps ? run.lossSum / steps : NaN,
    epoch: state.epoch,
  };
}

/** HF's log-history keys for the final metrics (`train_runtime`, `train_samples_per_second`, …, `epoch`). */
export function trainMetricsLog(m: TrainOutputMetrics): Record<string, number> {
  return { train_runtime: m.trainRuntime, train_samples_per_second: m.trainSamplesPerSecond, train_steps_per_second: m.trainStepsPerSecond, train_loss: m.trainLoss, epoch: m.epoch };
}
