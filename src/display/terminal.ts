/**
 * The trainer's events as a terminal progress line (the CLI's view of the same `TrainingProgress` the notebook
 * dashboard shows): rewritten in place on a TTY, one line per update otherwise, throttled like the notebook.
 *
 * @example
 * const bar = new TerminalProgress(process.stderr, { totalSteps: 100 });
 * trainer.on(bar); // onStepEnd/onLog/onEvaluate/onTrainEnd
 */
import { TrainingProgress, Throttle, type TrainingEvents, type TrainingProgressOptions, type StepEndEvent, type LogEvent, type EvaluateEvent, type SaveEvent, type TrainEndEvent, type TrainBeginEvent } from "./training.js";
import { formatProgressLine } from "./views.js";

/** Where lines go: a stream (`isTTY` decides in-place rewriting). */
export interface LineSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class TerminalProgress implements TrainingEvents {
  readonly progress: TrainingProgress;
  private readonly throttle: Throttle;

  constructor(
    private readonly out: LineSink,
    options: TrainingProgressOptions & { intervalMs?: number } = {},
  ) {
    this.progress = new TrainingProgress(options);
    this.throttle = new Throttle(options.intervalMs ?? 500, options.now);
  }

  onTrainBegin(e: TrainBeginEvent): void {
    this.progress.onTrainBegin(e);
  }
  onStepEnd(e: StepEndEvent): void {
    this.progress.onStepEnd(e);
    this.draw(false);
  }
  onLog(e: LogEvent): void {
    this.progress.onLog(e);
    this.draw(false);
  }
  onEvaluate(e: EvaluateEvent): void {
    this.progress.onEvaluate(e);
    this.draw(true);
    const m = this.progress.payload().evaluation!;
    this.out.write(`${this.out.isTTY ? "\n" : ""}eval @ step ${m.step}: ${Object.entries(m.metrics).map(([k, v]) => `${k} ${v}`).join(", ")}\n`);
  }
  onSave(e: SaveEvent): void {
    this.progress.onSave(e);
  }
  onTrainEnd(e: TrainEndEvent): void {
    this.progress.onTrainEnd(e);
    this.draw(true);
    if (this.out.isTTY) this.out.write("\n");
  }

  private draw(force: boolean): void {
    if (!this.throttle.ready(force)) return;
    const line = formatProgressLine(this.progress.payload());
    this.out.write(this.out.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}
