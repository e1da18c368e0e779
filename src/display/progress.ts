/**
 * Progress of one long call as data: `ProgressEvent`s (src/events/progress.ts) → a `ProgressPayload` for the
 * notebook view, and the one-line summary the terminal and the text fallback print. Pure: no clock, no stream (the
 * rate and ETA come from the event's own `elapsedMs`).
 *
 * @example
 * const s = new ProgressState();
 * s.update({ task: "evaluate", phase: "update", done: 5, total: 20, unit: "sample", elapsedMs: 2000 });
 * progressText(s.payload()); // "evaluate 25% 5/20 samples · 2.5 samples/s · ETA 6s"
 */
import type { ProgressEvent } from "../events/progress.js";
import type { ProgressPayload } from "./protocol.js";
import { DisplayError, describeValue } from "./errors.js";
import { formatDuration, formatNumber } from "./html.js";

/** One event (plus the metrics seen before it) → the payload it shows. */
export function progressPayload(e: ProgressEvent, metrics: Record<string, number> = {}): ProgressPayload {
  if (typeof e !== "object" || e === null || typeof e.task !== "string" || !Number.isFinite(e.done)) throw new DisplayError("progress", `expected a ProgressEvent { task, phase, done, elapsedMs }; got ${describeValue(e)}`);
  const seconds = Math.max(0, (e.elapsedMs ?? 0) / 1000);
  const total = e.total !== undefined && Number.isFinite(e.total) ? e.total : null;
  const rate = seconds > 0 && e.done > 0 ? e.done / seconds : null;
  const status = e.phase === "end" ? (e.error !== undefined ? "failed" : "done") : "running";
  const eta = status !== "running" ? 0 : rate !== null && total !== null ? Math.max(0, (total - e.done) / rate) : null;
  const p: ProgressPayload = {
    version: 1,
    view: "progress",
    task: e.task,
    status,
    done: e.done,
    total,
    unit: e.unit ?? null,
    elapsedSeconds: seconds,
    etaSeconds: eta,
    rate,
    metrics: { ...metrics, ...(e.metrics ?? {}) },
  };
  if (e.label !== undefined) p.label = e.label;
  if (e.error !== undefined) p.error = e.error;
  return p;
}

/** Accumulates one call's events (metrics persist between events that omit them). */
export class ProgressState {
  private last: ProgressPayload | null = null;

  update(e: ProgressEvent): ProgressPayload {
    this.last = progressPayload(e, e.phase === "begin" ? {} : this.last?.metrics);
    return this.last;
  }

  /** The latest payload (null before the first event). */
  payload(): ProgressPayload | null {
    return this.last && { ...this.last, metrics: { ...this.last.metrics } };
  }
}

const plural = (unit: string | null, n: number) => (unit ? ` ${unit}${n === 1 || unit.endsWith("s") ? "" : "s"}` : "");

/** `evaluate eval on valid  45% 9/20 samples · 3.1 samples/s · ETA 3s · loss 2.31` (the fraction part omitted when the total is unknown). */
export function progressText(p: ProgressPayload): string {
  const head = p.label ? `${p.task} ${p.label}` : p.task;
  const pct = p.total ? ` ${String(Math.floor((100 * Math.min(p.done, p.total)) / p.total)).padStart(3)}%` : "";
  const parts = [`${head}${pct} ${p.done}${p.total !== null ? `/${p.total}` : ""}${plural(p.unit, p.total ?? p.done)}`];
  if (p.rate !== null) parts.push(`${formatNumber(p.rate, 3)}${p.unit ? ` ${p.unit}s` : ""}/s`);
  if (p.status === "running") {
    if (p.etaSeconds !== null) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  } else parts.push(`${p.status === "failed" ? "failed" : "done"} in ${formatDuration(p.elapsedSeconds)}`);
  for (const [k, v] of Object.entries(p.metrics)) {
    if (k === "samplesPerSecond" && p.unit === "sample" && p.rate !== null) continue; // the rate above already says it
    parts.push(`${k} ${formatNumber(v, 4)}`);
  }
  if (p.error) parts.push(`error: ${p.error}`);
  return parts.join(" · ").replace(/\s+/g, " ").trim();
}
