/**
 * Learning-rate schedules: the multipliers of HF `transformers.get_scheduler` (optimization.py, 4.47), as pure
 * functions of the optimizer step. The scheduler is stepped once per optimizer step, so step k (0-based) uses
 * `learningRate · lambda(k)`; with warmup that makes the very first step's rate 0, exactly as in HF.
 *
 *     const lr = learningRateAt({ type: "linear", baseLr: 2e-5, warmupSteps: 2, totalSteps: 100 }, step);
 */
import type { SchedulerType } from "./arguments.js";

export interface ScheduleSpec {
  type: SchedulerType;
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** HF's LambdaLR multiplier at step `step` (0-based; the number of optimizer steps already taken). */
export function lrLambda(type: SchedulerType, step: number, warmupSteps: number, totalSteps: number): number {
  const warm = step < warmupSteps ? step / Math.max(1, warmupSteps) : null;
  switch (type) {
    case "constant": // get_constant_schedule: warmup ignored
      return 1;
    case "constant_with_warmup":
      return warm ?? 1;
    case "linear":
      return warm ?? Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
    case "cosine": {
      if (warm !== null) return warm;
      const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
      const numCycles = 0.5; // HF default
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
    }
  }
}

/** The learning rate for the optimizer step that follows `step` steps already taken. */
export function learningRateAt(spec: ScheduleSpec, step: number): number {
  return spec.baseLr * lrLambda(spec.type, step, spec.warmupSteps, spec.totalSteps);
}
