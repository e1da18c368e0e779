/**
 * Progress of one long call (training, evaluation, generation, dataset loading, pretraining): the one vocabulary
 * that every display consumes. Producers (the Trainer, evaluateModel, generate over a dataset, loadDataset) emit
 * `ProgressEvent`s through an `onProgress` option; the terminal renderer (CLI) and the notebook renderer (kernel)
 * draw the same events. A leaf module: no imports, so train, generate, data and display may all depend on it.
 *
 * @example
 * const onProgress: ProgressCallback = (e) => console.log(e.task, e.phase, `${e.done}/${e.total ?? "?"}`);
 * onProgress({ task: "evaluate", phase: "begin", done: 0, total: 10, unit: "sample", elapsedMs: 0 });
 */

/** The kinds of long call that report progress. */
export const PROGRESS_TASKS = ["train", "evaluate", "generate", "load", "pretrain"] as const;
export type ProgressTask = (typeof PROGRESS_TASKS)[number];

/** `begin` once, any number of `update`s, `end` once (also when the call fails: then `error` says why). */
export type ProgressPhase = "begin" | "update" | "end";

export interface ProgressEvent {
  task: ProgressTask;
  phase: ProgressPhase;
  /** Units finished so far (steps for training, samples for evaluation/loading, tokens for generation). */
  done: number;
  /** Units in all, when known. */
  total?: number;
  /** What `done` counts: "step", "sample", "token", "batch", "file". */
  unit?: string;
  /** Free-form label for the display ("eval on valid", "beam search (3 beams)"). */
  label?: string;
  /** Latest scalars worth showing beside the bar (loss, learningRate, samplesPerSecond, eval metrics). */
  metrics?: Record<string, number>;
  /** Milliseconds since `begin`. */
  elapsedMs: number;
  /** Set on a failed `end`. */
  error?: string;
}

export type ProgressCallback = (event: ProgressEvent) => void;

/**
 * Emits a well-formed begin/update/end sequence for one call, stamping `elapsedMs` from one clock; a no-op when
 * no callback is given, so producers can always call it.
 */
export class ProgressEmitter {
  private readonly start: number;
  private ended = false;

  constructor(
    private readonly callback: ProgressCallback | undefined,
    private readonly base: { task: ProgressTask; total?: number; unit?: string; label?: string },
    private readonly now: () => number = Date.now,
  ) {
    this.start = now();
    this.emit("begin", 0);
  }

  /** Reports `done` units finished, with optional scalars. */
  update(done: number, metrics?: Record<string, number>): void {
    this.emit("update", done, metrics);
  }

  /** Reports the end (once; later calls are ignored). */
  end(done: number, metrics?: Record<string, number>, error?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.emit("end", done, metrics, error);
  }

  private emit(phase: ProgressPhase, done: number, metrics?: Record<string, number>, error?: string): void {
    if (!this.callback) return;
    const event: ProgressEvent = { ...this.base, phase, done, elapsedMs: this.now() - this.start };
    if (metrics) event.metrics = metrics;
    if (error !== undefined) event.error = error;
    this.callback(event);
  }
}
