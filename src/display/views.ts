/**
 * Static fallbacks (`text/html` and `text/plain`) for the JSON-diff, training, report and dataset views: what
 * nbconvert, GitHub and a JupyterLab without the extension show. Self-contained HTML: inline styles, inline SVG
 * and `data:` images, no script, no CDN; every untrusted string escaped (see html.ts).
 *
 * @example
 * jsonDiffHtml(diffJson({ a: 1 }, { a: 2 })); // "<div class=\"pgts-jsondiff\">…changed…</div>"
 */
import type { DatasetPayload, DiffNode, DiffStatus, JsonDiffPayload, JsonValue, ReportPayload, TrainingPayload } from "./protocol.js";
import { html, raw, formatDuration, formatNumber, type SafeHtml } from "./html.js";
import { lineChartSvg } from "./charts.js";

/** Colours per diff status (readable on light and dark backgrounds). */
export const DIFF_COLORS: Record<DiffStatus, string> = { equal: "#2e7d32", changed: "#e65100", missing: "#c62828", extra: "#1565c0" };
const MARK: Record<DiffStatus, string> = { equal: "=", changed: "~", missing: "−", extra: "+" };
const BOX = "font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;line-height:1.4";

function value(v: JsonValue | undefined): string {
  return v === undefined ? "" : JSON.stringify(v);
}

function nodeHtml(n: DiffNode): SafeHtml {
  const label = n.key === null ? "$" : typeof n.key === "number" ? `[${n.key}]` : n.key;
  const color = DIFF_COLORS[n.status];
  const head = html`<span style="color:${color};font-weight:bold" title="${n.status}">${MARK[n.status]}</span> <b>${label}</b>`;
  if (n.children && n.children.length > 0) {
    const items = n.children.map((c) => html`<li>${nodeHtml(c)}</li>`);
    const summary = html`${head} <span style="opacity:.7">${n.kind === "array" ? `[${n.children.length}]` : `{${n.children.length}}`}</span>`;
    // Unchanged subtrees start collapsed.
    return html`<details data-path="${n.path}" data-status="${n.status}"${raw(n.status === "equal" ? "" : " open")}><summary>${summary}</summary><ul style="list-style:none;margin:0;padding-left:1.2em">${items}</ul></details>`;
  }
  let body: SafeHtml;
  if (n.status === "changed") body = html`<s style="color:${DIFF_COLORS.missing}">${value(n.expected)}</s> → <span style="color:${DIFF_COLORS.extra}">${value(n.actual)}</span>`;
  else if (n.status === "missing") body = html`<span style="color:${color}">${value(n.expected)}</span> <i>(missing)</i>`;
  else if (n.status === "extra") body = html`<span style="color:${color}">${value(n.actual)}</span> <i>(extra)</i>`;
  else body = html`<span>${value(n.actual)}</span>`;
  return html`<span data-path="${n.path}" data-status="${n.status}">${head}: ${body}</span>`;
}

function countsHtml(c: JsonDiffPayload["counts"]): SafeHtml {
  return html`${(Object.keys(c) as DiffStatus[]).map((k) => html`<span style="color:${DIFF_COLORS[k]};margin-right:1em">${MARK[k]} ${k} ${c[k]}</span>`)}`;
}

export function jsonDiffHtml(p: JsonDiffPayload): string {
  const errors = (p.parseErrors ?? []).map((e) => html`<div style="color:${DIFF_COLORS.missing}">${e.side} is not valid JSON: ${e.message}${e.text ? html`<pre style="white-space:pre-wrap">${e.text}</pre>` : ""}</div>`);
  const fields = p.fieldAccuracy
    ? html`<table style="border-collapse:collapse"><thead><tr><th style="text-align:left">field</th><th>accuracy</th><th>correct / total</th></tr></thead><tbody>${p.fieldAccuracy.map(
        (f) => html`<tr><td><code>${f.path}</code></td><td style="text-align:right">${formatNumber((100 * f.correct) / f.total, 3)}%</td><td style="text-align:right">${f.correct} / ${f.total}</td></tr>`,
      )}</tbody></table>`
    : "";
  const tree = p.root ? html`<ul style="list-style:none;margin:0;padding-left:0"><li>${nodeHtml(p.root)}</li></ul>` : "";
  return html`<div class="pgts-jsondiff" style="${BOX}">${p.title ? html`<div><b>${p.title}</b></div>` : ""}<div>${countsHtml(p.counts)}${p.samples !== undefined ? html`<span>over ${p.samples} samples</span>` : ""}</div>${errors}${tree}${fields}</div>`.value;
}

export function jsonDiffText(p: JsonDiffPayload): string {
  const lines = [`${p.title ? p.title + ": " : ""}equal ${p.counts.equal}, changed ${p.counts.changed}, missing ${p.counts.missing}, extra ${p.counts.extra}`];
  for (const e of p.parseErrors ?? []) lines.push(`${e.side} is not valid JSON: ${e.message}`);
  const walk = (n: DiffNode) => {
    if (n.children) n.children.forEach(walk);
    else if (n.status !== "equal") lines.push(`${MARK[n.status]} ${n.path}: ${value(n.expected)} → ${value(n.actual)}`);
  };
  if (p.root) walk(p.root);
  for (const f of p.fieldAccuracy ?? []) lines.push(`${f.path}: ${f.correct}/${f.total}`);
  return lines.join("\n");
}

/** `step 12/100 · epoch 0.12/1 · 45% · ETA 1m02s · 3.2 samples/s · loss 2.31 · lr 1e-4`. */
export function formatProgressLine(p: TrainingPayload): string {
  const last = (name: string) => p.series.find((s) => s.name === name)?.points.at(-1)?.value;
  const parts = [`step ${p.step}${p.totalSteps !== null ? `/${p.totalSteps}` : ""}`];
  if (p.epoch !== null) parts.push(`epoch ${formatNumber(p.epoch, 3)}${p.numEpochs !== null ? `/${p.numEpochs}` : ""}`);
  if (p.totalSteps) parts.push(`${Math.floor((100 * p.step) / p.totalSteps)}%`);
  parts.push(p.status === "running" ? `ETA ${formatDuration(p.etaSeconds)}` : `${p.status} in ${formatDuration(p.elapsedSeconds)}`);
  if (p.samplesPerSecond !== null) parts.push(`${formatNumber(p.samplesPerSecond, 3)} samples/s`);
  const loss = last("loss");
  if (loss !== undefined) parts.push(`loss ${formatNumber(loss, 4)}`);
  const lr = last("learningRate");
  if (lr !== undefined) parts.push(`lr ${formatNumber(lr, 3)}`);
  return parts.join(" · ");
}

function metricsTable(metrics: Record<string, number>): SafeHtml {
  return html`<table style="border-collapse:collapse">${Object.entries(metrics).map(([k, v]) => html`<tr><td style="padding-right:1em">${k}</td><td style="text-align:right"><code>${formatNumber(v, 5)}</code></td></tr>`)}</table>`;
}

export function trainingHtml(p: TrainingPayload): string {
  const frac = p.totalSteps ? Math.min(1, p.step / p.totalSteps) : p.status === "done" ? 1 : 0;
  const bar = html`<div role="progressbar" aria-valuemin="0" aria-valuemax="${p.totalSteps ?? 0}" aria-valuenow="${p.step}" style="background:#8884;height:10px;border-radius:5px;overflow:hidden;max-width:600px"><div style="background:${p.status === "failed" ? "#c62828" : "#1976d2"};width:${(100 * frac).toFixed(1)}%;height:100%"></div></div>`;
  const lossSeries = p.series.filter((s) => /loss/i.test(s.name));
  const lr = p.series.filter((s) => s.name === "learningRate");
  const charts = html`<div style="display:flex;flex-wrap:wrap;gap:8px">${raw(lineChartSvg(lossSeries, { title: "loss" }))}${lr.length ? raw(lineChartSvg(lr, { title: "learning rate" })) : ""}</div>`;
  const evalPart = p.evaluation ? html`<div><b>eval @ step ${p.evaluation.step}</b>${metricsTable(p.evaluation.metrics)}</div>` : "";
  return html`<div class="pgts-training" data-step="${p.step}" data-status="${p.status}" style="${BOX}">${p.title ? html`<div><b>${p.title}</b></div>` : ""}${bar}<div>${formatProgressLine(p)}</div>${p.message ? html`<div>${p.message}</div>` : ""}${charts}${evalPart}</div>`.value;
}

export function trainingText(p: TrainingPayload): string {
  const lines = [formatProgressLine(p)];
  if (p.evaluation) lines.push(`eval @ ${p.evaluation.step}: ${Object.entries(p.evaluation.metrics).map(([k, v]) => `${k} ${formatNumber(v, 4)}`).join(", ")}`);
  if (p.message) lines.push(p.message);
  return lines.join("\n");
}

function clip(s: string, n = 160): string {
  return s.length > n ? s.slice(0, n) + "…" : s;
}

export function reportHtml(p: ReportPayload): string {
  const keys = [...new Set(p.rows.flatMap((r) => Object.keys(r.scores)))];
  const head = html`<tr><th>#</th><th>image</th><th>prefix</th><th>target</th><th>prediction</th>${keys.map((k) => html`<th>${k}</th>`)}</tr>`;
  const rows = p.rows.map(
    (r) => html`<tr><td>${r.index}</td><td>${r.thumbnail ? html`<img src="${r.thumbnail.src}" width="${r.thumbnail.width}" height="${r.thumbnail.height}" alt="sample ${r.index}">` : ""}</td><td>${clip(r.prefix)}</td><td><code>${clip(r.target)}</code></td><td><code>${clip(r.prediction)}</code></td>${keys.map((k) => html`<td style="text-align:right">${formatNumber(r.scores[k], 4)}</td>`)}</tr>`,
  );
  return html`<div class="pgts-report" style="${BOX}">${p.title ? html`<div><b>${p.title}</b></div>` : ""}${metricsTable(p.aggregates)}<table style="border-collapse:collapse;margin-top:6px"><thead>${head}</thead><tbody>${rows}</tbody></table>${p.omittedRows ? html`<div>… ${p.omittedRows} better rows not shown</div>` : ""}</div>`.value;
}

export function reportText(p: ReportPayload): string {
  const lines = [`${p.title ?? "evaluation"}: ${Object.entries(p.aggregates).map(([k, v]) => `${k} ${formatNumber(v, 4)}`).join(", ")}`];
  for (const r of p.rows.slice(0, 10)) lines.push(`#${r.index} ${Object.entries(r.scores).map(([k, v]) => `${k}=${formatNumber(v, 3)}`).join(" ")} ${clip(r.prediction, 60)}`);
  return lines.join("\n");
}

export function datasetHtml(p: DatasetPayload): string {
  const counts = html`${Object.entries(p.counts).map(([k, v]) => html`<span style="margin-right:1em"><b>${formatNumber(v)}</b> ${k}</span>`)}`;
  const stats = html`<table style="border-collapse:collapse">${Object.entries(p.stats).map(([k, v]) => html`<tr><td style="padding-right:1em">${k}</td><td>${v}</td></tr>`)}</table>`;
  const grid = p.items.map(
    (it) => html`<figure style="margin:0;width:${it.thumbnail.width}px"><img src="${it.thumbnail.src}" width="${it.thumbnail.width}" height="${it.thumbnail.height}" alt="${clip(it.label, 60)}"><figcaption style="font-size:11px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap">${clip(it.label, 60)}</figcaption></figure>`,
  );
  return html`<div class="pgts-dataset" style="${BOX}">${p.title ? html`<div><b>${p.title}</b></div>` : ""}<div>${counts}</div>${stats}<div style="display:flex;flex-wrap:wrap;gap:6px;margin-top:6px">${grid}</div></div>`.value;
}

export function datasetText(p: DatasetPayload): string {
  return [`${p.title ?? "dataset"}: ${Object.entries(p.counts).map(([k, v]) => `${v} ${k}`).join(", ")}`, ...Object.entries(p.stats).map(([k, v]) => `${k}: ${v}`)].join("\n");
}
