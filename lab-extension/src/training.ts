/**
 * Training dashboard: progress bar with step/total, epoch, ETA, samples/s; loss and learning-rate curves with
 * plotly.js (bundled, loaded on first use: a separate chunk); the latest evaluation metrics. `render()` is called
 * again on every `update_display_data`, and updates the same DOM and plots in place.
 */
import type { TrainingPayload } from "../../src/display/protocol";
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
  private readonly lossPlot = el("div", { class: "jp-Paligemma-plot", "aria-label": "loss curve" });
  private readonly lrPlot = el("div", { class: "jp-Paligemma-plot", "aria-label": "learning-rate curve" });
  private readonly metrics = el("div", { class: "jp-Paligemma-metrics" });
  private readonly title = el("div", { class: "jp-Paligemma-title" });
  private disposed = false;
  /** Renders done (each `update_display_data` adds one). */
  renders = 0;

  constructor() {
    this.node.append(this.title, this.progress, this.status, el("div", { class: "jp-Paligemma-plots" }, this.lossPlot, this.lrPlot), this.metrics);
  }

  async render(p: TrainingPayload): Promise<void> {
    this.renders++;
    this.title.textContent = p.title ?? "";
    const frac = p.totalSteps ? Math.min(1, p.step / p.totalSteps) : p.status === "done" ? 1 : 0;
    this.bar.style.width = `${(100 * frac).toFixed(1)}%`;
    this.progress.setAttribute("aria-valuenow", String(p.step));
    this.progress.setAttribute("aria-valuemax", String(p.totalSteps ?? p.step));
    this.node.dataset.step = String(p.step);
    this.node.dataset.status = p.status;
    this.node.classList.toggle("jp-mod-failed", p.status === "failed");
    const last = (n: string) => p.series.find((s) => s.name === n)?.points.at(-1)?.value;
    const parts = [`step ${p.step}${p.totalSteps !== null ? ` / ${p.totalSteps}` : ""}`];
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
      P.purge(this.lossPlot);
      P.purge(this.lrPlot);
    });
    this.node.replaceChildren();
  }

  private renderMetrics(p: TrainingPayload): void {
    this.metrics.replaceChildren();
    if (!p.evaluation) return;
    const body = el("tbody");
    for (const [k, v] of Object.entries(p.evaluation.metrics)) body.append(el("tr", {}, el("td", {}, k), el("td", { class: "jp-Paligemma-num" }, fmt(v, 5))));
    this.metrics.append(el("table", { class: "jp-Paligemma-table", "aria-label": "evaluation metrics" }, el("caption", {}, `eval @ step ${p.evaluation.step}`), body));
  }

  private async renderPlots(p: TrainingPayload): Promise<void> {
    const P = await loadPlotly();
    if (this.disposed) return;
    const fg = themeVar(this.node, "--jp-ui-font-color1", "#333");
    const grid = themeVar(this.node, "--jp-border-color2", "#ddd");
    const layout = (title: string, log = false) => ({
      title: { text: title, font: { size: 12 } },
      height: 220,
      margin: { l: 50, r: 10, t: 30, b: 35 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: fg, size: 11 },
      xaxis: { title: { text: "step" }, gridcolor: grid },
      yaxis: { gridcolor: grid, type: log ? "log" : "linear" },
      showlegend: true,
      legend: { orientation: "h" },
    });
    const trace = (name: string) => {
      const s = p.series.find((x) => x.name === name);
      return s ? [{ type: "scatter", mode: "lines", name, x: s.points.map((q) => q.step), y: s.points.map((q) => q.value) }] : [];
    };
    const lossNames = p.series.filter((s) => /loss/i.test(s.name)).map((s) => s.name);
    const config = { displaylogo: false, responsive: true };
    await P.react(this.lossPlot, lossNames.flatMap(trace), layout("loss"), config);
    await P.react(this.lrPlot, trace("learningRate"), layout("learning rate"), config);
  }
}
