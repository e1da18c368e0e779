/**
 * Progress of any long call (training, evaluation, generation, dataset loading) in a terminal, from the same
 * `ProgressEvent`s (src/events/progress.ts) the notebook view draws. `renderProgressLine` is pure (event in, string
 * out); `TerminalProgress` writes those lines to a stream: rewritten in place with `\r` on a TTY (at most every
 * `intervalMs`), one line per ~10 % otherwise (logs and CI stay short; every `logIntervalMs` when the total is
 * unknown), always the first and the last; `line()`/`logger` print log lines above the bar.
 *
 * @example
 * const bar = new TerminalProgress(process.stderr);
 * await evaluateModel(model, processor, data, { metrics, onProgress: bar.callback });
 * bar.line("saved run/checkpoint-100"); // printed above the bar, which is redrawn below it (tqdm.write)
 * renderProgressLine({ task: "load", phase: "update", done: 3, total: 12, unit: "file", elapsedMs: 1500 });
 * // "load 25% |█████               | 3/12 files · 2 files/s · ETA 5s"
 */
import type { ProgressCallback, ProgressEvent } from "../events/progress.js";
import { progressPayload, progressText } from "./progress.js";

export interface ProgressLineOptions {
  /** Bar width in characters (0: no bar). Default 20. */
  barWidth?: number;
  /** Metrics remembered from earlier events of the call (shown when this event has none). */
  metrics?: Record<string, number>;
}

/** One event → one line of text (no newline, no control characters). */
export function renderProgressLine(event: ProgressEvent, options: ProgressLineOptions = {}): string {
  const p = progressPayload(event, options.metrics);
  const line = progressText(p);
  const width = options.barWidth ?? 20;
  if (!p.total || width <= 0) return line;
  const filled = Math.round((width * Math.min(p.done, p.total)) / p.total);
  const bar = `|${"█".repeat(filled)}${" ".repeat(width - filled)}|`;
  // The bar goes after the percentage: "evaluate  45% |█████     | 9/20 samples · …".
  return line.replace(/(\d+%) /, `$1 ${bar} `);
}

/** Where lines go: a stream (`isTTY` decides in-place rewriting). */
export interface LineSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface TerminalProgressOptions extends ProgressLineOptions {
  /** Minimum ms between in-place redraws on a TTY. Default 100. */
  intervalMs?: number;
  /** Not a TTY and no total known: minimum ms between lines. Default 10 000. */
  logIntervalMs?: number;
  /** Clock in ms (tests inject one). Default `Date.now`. */
  now?: () => number;
}

/** Draws a stream of `ProgressEvent`s; pass `callback` as any long call's `onProgress` option. */
export class TerminalProgress {
  /** Lines written (in place or not). */
  lines = 0;
  /** The in-place line currently shown on a TTY (redrawn under lines printed with `line`). */
  private current: string | null = null;
  private metrics: Record<string, number> = {};
  private lastDraw = -Infinity;
  private lastDecile = -1;
  private readonly now: () => number;

  constructor(
    private readonly out: LineSink,
    private readonly options: TerminalProgressOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The `onProgress` callback (bound: safe to pass around). */
  readonly callback: ProgressCallback = (e) => this.draw(e);

  /** For a `logger` option (the Trainer's): its lines go above the bar. */
  readonly logger = { info: (l: string) => this.line(l), warn: (l: string) => this.line(l) };

  /** Prints a line without breaking the bar: on a TTY the bar is redrawn below it (tqdm's `write`). */
  line(text: string): void {
    if (this.out.isTTY && this.current !== null) this.out.write(`\r\x1b[2K${text}\n${this.current}`);
    else this.out.write(`${text}\n`);
  }

  private draw(e: ProgressEvent): void {
    if (e.phase === "begin") {
      this.metrics = {};
      this.lastDecile = -1;
      this.lastDraw = -Infinity;
    }
    const line = renderProgressLine(e, { ...this.options, metrics: this.metrics });
    this.metrics = { ...this.metrics, ...(e.metrics ?? {}) };
    const last = e.phase === "end";
    if (this.out.isTTY) {
      const t = this.now();
      if (!last && e.phase !== "begin" && t - this.lastDraw < (this.options.intervalMs ?? 100)) return;
      this.lastDraw = t;
      this.out.write(`\r\x1b[2K${line}${last ? "\n" : ""}`);
      this.current = last ? null : line;
    } else {
      // One line per ~10 %: the first event, each new decile, the end; unknown totals: one line per `logIntervalMs`.
      const t = this.now();
      const decile = e.total ? Math.floor((10 * Math.min(e.done, e.total)) / e.total) : -1;
      const due = e.total ? decile > this.lastDecile : t - this.lastDraw >= (this.options.logIntervalMs ?? 10_000);
      if (!last && e.phase !== "begin" && !due) return;
      this.lastDecile = Math.max(this.lastDecile, decile);
      this.lastDraw = t;
      this.out.write(`${line}\n`);
    }
    this.lines++;
  }

  /** Ends an in-place line left open (a call that never sent `end`). */
  close(): void {
    if (this.current !== null && this.out.isTTY) this.out.write("\n");
    this.current = null;
  }
}
