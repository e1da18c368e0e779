/**
 * Static fallbacks (`text/html` and `text/plain`) for the JSON-diff, training, report and dataset views: what
 * nbconvert, GitHub and a JupyterLab without the extension show. Self-contained HTML: inline styles, inline SVG
 * and `data:` images, no script, no CDN; every untrusted string escaped (see html.ts).
 *
 * @example
 * jsonDiffHtml(diffJson({ a: 1 }, { a: 2 })); // "<div class=\"pgts-jsondiff\">…changed…</div>"
 */
import { MIME, OUTCOME_COLORS, OUTCOME_NAMES, boxColor, type AnnotationsPayload, type DatasetPayload, type DiffNode, type DiffStatus, type JsonDiffPayload, type JsonValue, type Outcome, type ProgressPayload, type ReportPayload, type TrainingPayload } from "./protocol.js";
import { html, raw, formatDuration, formatNumber, type SafeHtml } from "./html.js";
import { lineChartSvg } from "./charts.js";
import { dashboardCharts } from "./dashboard.js";
import { progressText } from "./progress.js";

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
  if (n.status === "changed" && n.textDiff) body = textDiffHtml(n.textDiff);
  else if (n.status === "changed") body = html`<s style="color:${DIFF_COLORS.missing}">${value(n.expected)}</s> → <span style="color:${DIFF_COLORS.extra}">${value(n.actual)}</span>`;
  else if (n.status === "missing") body = html`<span style="color:${color}">${value(n.expected)}</span> <i>(missing)</i>`;
  else if (n.status === "extra") body = html`<span style="color:${color}">${value(n.actual)}</span> <i>(extra)</i>`;
  else body = html`<span>${value(n.actual)}</span>`;
  return html`<span data-path="${n.path}" data-status="${n.status}">${head}: ${body}</span>`;
}

/** A changed string, quoted, with removed characters struck in red and added ones underlined in blue. */
function textDiffHtml(ops: NonNullable<DiffNode["textDiff"]>): SafeHtml {
  const part = (o: (typeof ops)[number]) => {
    const t = JSON.stringify(o.text).slice(1, -1);
    if (o.op === "=") return html`<span>${t}</span>`;
    if (o.op === "-") return html`<del data-op="-" style="color:${DIFF_COLORS.missing};background:#c628281f">${t}</del>`;
    return html`<ins data-op="+" style="color:${DIFF_COLORS.extra};background:#1565c01f">${t}</ins>`;
  };
  return html`<span class="pgts-textdiff">"${ops.map(part)}"</span>`;
}

/** What the header counts: leaf values (fields), which the tree groups into subtrees. */
export const DIFF_COUNT_NOTE = "counts are of leaf values (fields): a missing or extra object counts each field inside it";

function countsHtml(c: JsonDiffPayload["counts"]): SafeHtml {
  return html`<span title="${DIFF_COUNT_NOTE}" style="margin-right:1em">fields:</span>${(Object.keys(c) as DiffStatus[]).map((k) => html`<span style="color:${DIFF_COLORS[k]};margin-right:1em">${MARK[k]} ${k} ${c[k]}</span>`)}`;
}

export function jsonDiffHtml(p: JsonDiffPayload): string {
  const errors = (p.parseErrors ?? []).map((e) => html`<div style="color:${DIFF_COLORS.missing}">${e.side} is not valid JSON: ${e.message}${e.text ? html`<pre style="white-space:pre-wrap">${e.text}</pre>` : ""}</div>`);
  const fields = p.fieldAccuracy
    ? html`<table style="border-collapse:collapse"><thead><tr><th style="text-align:left">field</th><th>accuracy</th><th>correct / total</th></tr></thead><tbody>${p.fieldAccuracy.map(
        (f) => html`<tr><td><code>${f.path}</code></td><td style="text-align:right">${formatNumber((100 * f.correct) / f.total, 3)}%</td><td style="text-align:right">${f.correct} / ${f.total}</td></tr>`,
      )}</tbody></table>`
    : "";
  const tree = p.root ? html`<ul style="list-style:none;margin:0;padding-left:0"><li>${nodeHtml(p.root)}</li></ul>` : "";
  return html`<div class="pgts-jsondiff" style="${BOX}">${p.title ? html`<div><b>${p.title}</b></div>` : ""}<div>${countsHtml(p.counts)}${p.samples !== undefined ? html`<span>over ${p.samples} samples</span>` : ""}</div><div style="opacity:.7;font-size:11px">${DIFF_COUNT_NOTE}</div>${errors}${tree}${fields}</div>`.value;
}

export function jsonDiffText(p: JsonDiffPayload): string {
  const lines = [`${p.title ? p.title + ": " : ""}fields equal ${p.counts.equal}, changed ${p.counts.changed}, missing ${p.counts.missing}, extra ${p.counts.extra} (leaf values)`];
  for (const e of p.parseErrors ?? []) lines.push(`${e.side} is not valid JSON: ${e.message}`);
  const walk = (n: DiffNode) => {
    if (n.children) n.children.forEach(walk);
    else if (n.status === "changed") lines.push(`${MARK[n.status]} ${n.path}: ${value(n.expected)} → ${value(n.actual)}`);
    else if (n.status === "missing") lines.push(`${MARK[n.status]} ${n.path}: ${value(n.expected)} (missing)`);
    else if (n.status === "extra") lines.push(`${MARK[n.status]} ${n.path}: ${value(n.actual)} (extra)`);
  };
  if (p.root) walk(p.root);
  for (const f of p.fieldAccuracy ?? []) lines.push(`${f.path}: ${f.correct}/${f.total}`);
  return lines.join("\n");
}

/** `step 12/100 · epoch 0.12/1 · 45% · ETA 1m02s · 3.2 samples/s · loss 2.31 · lr 1e-4`. */
export function formatProgressLine(p: TrainingPayload): string {
  const last = (name: string) => p.series.find((s) => s.name === name)?.points.at(-1)?.value;
  const parts = [`step ${p.step}${p.maxSteps !== null ? `/${p.maxSteps}` : ""}`];
  if (p.epoch !== null) parts.push(`epoch ${formatNumber(p.epoch, 3)}${p.numEpochs !== null ? `/${p.numEpochs}` : ""}`);
  if (p.maxSteps) parts.push(`${Math.floor((100 * p.step) / p.maxSteps)}%`);
  parts.push(p.status === "running" ? `ETA ${formatDuration(p.etaSeconds)}` : `${p.status} in ${formatDuration(p.elapsedSeconds)}`);
  if (p.samplesPerSecond !== null) parts.push(`${formatNumber(p.samplesPerSecond, 3)} samples/s`);
  const loss = last("loss");
  if (loss !== undefined) parts.push(`loss ${formatNumber(loss, 4)}`);
  const lr = last("learningRate");
  if (lr !== undefined) parts.push(`lr ${formatNumber(lr, 3)}`);
  return parts.join(" · ");
}

const TD = "text-align:left;padding:1px 8px 1px 0;vertical-align:top";
const NUM = "text-align:right;padding:1px 8px 1px 0;vertical-align:top";

function metricsTable(metrics: Record<string, number>): SafeHtml {
  return html`<table style="border-collapse:collapse">${Object.entries(metrics).map(([k, v]) => html`<tr><td style="${TD}">${k}</td><td style="${NUM}"><code>${formatNumber(v, 5)}</code></td></tr>`)}</table>`;
}

/** Every evaluation as a row (step, then each metric). */
function evalHistoryTable(evals: TrainingPayload["evaluations"]): SafeHtml {
  const keys = [...new Set(evals.flatMap((e) => Object.keys(e.metrics)))];
  return html`<table style="border-collapse:collapse" aria-label="evaluation history"><thead><tr><th style="${TD}">step</th>${keys.map((k) => html`<th style="${TD}">${k}</th>`)}</tr></thead><tbody>${evals.map(
    (e) => html`<tr><td style="${NUM}">${e.step}</td>${keys.map((k) => html`<td style="${NUM}"><code>${formatNumber(e.metrics[k], 5)}</code></td>`)}</tr>`,
  )}</tbody></table>`;
}

export function trainingHtml(p: TrainingPayload): string {
  const frac = p.maxSteps ? Math.min(1, p.step / p.maxSteps) : p.status === "done" ? 1 : 0;
  const bar = progressBar(frac, p.maxSteps ?? 0, p.step, p.status === "failed");
  // Every logged scalar and every eval metric's history (dashboard.ts decides the charts, as in the extension).
  const charts = html`<div style="display:flex;flex-wrap:wrap;gap:8px">${dashboardCharts(p).map((c) => raw(lineChartSvg(c.series, { title: c.title, logY: /loss|learningRate|gradNorm/i.test(c.title) && c.series.every((s) => s.points.every((q) => q.value > 0)) && spansDecade(c.series) })))}</div>`;
  const evalPart = p.evaluations.length ? html`<div><b>evaluations</b>${evalHistoryTable(p.evaluations)}</div>` : "";
  return html`<div class="pgts-training" data-step="${p.step}" data-status="${p.status}" style="${BOX}">${p.title ? html`<div><b>${p.title}</b></div>` : ""}${bar}<div>${formatProgressLine(p)}</div>${p.message ? html`<div>${p.message}</div>` : ""}${charts}${evalPart}</div>`.value;
}

function progressBar(frac: number, max: number, now: number, failed: boolean): SafeHtml {
  return html`<div role="progressbar" aria-valuemin="0" aria-valuemax="${max}" aria-valuenow="${now}" style="background:#8884;height:10px;border-radius:5px;overflow:hidden;max-width:600px"><div style="background:${failed ? "#c62828" : "#1976d2"};width:${(100 * frac).toFixed(1)}%;height:100%"></div></div>`;
}

/** Log scale only pays when the values span more than a decade. */
function spansDecade(series: { points: { value: number }[] }[]): boolean {
  const v = series.flatMap((s) => s.points.map((q) => q.value));
  return v.length > 1 && Math.max(...v) / Math.min(...v) > 10;
}

export function trainingText(p: TrainingPayload): string {
  const lines = [formatProgressLine(p)];
  for (const e of p.evaluations) lines.push(`eval @ ${e.step}: ${Object.entries(e.metrics).map(([k, v]) => `${k} ${formatNumber(v, 4)}`).join(", ")}`);
  if (p.message) lines.push(p.message);
  return lines.join("\n");
}

function clip(s: string, n = 160): string {
  return s.length > n ? s.slice(0, n) + "…" : s;
}

/**
 * An annotation payload as a small inline SVG: the preview image and every box (truth dashed, prediction solid,
 * coloured by outcome when matched), each with a `<title>` (class, outcome, IoU). What the report's fallback shows
 * in place of a row's detail view.
 */
export function annotationsSvg(p: AnnotationsPayload, maxSide: number): SafeHtml {
  const s = Math.min(1, maxSide / Math.max(p.image.width, p.image.height));
  const w = Math.round(p.image.width * s);
  const h = Math.round(p.image.height * s);
  const sx = w / p.image.naturalWidth;
  const sy = h / p.image.naturalHeight;
  const cls = new Map(p.classes.map((c) => [c.id, c]));
  const rects = p.layers.flatMap((l) =>
    l.boxes.map((b) => {
      const c = cls.get(b.classId);
      const title = `${c?.name || `class ${b.classId}`} (${l.name})${b.outcome ? ` · ${OUTCOME_NAMES[b.outcome]} · IoU ${formatNumber(b.iou ?? 0, 2)}` : ""}`;
      return html`<rect x="${(b.xyxy[0] * sx).toFixed(1)}" y="${(b.xyxy[1] * sy).toFixed(1)}" width="${((b.xyxy[2] - b.xyxy[0]) * sx).toFixed(1)}" height="${((b.xyxy[3] - b.xyxy[1]) * sy).toFixed(1)}" fill="none" stroke="${boxColor(b, p.options.colorBy, c?.color ?? "#ff0000")}" stroke-width="2"${raw(l.role === "truth" ? ' stroke-dasharray="4 3"' : "")}><title>${title}</title></rect>`;
    }),
  );
  return html`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${p.title ?? "annotations"}"><image href="${p.image.src}" width="${w}" height="${h}"/>${rects}</svg>`;
}

function outcomeKey(): SafeHtml {
  return html`<div style="font-size:11px">${(["tp", "fp", "fn"] as Outcome[]).map((o) => html`<span style="margin-right:1em"><span style="display:inline-block;width:10px;height:10px;background:${OUTCOME_COLORS[o]}"></span> ${OUTCOME_NAMES[o]}</span>`)}<span>truth dashed, prediction solid</span></div>`;
}

export function reportHtml(p: ReportPayload): string {
  const keys = [...new Set(p.rows.flatMap((r) => Object.keys(r.scores)))];
  // Text left-aligned, numbers right-aligned, explicitly (nbconvert's and GitHub's table styles right-align cells).
  const head = html`<tr><th style="${NUM}">#</th><th style="${TD}">image</th><th style="${TD}">prefix</th><th style="${TD}">target</th><th style="${TD}">prediction</th>${keys.map((k) => html`<th style="${NUM}">${k}</th>`)}</tr>`;
  const rows = p.rows.map(
    (r) => html`<tr><td style="${NUM}">${r.index}</td><td style="${TD}">${r.detail?.mime === MIME.annotations ? annotationsSvg(r.detail.payload, Math.max(96, r.thumbnail?.width ?? 0, r.thumbnail?.height ?? 0)) : r.thumbnail ? html`<img src="${r.thumbnail.src}" width="${r.thumbnail.width}" height="${r.thumbnail.height}" alt="sample ${r.index}">` : ""}</td><td style="${TD}">${clip(r.prefix)}</td><td style="${TD}"><code>${clip(r.target)}</code></td><td style="${TD}"><code>${clip(r.prediction)}</code></td>${keys.map((k) => html`<td style="${NUM}">${formatNumber(r.scores[k], 4)}</td>`)}</tr>`,
  );
  const matched = p.rows.some((r) => r.detail?.mime === MIME.annotations && r.detail.payload.matching);
  return html`<div class="pgts-report" style="${BOX}">${p.title ? html`<div><b>${p.title}</b></div>` : ""}${metricsTable(p.aggregates)}${matched ? outcomeKey() : ""}<table style="border-collapse:collapse;margin-top:6px"><thead>${head}</thead><tbody>${rows}</tbody></table>${p.omittedRows ? html`<div>… ${p.omittedRows} better rows not shown</div>` : ""}</div>`.value;
}

export function reportText(p: ReportPayload): string {
  const lines = [`${p.title ?? "evaluation"}: ${Object.entries(p.aggregates).map(([k, v]) => `${k} ${formatNumber(v, 4)}`).join(", ")}`];
  for (const r of p.rows.slice(0, 10)) lines.push(`#${r.index} ${Object.entries(r.scores).map(([k, v]) => `${k}=${formatNumber(v, 3)}`).join(" ")} ${clip(r.prediction, 60)}`);
  return lines.join("\n");
}

/** A thumbnail with its boxes: inline SVG (the image as a `data:` URL, one `<rect>` per box in its class colour). */
function thumbnailSvg(it: DatasetPayload["items"][number], color: Map<number, string>): SafeHtml {
  const { width: w, height: h, naturalWidth: nw, naturalHeight: nh, src } = it.thumbnail;
  const rects = (it.boxes ?? []).map((b) => {
    const [x0, y0, x1, y1] = [(b.xyxy[0] * w) / nw, (b.xyxy[1] * h) / nh, (b.xyxy[2] * w) / nw, (b.xyxy[3] * h) / nh];
    return html`<rect x="${(x0 + 1).toFixed(1)}" y="${(y0 + 1).toFixed(1)}" width="${Math.max(0, x1 - x0 - 2).toFixed(1)}" height="${Math.max(0, y1 - y0 - 2).toFixed(1)}" fill="none" stroke="${color.get(b.classId) ?? "#ff0000"}" stroke-width="2"><title>${b.className}</title></rect>`;
  });
  return html`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${clip(it.label, 60)}"><image href="${src}" width="${w}" height="${h}"/>${rects}</svg>`;
}

export function datasetHtml(p: DatasetPayload): string {
  const counts = html`${Object.entries(p.counts).map(([k, v]) => html`<span style="margin-right:1em"><b>${formatNumber(v)}</b> ${k}</span>`)}`;
  const stats = html`<table style="border-collapse:collapse">${Object.entries(p.stats).map(([k, v]) => html`<tr><td style="${TD}">${k}</td><td style="${TD}">${v}</td></tr>`)}</table>`;
  const color = new Map(p.classes.map((c) => [c.id, c.color]));
  const legend = p.classes.length ? html`<div>${p.classes.map((c) => html`<span style="margin-right:1em"><span style="display:inline-block;width:10px;height:10px;background:${c.color}"></span> ${c.name}</span>`)}</div>` : "";
  const grid = p.items.map(
    (it) => html`<figure style="margin:0;width:${it.thumbnail.width}px">${thumbnailSvg(it, color)}<figcaption style="font-size:11px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;text-align:left">${clip(it.label, 60)}</figcaption></figure>`,
  );
  return html`<div class="pgts-dataset" style="${BOX}">${p.title ? html`<div><b>${p.title}</b></div>` : ""}<div>${counts}</div>${stats}${legend}<div style="display:flex;flex-wrap:wrap;gap:6px;margin-top:6px">${grid}</div></div>`.value;
}

export function datasetText(p: DatasetPayload): string {
  return [`${p.title ?? "dataset"}: ${Object.entries(p.counts).map(([k, v]) => `${v} ${k}`).join(", ")}`, ...Object.entries(p.stats).map(([k, v]) => `${k}: ${v}`)].join("\n");
}

export function progressHtml(p: ProgressPayload): string {
  const frac = p.total ? Math.min(1, p.done / p.total) : p.status === "done" ? 1 : 0;
  return html`<div class="pgts-progress" data-task="${p.task}" data-status="${p.status}" data-done="${p.done}" style="${BOX}">${progressBar(frac, p.total ?? 0, p.done, p.status === "failed")}<div>${progressText(p)}</div></div>`.value;
}

export function progressPlainText(p: ProgressPayload): string {
  return progressText(p);
}
