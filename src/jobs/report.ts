/**
 * The job report: `report.json` (config, training curves, metrics before/after, per-sample predictions, warnings)
 * and `report.html`, one self-contained page (inline SVG charts and `data:` thumbnails, no script, no network)
 * built from display/ pieces (escaping html``, lineChartSvg, the evaluation report table, JSON diffs).
 *
 *     await writeJobReport("runs/2026-12-03T10-00-00", report); // report.json + report.html
 *     await renderReportHtml("runs/2026-12-03T10-00-00");       // report.html again from report.json
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { html, raw, formatNumber, formatDuration, type SafeHtml } from "../display/html.js";
import { lineChartSvg } from "../display/charts.js";
import { buildReport } from "../display/report.js";
import { reportHtml, jsonDiffHtml } from "../display/views.js";
import { diffJson } from "../display/jsondiff.js";
import type { SeriesPoint } from "../display/protocol.js";
import type { EvaluationReport } from "../generate/evaluate.js";
import type { TrainOutputMetrics } from "../train/events.js";
import type { RunConfig } from "./run-dir.js";

export const REPORT_JSON = "report.json";
export const REPORT_HTML = "report.html";

export interface PredictionRow {
  index: number;
  image: string;
  prefix: string;
  target: string;
  before?: string;
  after?: string;
  scoresBefore?: Record<string, number>;
  scoresAfter?: Record<string, number>;
}

export interface JobReport {
  version: 1;
  task: string | null;
  createdAt: string;
  /** Wall time of the whole job (or of training alone for `train`), seconds. */
  wallSeconds: number;
  /** Seconds per phase (synth, load, before, train, after, report). */
  timings?: Record<string, number>;
  config: RunConfig;
  /** Tokenized suffix lengths of the train split (+ <eos>) that set maxNewTokens. */
  suffixTokens?: { max: number; min?: number; mean: number };
  /** Examples per split. */
  data: Record<string, number>;
  /** Logged scalars by name (loss, learning_rate, grad_norm, eval_loss, eval_image_gap…) as step series. */
  curves: Record<string, SeriesPoint[]>;
  train: TrainOutputMetrics | null;
  /** Headline metrics on the test split. */
  metrics: { before: Record<string, number> | null; after: Record<string, number> | null };
  /** Full aggregates (with details) of the evaluations. */
  evaluations?: { before?: EvaluationReport["aggregates"]; after?: EvaluationReport["aggregates"] };
  predictions: PredictionRow[];
  warnings: string[];
}

/** Trainer log history → one series per scalar (step on x). */
export function curvesOf(history: readonly Record<string, number>[]): Record<string, SeriesPoint[]> {
  const out: Record<string, SeriesPoint[]> = {};
  for (const h of history) {
    const step = h["step"];
    if (step === undefined) continue;
    for (const [k, v] of Object.entries(h)) {
      if (k === "step" || k === "epoch" || k.endsWith("_runtime") || k.endsWith("_per_second") || !Number.isFinite(v)) continue;
      (out[k] ??= []).push({ step, value: v });
    }
  }
  return out;
}

/** Per-sample rows of the before and after evaluations, in dataset order. */
export function predictionRows(before: EvaluationReport | null, after: EvaluationReport | null): PredictionRow[] {
  const rows = new Map<number, PredictionRow>();
  const put = (r: EvaluationReport | null, side: "before" | "after") => {
    for (const row of r?.rows ?? []) {
      const p = rows.get(row.index) ?? { index: row.index, image: row.image, prefix: row.prefix, target: row.target };
      p[side] = row.prediction;
      p[side === "before" ? "scoresBefore" : "scoresAfter"] = row.scores;
      rows.set(row.index, p);
    }
  };
  put(before, "before");
  put(after, "after");
  return [...rows.values()].sort((a, b) => a.index - b.index);
}

function metricsTable(r: JobReport): SafeHtml {
  const keys = [...new Set([...Object.keys(r.metrics.before ?? {}), ...Object.keys(r.metrics.after ?? {})])];
  if (!keys.length) return html`<p>No test-split evaluation in this run (run <code>paligemma-ts evaluate RUN_DIR --data DATA_DIR</code>).</p>`;
  const cell = (v: number | undefined) => html`<td style="text-align:right;padding:2px 10px">${formatNumber(v, 4)}</td>`;
  return html`<table style="border-collapse:collapse"><thead><tr><th style="text-align:left">metric (test)</th><th>before</th><th>after</th><th>change</th></tr></thead><tbody>${keys.map((k) => {
    const b = r.metrics.before?.[k];
    const a = r.metrics.after?.[k];
    return html`<tr><td><code>${k}</code></td>${cell(b)}${cell(a)}${cell(a !== undefined && b !== undefined ? a - b : undefined)}</tr>`;
  })}</tbody></table>`;
}

function charts(r: JobReport): SafeHtml {
  const groups: [string, string[]][] = [["loss", ["loss", "eval_loss", "eval_shuffled_image_loss"]], ["eval_image_gap (shuffled − true eval loss)", ["eval_image_gap"]], ["learning_rate", ["learning_rate"]], ["grad_norm", ["grad_norm"]]];
  const svgs = groups.map(([title, names]) => {
    const series = names.filter((n) => r.curves[n]?.length).map((n) => ({ name: n, points: r.curves[n]! }));
    return series.length ? raw(lineChartSvg(series, { title, width: 420, height: 200 })) : "";
  });
  return html`<div style="display:flex;flex-wrap:wrap;gap:12px">${svgs}</div>`;
}

function predictionsTable(r: JobReport): SafeHtml {
  if (!r.predictions.length) return html``;
  const first = (s?: Record<string, number>) => (s ? Object.entries(s).map(([k, v]) => `${k} ${formatNumber(v, 3)}`).join(", ") : "");
  return html`<table style="border-collapse:collapse;font-size:12px"><thead><tr><th>#</th><th>target</th><th>before</th><th>after</th></tr></thead><tbody>${r.predictions.map((p) =>
    html`<tr style="border-top:1px solid #ddd;vertical-align:top"><td>${p.index}</td><td><code>${p.target}</code></td><td><code>${p.before ?? ""}</code><div style="opacity:.7">${first(p.scoresBefore)}</div></td><td><code>${p.after ?? ""}</code><div style="opacity:.7">${first(p.scoresAfter)}</div></td></tr>`)}</tbody></table>`;
}

/** report.json → the self-contained HTML page (thumbnails read from the image paths when they exist). */
export async function jobReportHtml(r: JobReport): Promise<string> {
  const title = `paligemma-ts run · ${r.task ?? "fine-tune"} · ${r.config.strategy} · ${r.createdAt}`;
  let samples: SafeHtml = html``;
  const after = r.predictions.filter((p) => p.after !== undefined);
  if (after.length) {
    const rows = after.map((p) => ({ index: p.index, image: p.image, prefix: p.prefix, target: p.target, prediction: p.after!, scores: p.scoresAfter ?? {} }));
    const payload = await buildReport({ rows, aggregates: r.metrics.after ?? {}, title: "after fine-tuning: test samples, worst first" }, { maxRows: 20, thumbnailSize: 128 })
      .catch(() => buildReport({ rows: rows.map(({ image: _drop, ...rest }) => rest), aggregates: r.metrics.after ?? {} }, { maxRows: 20 }));
    const diffs = r.task === "json" ? after.slice(0, 3).map((p) => raw(jsonDiffHtml(diffJson(p.target, p.after!)))) : [];
    samples = html`${raw(reportHtml(payload))}${diffs.length ? html`<h3>JSON differences (first samples)</h3>${diffs}` : ""}`;
  }
  const timings = r.timings ? Object.entries(r.timings).map(([k, v]) => `${k} ${formatDuration(v)}`).join(" · ") : "";
  const warnings = r.warnings.map((w) => html`<div style="color:#c62828">${w}</div>`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${html`${title}`.value}</title></head><body style="font-family:sans-serif;font-size:14px;margin:16px">` +
    html`<h1 style="font-size:18px">${title}</h1>
<p>wall time ${formatDuration(r.wallSeconds)}${timings ? ` (${timings})` : ""} · data ${Object.entries(r.data).map(([k, v]) => `${k} ${v}`).join(", ")} · maxNewTokens ${r.config.generation.maxNewTokens}${r.config.generation.minNewTokens !== undefined ? `, minNewTokens ${r.config.generation.minNewTokens}` : ""}${r.suffixTokens ? ` (train suffixes ${r.suffixTokens.min !== undefined ? `${r.suffixTokens.min}–` : "≤ "}${r.suffixTokens.max} tokens)` : ""} · beams ${r.config.generation.numBeams}</p>
${warnings}<h2 style="font-size:16px">Metrics</h2>${metricsTable(r)}<h2 style="font-size:16px">Training</h2>${charts(r)}
<h2 style="font-size:16px">Samples</h2>${samples}<h3>All test predictions, before and after</h3>${predictionsTable(r)}
<h2 style="font-size:16px">Configuration</h2><pre style="white-space:pre-wrap;font-size:12px">${JSON.stringify(r.config, null, 2)}</pre>`.value +
    `</body></html>\n`;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Write report.json and report.html into the run directory. */
export async function writeJobReport(runDir: string, r: JobReport): Promise<void> {
  await writeAtomically(join(runDir, REPORT_JSON), JSON.stringify(r, null, 2) + "\n");
  await writeAtomically(join(runDir, REPORT_HTML), await jobReportHtml(r));
}

export async function readJobReport(runDir: string): Promise<JobReport> {
  const file = join(runDir, REPORT_JSON);
  try {
    return JSON.parse(await readFile(file, "utf-8")) as JobReport;
  } catch (e) {
    throw new Error(`${file}: cannot be read (${(e as Error).message}); a run directory made by \`paligemma-ts train\` or \`npm start\` has one`);
  }
}

/** report.html from report.json (the `report` command). */
export async function renderReportHtml(runDir: string): Promise<string> {
  const file = join(runDir, REPORT_HTML);
  await writeAtomically(file, await jobReportHtml(await readJobReport(runDir)));
  return file;
}
