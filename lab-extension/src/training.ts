/**
 * Training dashboard: progress bar with step/total, epoch, ETA, samples/s; a plotly chart for every logged scalar
 * and each evaluation metric's history (src/display/dashboard.ts decides which), with a smoothing slider (EMA) and
 * a log-scale switch; a constant series gets a ±10 % axis instead of plotly's −1…1; plotly.js (bundled, loaded on first use: a separate chunk); the latest evaluation metrics. `render()` is called
 * again on every `update_display_data`, and updates the same DOM and plots in place.
 */
import type { TrainingPayload } from "../../src/display/protocol";
import { dashboardCharts } from "../../src/display/dashboard";
import { el, fmt, fmtDuration, themeVar } from "./dom";

type PlotlyModule = typeof import("plotly.js-dist-min").default;
let plotly: Promise<PlotlyModule> | null = null;
function loadPlotly(): Promise<PlotlyModule> {
  plotly ??= import(/* webpackChunkName: "plotly" */ "plotly.js-dist-min").then((m) => (m as unknown as { default: PlotlyModule }).default ?? (m as unknown as PlotlyModule));
  return plotly;
}

export class TrainingView {
  readonly node = el("div", { class: "jp-Paligemma-training" });
  private readonly bar = el("div", { class: "jp-Paligemma-progressFill" });
  private readonly progress = el("div", { class: "jp-Paligemma-progress", role: "progressbar", "aria-valuemin": 0, "aria-label": "training progress" }, this.bar);
  private readonly status = el("div", { class: "jp-Paligemma-status", "aria-live": "polite" });
  private readonly plots = el("div", { class: "jp-Paligemma-plots" });
  private readonly plotNodes = new Map<string, HTMLDivElement>();
  private readonly controls = el("div", { class: "jp-Paligemma-toolbar" });
  private smoothing = 0;
  private logY = false;
  private last: TrainingPayload | null = null;
  private readonly metrics = el("div", { class: "jp-Paligemma-metrics" });
  private readonly title = el("div", { class: "jp-Paligemma-title" });
  private disposed = false;
  /** Renders done (each `update_display_data` adds one). */
  renders = 0;

  constructor() {
    const slider = el("input", { type: "range", min: 0, max: 99, value: 0, class: "jp-Paligemma-smoothing", "aria-label": "smoothing" });
    slider.addEventListener("input", () => {
      this.smoothing = Number(slider.value) / 100;
      if (this.last) void this.renderPlots(this.last);
    });
    const log = el("input", { type: "checkbox", class: "jp-Paligemma-logY", "aria-label": "log scale" });
    log.addEventListener("change", () => {
      this.logY = log.checked;
      if (this.last) void this.renderPlots(this.last);
    });
    this.controls.append(el("label", {}, "smoothing ", slider), el("label", {}, log, " log scale"));
    this.node.append(this.title, this.progress, this.status, this.controls, this.plots, this.metrics);
  }

  async render(p: TrainingPayload): Promise<void> {
    this.renders++;
    this.title.textContent = p.title ?? "";
    this.last = p;
    const frac = p.maxSteps ? Math.min(1, p.step / p.maxSteps) : p.status === "done" ? 1 : 0;
    this.bar.style.width = `${(100 * frac).toFixed(1)}%`;
    this.progress.setAttribute("aria-valuenow", String(p.step));
    this.progress.setAttribute("aria-valuemax", String(p.maxSteps ?? p.step));
    this.node.dataset.step = String(p.step);
    this.node.dataset.status = p.status;
    this.node.classList.toggle("jp-mod-failed", p.status === "failed");
    const last = (n: string) => p.series.find((s) => s.name === n)?.points.at(-1)?.value;
    const parts = [`step ${p.step}${p.maxSteps !== null ? ` / ${p.maxSteps}` : ""}`];
    if (p.epoch !== null) parts.push(`epoch ${fmt(p.epoch, 3)}${p.numEpochs !== null ? ` / ${p.numEpochs}` : ""}`);
    parts.push(p.status === "running" ? `ETA ${fmtDuration(p.etaSeconds)}` : `${p.status} in ${fmtDuration(p.elapsedSeconds)}`);
    if (p.samplesPerSecond !== null) parts.push(`${fmt(p.samplesPerSecond, 3)} samples/s`);
    if (last("loss") !== undefined) parts.push(`loss ${fmt(last("loss"), 4)}`);
    if (last("learningRate") !== undefined) parts.push(`lr ${fmt(last("learningRate"), 3)}`);
    this.status.textContent = parts.join(" · ") + (p.message ? ` — ${p.message}` : "");
    this.renderMetrics(p);
    await this.renderPlots(p);
  }

  dispose(): void {
    this.disposed = true;
    void plotly?.then((P) => {
      for (const n of this.plotNodes.values()) P.purge(n);
    });
    this.node.replaceChildren();
  }

  private renderMetrics(p: TrainingPayload): void {
    this.metrics.replaceChildren();
    const latest = p.evaluations.at(-1);
    if (!latest) return;
    const body = el("tbody");
    for (const [k, v] of Object.entries(latest.metrics)) body.append(el("tr", {}, el("td", {}, k), el("td", { class: "jp-Paligemma-num" }, fmt(v, 5))));
    this.metrics.append(el("table", { class: "jp-Paligemma-table", "aria-label": "evaluation metrics" }, el("caption", {}, `eval @ step ${latest.step} (${p.evaluations.length} evaluation${p.evaluations.length === 1 ? "" : "s"})`), body));
  }

  private async renderPlots(p: TrainingPayload): Promise<void> {
    const P = await loadPlotly();
    if (this.disposed) return;
    const fg = themeVar(this.node, "--jp-ui-font-color1", "#333");
    const grid = themeVar(this.node, "--jp-border-color2", "#ddd");
    const config = { displaylogo: false, responsive: true };
    const w = this.smoothing;
    const smooth = (ys: number[]) => {
      if (w <= 0) return ys;
      let m = 0;
      return ys.map((v, i) => ((m = m * w + (1 - w) * v), m / (1 - w ** (i + 1)))); // TensorBoard's debiased EMA (charts.ts smoothSeries)
    };
    const charts = dashboardCharts(p);
    for (const chart of charts) {
      let node = this.plotNodes.get(chart.title);
      if (!node) {
        node = el("div", { class: "jp-Paligemma-plot", "data-chart": chart.title, "aria-label": `${chart.title} curve` });
        this.plotNodes.set(chart.title, node);
        this.plots.append(node);
      }
      const values = chart.series.flatMap((s) => s.points.map((q) => q.value)).filter(Number.isFinite);
      const log = this.logY && values.every((v) => v > 0);
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      // A constant series: ±10 % of its value (plotly would span −1…1 around 1e-4).
      const d = Math.abs(lo) * 0.1 || 1;
      const range = values.length && lo === hi ? (log ? [Math.log10(lo - d > 0 ? lo - d : lo / 2), Math.log10(hi + d)] : [lo - d, hi + d]) : undefined;
      const traces = chart.series.map((s) => ({ type: "scatter", mode: s.points.length <= 30 ? "lines+markers" : "lines", name: s.name, x: s.points.map((q) => q.step), y: smooth(s.points.map((q) => q.value)) }));
      const layout = {
        title: { text: chart.title, font: { size: 12 } },
        height: 220,
        margin: { l: 55, r: 10, t: 30, b: 35 },
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "rgba(0,0,0,0)",
        font: { color: fg, size: 11 },
        xaxis: { title: { text: "step" }, gridcolor: grid },
        yaxis: { gridcolor: grid, type: log ? "log" : "linear", ...(range ? { range, autorange: false } : { autorange: true }), exponentformat: "e" },
        showlegend: chart.series.length > 1,
        legend: { orientation: "h" },
      };
      await P.react(node, traces, layout, config);
      if (this.disposed) return;
    }
  }
}
