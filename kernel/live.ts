/**
 * Live training display: the trainer's events render as ONE output updated in place (`update_display_data`),
 * at most twice a second, and always once more at the end, so the saved notebook keeps the final state (vendor
 * JSON for the extension's dashboard, HTML with inline SVG curves for everything else).
 *
 * @example
 * import { liveTraining } from "paligemma-ts/kernel";
 * const live = liveTraining({ maxSteps: 200, title: "LoRA r=8" });
 * trainer.addCallback(live); // or call live.onLog({ step, loss, learningRate, epoch }) yourself
 */
import { TrainingProgress, Throttle, trainingBundle, type TrainingEvents, type TrainingProgressOptions, type TrainBeginEvent, type StepEndEvent, type LogEvent, type EvaluateEvent, type SaveEvent, type TrainEndEvent } from "../src/display/index.js";
import { LiveOutput } from "./transport.js";

export interface LiveTrainingOptions extends TrainingProgressOptions {
  /** Minimum time between updates in ms. Default 500 (≤ 2 updates/s). */
  intervalMs?: number;
}

/** Event handlers that keep one dashboard output up to date. */
export class LiveTraining implements TrainingEvents {
  readonly progress: TrainingProgress;
  readonly output = new LiveOutput();
  private readonly throttle: Throttle;
  /** Updates actually sent (tests and curiosity). */
  updates = 0;

  constructor(options: LiveTrainingOptions = {}) {
    this.progress = new TrainingProgress(options);
    this.throttle = new Throttle(options.intervalMs ?? 500, options.now);
    this.render(true);
  }

  onTrainBegin(e: TrainBeginEvent): void {
    this.progress.onTrainBegin(e);
    this.render(false);
  }
  onStepEnd(e: StepEndEvent): void {
    this.progress.onStepEnd(e);
    this.render(false);
  }
  onLog(e: LogEvent): void {
    this.progress.onLog(e);
    this.render(false);
  }
  onEvaluate(e: EvaluateEvent): void {
    this.progress.onEvaluate(e);
    this.render(true);
  }
  onSave(e: SaveEvent): void {
    this.progress.onSave(e);
    this.render(false);
  }
  onTrainEnd(e: TrainEndEvent = {}): void {
    this.progress.onTrainEnd(e);
    this.render(true);
  }

  /** Sends the current state now (bypassing the throttle). */
  flush(): void {
    this.render(true);
  }

  private render(force: boolean): void {
    if (!this.throttle.ready(force)) return;
    this.output.update(trainingBundle(this.progress.payload()));
    this.updates++;
  }
}

/** A live dashboard output for a training run (see `LiveTraining`). */
export function liveTraining(options: LiveTrainingOptions = {}): LiveTraining {
  return new LiveTraining(options);
}
