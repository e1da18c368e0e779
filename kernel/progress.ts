/**
 * Live progress for any long call in a notebook: evaluation, generation over a dataset, dataset loading (training
 * has its dashboard, live.ts). `liveProgress()` returns a callback to pass as the call's `onProgress`; it draws the
 * `ProgressEvent`s (src/events/progress.ts) as ONE output updated in place, at most every `intervalMs`, and always
 * on `begin` and `end`, so the saved notebook keeps the final state. The terminal draws the same events with
 * `TerminalProgress` (src/display/terminal.ts).
 *
 * @example
 * import { liveProgress } from "paligemma-ts/kernel";
 * const report = await evaluateModel(model, processor, valid, { metrics: ["map"], onProgress: liveProgress({ label: "valid" }) });
 */
import { ProgressState, Throttle, progressBundle, type ProgressPayload } from "../src/display/index.js";
import { PROGRESS_TASKS, type ProgressEvent, type ProgressTask } from "../src/events/progress.js";
import { LiveOutput } from "./transport.js";

export interface LiveProgressOptions {
  /** Label shown beside the task (overrides the events' own). */
  label?: string;
  /** Minimum ms between updates. Default 250. */
  intervalMs?: number;
  /** Clock in ms (tests inject one). Default `Date.now`. */
  now?: () => number;
  /**
   * For callers that report `(done, total)` instead of events (e.g. an `onProgress?: (done, total) => void`
   * option): the task and unit those calls stand for. Default "evaluate", "sample".
   */
  task?: ProgressTask;
  unit?: string;
}

/**
 * The callback `liveProgress` returns: takes `ProgressEvent`s, or `(done, total)` pairs (turned into events of
 * `options.task`), so it fits either kind of `onProgress` option.
 */
export interface LiveProgress {
  (event: ProgressEvent): void;
  (done: number, total?: number): void;
  /** The latest payload drawn (null before the first event). */
  readonly state: () => ProgressPayload | null;
  /** Updates actually sent. */
  readonly updates: () => number;
  readonly output: LiveOutput;
}

export function liveProgress(options: LiveProgressOptions = {}): LiveProgress {
  const now = options.now ?? Date.now;
  const throttle = new Throttle(options.intervalMs ?? 250, now);
  const output = new LiveOutput();
  const task = options.task ?? "evaluate";
  if (!(PROGRESS_TASKS as readonly string[]).includes(task)) throw new RangeError(`liveProgress: task ${JSON.stringify(task)}; use one of ${PROGRESS_TASKS.join(", ")}`);
  let state = new ProgressState();
  let sent = 0;
  let pairStart: number | null = null;

  const draw = (e: ProgressEvent) => {
    if (e.phase === "begin") state = new ProgressState();
    const p = state.update(options.label !== undefined ? { ...e, label: options.label } : e);
    if (!throttle.ready(e.phase !== "update")) return;
    output.update(progressBundle(p));
    sent++;
  };

  const callback = ((a: ProgressEvent | number, total?: number) => {
    if (typeof a === "object" && a !== null) return draw(a);
    // (done, total): a begin before the first pair, an end when done reaches total.
    if (pairStart === null) {
      pairStart = now();
      draw({ task, phase: "begin", done: 0, total, unit: options.unit ?? "sample", elapsedMs: 0 });
    }
    const finished = total !== undefined && a >= total;
    draw({ task, phase: finished ? "end" : "update", done: a, total, unit: options.unit ?? "sample", elapsedMs: now() - pairStart });
    if (finished) pairStart = null;
  }) as LiveProgress;
  Object.defineProperties(callback, {
    state: { value: () => state.payload() },
    updates: { value: () => sent },
    output: { value: output },
  });
  return callback;
}
