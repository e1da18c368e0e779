/**
 * Terminal progress bars for every long call, drawn from `ProgressEvent`s (src/events/progress.ts): training
 * (steps, ETA, loss, samples/s, eval_image_gap), evaluation and generation. On a TTY the bar is rewritten in place
 * and log lines are printed above it (tqdm.write); otherwise one line per begin/end and a throttled line per update.
 * (Same names as the display-side renderer planned in src/display/terminal.ts, so moving there is a swap.)
 *
 *     const bar = new TerminalProgress(process.stderr);
 *     await trainer.train();   // with new Trainer({ …, onProgress: bar.callback, logger: bar.logger })
 */
import type { ProgressCallback, ProgressEvent } from "../events/progress.js";
import { formatDuration, formatNumber } from "../display/html.js";

const SHOWN: [string, string][] = [
  ["loss", "loss"], ["eval_loss", "eval_loss"], ["eval_image_gap", "image gap"], ["learningRate", "lr"], ["json_field_f1", "field F1"],
  ["json_parse_rate", "parse"], ["map", "mAP"], ["map50", "mAP50"],
];

/** One line for an event: `train ████░░░░ 12/60 steps 20% · 0m31s<2m04s · 2.1 samples/s · loss 1.23 · image gap 0.41`. */
export function renderProgressLine(e: ProgressEvent, width = 24): string {
  const parts: string[] = [];
  const label = e.label && e.label !== e.task ? `${e.task} (${e.label})` : e.task;
  const frac = e.total ? Math.min(1, e.done / e.total) : null;
  const bar = frac === null ? "" : "█".repeat(Math.round(frac * width)) + "░".repeat(width - Math.round(frac * width));
  parts.push(`${label} ${bar} ${e.done}${e.total !== undefined ? `/${e.total}` : ""}${e.unit ? ` ${e.unit}s` : ""}${frac !== null ? ` ${Math.floor(frac * 100)}%` : ""}`.replace(/\s+/g, " ").trim());
  const elapsed = e.elapsedMs / 1000;
  const eta = frac && frac > 0 && frac < 1 ? (elapsed * (1 - frac)) / frac : null;
  parts.push(eta !== null && e.phase !== "end" ? `${formatDuration(elapsed)}<${formatDuration(eta)}` : formatDuration(elapsed));
  const m = e.metrics ?? {};
  const perSecond = m["samplesPerSecond"] ?? (e.done > 0 && elapsed > 0 ? e.done / elapsed : undefined);
  if (perSecond !== undefined && Number.isFinite(perSecond)) parts.push(`${formatNumber(perSecond, 3)} ${m["samplesPerSecond"] !== undefined ? "samples" : `${e.unit ?? "it"}s`}/s`);
  for (const [k, name] of SHOWN) if (m[k] !== undefined && Number.isFinite(m[k])) parts.push(`${name} ${formatNumber(m[k], 4)}`);
  if (e.error) parts.push(`failed: ${e.error}`);
  return parts.join(" · ");
}

/** Where lines go. */
export interface LineSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class TerminalProgress {
  private current: string | null = null;
  private lastDraw = 0;

  constructor(
    private readonly out: LineSink,
    private readonly options: { intervalMs?: number; now?: () => number } = {},
  ) {}

  /** Pass as `onProgress`. */
  readonly callback: ProgressCallback = (e) => this.draw(e);

  /** Pass as the Trainer's `logger`: lines printed above the bar. */
  readonly logger = { info: (l: string) => this.line(l), warn: (l: string) => this.line(l) };

  /** Print a line without breaking the bar. */
  line(text: string): void {
    if (this.out.isTTY && this.current !== null) this.out.write(`\r\x1b[2K${text}\n${this.current}`);
    else this.out.write(`${text}\n`);
  }

  private draw(e: ProgressEvent): void {
    const now = (this.options.now ?? Date.now)();
    const line = renderProgressLine(e);
    if (this.out.isTTY) {
      if (e.phase === "update" && now - this.lastDraw < (this.options.intervalMs ?? 100)) return;
      this.lastDraw = now;
      this.out.write(`\r\x1b[2K${line}${e.phase === "end" ? "\n" : ""}`);
      this.current = e.phase === "end" ? null : line;
      return;
    }
    if (e.phase === "update" && now - this.lastDraw < (this.options.intervalMs ?? 10_000)) return;
    this.lastDraw = now;
    this.out.write(`${line}\n`);
  }
}
