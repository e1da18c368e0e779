/**
 * Progress view for one long call (evaluation, generation, dataset loading): a bar and the same one-line summary
 * the terminal prints (task, percentage, count, rate, ETA, latest metrics). `render()` runs again on every
 * `update_display_data` and updates the same nodes.
 */
import type { ProgressPayload } from "../../src/display/protocol";
import { el, fmt, fmtDuration } from "./dom";

export class ProgressView {
  readonly node = el("div", { class: "jp-Paligemma-progressView" });
  private readonly fill = el("div", { class: "jp-Paligemma-progressFill" });
  private readonly bar = el("div", { class: "jp-Paligemma-progress", role: "progressbar", "aria-valuemin": 0 }, this.fill);
  private readonly text = el("div", { class: "jp-Paligemma-status", "aria-live": "polite" });
  renders = 0;

  constructor() {
    this.node.append(this.bar, this.text);
  }

  render(p: ProgressPayload): void {
    this.renders++;
    const frac = p.total ? Math.min(1, p.done / p.total) : p.status === "done" ? 1 : 0;
    this.fill.style.width = `${(100 * frac).toFixed(1)}%`;
    this.bar.setAttribute("aria-valuenow", String(p.done));
    this.bar.setAttribute("aria-valuemax", String(p.total ?? p.done));
    this.bar.setAttribute("aria-label", `${p.task} progress`);
    Object.assign(this.node.dataset, { task: p.task, status: p.status, done: String(p.done), total: String(p.total ?? "") });
    this.node.classList.toggle("jp-mod-failed", p.status === "failed");
    const unit = p.unit ? ` ${p.unit}s` : "";
    const parts = [`${p.label ? `${p.task} ${p.label}` : p.task} ${p.total ? `${Math.floor((100 * Math.min(p.done, p.total)) / p.total)}% ` : ""}${p.done}${p.total !== null ? `/${p.total}` : ""}${unit}`];
    if (p.rate !== null) parts.push(`${fmt(p.rate, 3)}${unit}/s`);
    parts.push(p.status === "running" ? `ETA ${fmtDuration(p.etaSeconds)}` : `${p.status} in ${fmtDuration(p.elapsedSeconds)}`);
    for (const [k, v] of Object.entries(p.metrics)) parts.push(`${k} ${fmt(v, 4)}`);
    if (p.error) parts.push(`error: ${p.error}`);
    this.text.textContent = parts.join(" · ");
  }

  dispose(): void {
    this.node.replaceChildren();
  }
}
