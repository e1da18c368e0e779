/** Dataset summary view: headline counts, statistics, and a grid of thumbnails with their boxes and labels. */
import type { DatasetPayload } from "../../src/display/protocol";
import { el, fmt, safeColor, safeImageSrc } from "./dom";

export class DatasetView {
  readonly node = el("div", { class: "jp-Paligemma-dataset" });

  async render(p: DatasetPayload): Promise<void> {
    this.node.replaceChildren();
    if (p.title) this.node.append(el("div", { class: "jp-Paligemma-title" }, p.title));
    const counts = el("div", { class: "jp-Paligemma-diffCounts" });
    for (const [k, v] of Object.entries(p.counts)) counts.append(el("span", {}, el("b", {}, fmt(v)), ` ${k}`));
    this.node.append(counts);
    const stats = el("tbody");
    for (const [k, v] of Object.entries(p.stats)) stats.append(el("tr", {}, el("td", {}, k), el("td", {}, v)));
    this.node.append(el("table", { class: "jp-Paligemma-table", "aria-label": "dataset statistics" }, stats));
    const grid = el("div", { class: "jp-Paligemma-grid" });
    const color = new Map(p.classes.map((c) => [c.id, safeColor(c.color)]));
    await Promise.all(
      p.items.map(async (it, i) => {
        const { width: w, height: h } = it.thumbnail;
        const canvas = el("canvas", { width: w, height: h, role: "img", "aria-label": it.label });
        const fig = el("figure", { class: "jp-Paligemma-thumb", title: `${it.prefix}\n→ ${it.suffix}` }, canvas, el("figcaption", {}, it.label));
        grid.append(fig);
        const src = safeImageSrc(it.thumbnail.src);
        const ctx = canvas.getContext("2d");
        if (!ctx || !src) return;
        const img = new Image();
        img.src = src;
        await img.decode().catch(() => undefined);
        ctx.drawImage(img, 0, 0, w, h);
        const sx = w / it.thumbnail.naturalWidth;
        const sy = h / it.thumbnail.naturalHeight;
        ctx.lineWidth = 2;
        for (const b of it.boxes ?? []) {
          ctx.strokeStyle = color.get(b.classId) ?? "#ff0000";
          ctx.strokeRect(b.xyxy[0] * sx + 1, b.xyxy[1] * sy + 1, (b.xyxy[2] - b.xyxy[0]) * sx - 2, (b.xyxy[3] - b.xyxy[1]) * sy - 2);
        }
        fig.dataset.index = String(i);
      }),
    );
    this.node.append(grid);
  }

  dispose(): void {
    this.node.replaceChildren();
  }
}
