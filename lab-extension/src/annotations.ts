/**
 * Annotation view: the image with boxes, masks (outlined; truth tinted) and labels (placed without collisions,
 * labels.ts) on a canvas. With a truth, boxes are coloured by outcome (TP / FP / missed, protocol.ts `boxColor`),
 * the legend shows the outcome counts and per-class precision/recall, and hover shows class, score, outcome and
 * IoU; a button switches to class colours. Clicking a class in the legend hides/shows it; a slider sets the mask
 * opacity; ground truth and prediction are overlaid or side by side; zoom and pan (zoom.ts); the canvas scales
 * with the cell width. Box outlines are filled pixel rectangles (the same pixels as the PNG fallback of
 * src/display/png.ts), so tests can check exact pixels.
 *
 * Rendering cost is kept low for many masks: each panel's masks are decoded once into one RGBA layer (run fills,
 * no per-pixel work outside the runs) and re-composited with `globalAlpha` when the opacity changes.
 */
import { OUTCOME_COLORS, OUTCOME_NAMES, boxColor, type AnnotationsPayload, type AnnotationLayer, type BoxAnnotation, type MaskRle, type Outcome } from "../../src/display/protocol";
import { placeLabels, tint, type LabelRequest } from "../../src/display/labels";
import { el, fmt, safeColor, safeImageSrc, textOn } from "./dom";
import { Zoom } from "./zoom";

const FONT = 12;

/** Outline width (mirrors src/display/png.ts `lineWidthFor`). */
function lineWidthFor(w: number, h: number): number {
  return Math.max(2, Math.round(Math.max(w, h) / 320));
}

function boxPixels(b: BoxAnnotation, sx: number, sy: number, w: number, h: number): [number, number, number, number] {
  const c = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  return [c(Math.floor(b.xyxy[0] * sx), w - 1), c(Math.floor(b.xyxy[1] * sy), h - 1), c(Math.ceil(b.xyxy[2] * sx) - 1, w - 1), c(Math.ceil(b.xyxy[3] * sy) - 1, h - 1)];
}

function rgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * The outline layer of a painted mask layer (RGBA, w×h): the painted pixels whose 4-neighbourhood holds another
 * colour (or nothing), kept opaque; everything else transparent. One pass over the layer, however many masks:
 * the same boundary rule as labels.ts `maskOutline` (used by the PNG), applied to the composite, so masks of
 * different colours (truth tinted vs prediction) stay apart where they touch.
 */
function outlineLayer(px: Uint8ClampedArray, w: number, h: number): Uint8ClampedArray {
  const src = new Uint32Array(px.buffer, px.byteOffset, w * h);
  const out = new Uint8ClampedArray(w * h * 4);
  const dst = new Uint32Array(out.buffer);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const k = row + x;
      const v = src[k];
      if (v === 0) continue;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1 || src[k - 1] !== v || src[k + 1] !== v || src[k - w] !== v || src[k + w] !== v) dst[k] = v;
    }
  }
  return out;
}

/** Writes a mask's 1-runs into `px` (RGBA, w×h) in colour `c`; the grid is resampled when it differs. */
function paintMask(px: Uint8ClampedArray, w: number, h: number, m: MaskRle, c: [number, number, number]): void {
  const px32 = new Uint32Array(px.buffer, px.byteOffset, w * h);
  const value = ((255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0]) >>> 0; // RGBA bytes as one little-endian word
  const same = m.width === w && m.height === h;
  let pos = 0;
  for (let i = 0; i < m.counts.length; i++) {
    const run = m.counts[i];
    if (i % 2 === 1) {
      if (same) px32.fill(value, pos, pos + run); // one fill per run
      else {
        for (let k = pos; k < pos + run; k++) {
          const x = Math.floor((((k % m.width) + 0.5) * w) / m.width);
          const y = Math.floor(((Math.floor(k / m.width) + 0.5) * h) / m.height);
          px32[y * w + x] = value;
        }
      }
    }
    pos += run;
  }
}

interface Panel {
  layers: AnnotationLayer[];
  canvas: HTMLCanvasElement;
  masks: HTMLCanvasElement | null;
  /** Mask outlines (opaque, drawn over the translucent fills). */
  outlines: HTMLCanvasElement | null;
  viewport: HTMLDivElement;
}

export class AnnotationsView {
  readonly node: HTMLDivElement;
  private payload!: AnnotationsPayload;
  private image: HTMLImageElement | null = null;
  private readonly hidden = new Set<number>();
  private readonly hiddenLayers = new Set<string>();
  private opacity = 0.5;
  private layout: "overlay" | "side-by-side" = "overlay";
  private colorBy: "class" | "outcome" = "class";
  private panels: Panel[] = [];
  private readonly tooltip: HTMLDivElement;
  private readonly abort = new AbortController();
  /** Zoom and pan, shared by the panels (zoom.ts). */
  private readonly zoom: Zoom;
  /** Milliseconds the last full render took (payload → pixels on canvas). */
  lastRenderMs = 0;

  constructor() {
    this.node = el("div", { class: "jp-Paligemma-annotations" });
    this.tooltip = el("div", { class: "jp-Paligemma-tooltip", role: "tooltip", hidden: true });
    this.zoom = new Zoom(this.node, this.abort.signal);
  }

  async render(payload: AnnotationsPayload): Promise<void> {
    const t0 = performance.now();
    this.payload = payload;
    this.opacity = payload.options.maskOpacity;
    this.layout = payload.options.layout;
    this.colorBy = payload.options.colorBy ?? "class";
    this.zoom.reset();
    const src = safeImageSrc(payload.image.src);
    const img = new Image();
    img.alt = payload.title ?? "annotated image";
    if (src) {
      img.src = src;
      await img.decode().catch(() => undefined);
    }
    this.image = img;
    this.build();
    this.lastRenderMs = performance.now() - t0;
    this.node.dataset.renderMs = this.lastRenderMs.toFixed(2);
  }

  dispose(): void {
    this.abort.abort();
    this.panels = [];
    this.image = null;
    this.node.replaceChildren();
  }

  private build(): void {
    const p = this.payload;
    const signal = this.abort.signal;
    this.node.replaceChildren();
    if (p.title) this.node.append(el("div", { class: "jp-Paligemma-title" }, p.title));
    this.node.append(this.toolbar(signal));
    const stage = el("div", { class: `jp-Paligemma-stage jp-Paligemma-${this.layout}` });
    const groups = this.layout === "side-by-side" && p.layers.length > 1 ? p.layers.map((l) => [l]) : [p.layers];
    this.panels = groups.map((layers) => {
      const canvas = el("canvas", { width: p.image.width, height: p.image.height, class: "jp-Paligemma-canvas", role: "img", "aria-label": `${layers.map((l) => l.name).join(" and ")}: ${layers.reduce((a, l) => a + l.boxes.length, 0)} boxes` });
      canvas.style.maxWidth = `${Math.max(p.image.width, 320)}px`;
      const viewport = el("div", { class: "jp-Paligemma-viewport" }, canvas);
      viewport.style.maxWidth = canvas.style.maxWidth;
      const panel: Panel = { layers, canvas, masks: null, outlines: null, viewport };
      canvas.addEventListener("mousemove", (e) => this.hover(panel, e), { signal });
      canvas.addEventListener("mouseleave", () => (this.tooltip.hidden = true), { signal });
      const wrap = el("figure", { class: "jp-Paligemma-panel" }, viewport);
      if (groups.length > 1) wrap.append(el("figcaption", {}, layers[0].name));
      stage.append(wrap);
      return panel;
    });
    stage.append(this.tooltip);
    this.node.append(stage);
    if (p.caption) this.node.append(el("pre", { class: "jp-Paligemma-caption" }, p.caption));
    for (const panel of this.panels) this.draw(panel, true);
    this.zoom.attach(this.panels);
  }


  private toolbar(signal: AbortSignal): HTMLElement {
    const p = this.payload;
    const bar = el("div", { class: "jp-Paligemma-toolbar" });
    if (this.colorBy === "outcome" && p.matching) bar.append(this.outcomeLegend());
    const legend = el("div", { class: "jp-Paligemma-legend", role: "group", "aria-label": "classes (click to hide or show)" });
    const countOf = (id: number) => p.layers.reduce((a, l) => a + l.boxes.filter((b) => b.classId === id).length, 0);
    for (const c of p.classes) {
      const color = safeColor(c.color);
      const btn = el("button", { class: "jp-Paligemma-legendItem", type: "button", "aria-pressed": String(!this.hidden.has(c.id)), "data-class-id": c.id, title: "hide / show" },
        el("span", { class: "jp-Paligemma-swatch", "aria-hidden": "true" }),
        c.name || `class ${c.id}`,
        el("span", { class: "jp-Paligemma-count" }, this.classStats(c.id) ?? String(countOf(c.id))));
      (btn.firstChild as HTMLElement).style.background = color;
      btn.addEventListener("click", () => {
        if (this.hidden.has(c.id)) this.hidden.delete(c.id);
        else this.hidden.add(c.id);
        btn.setAttribute("aria-pressed", String(!this.hidden.has(c.id)));
        for (const panel of this.panels) this.draw(panel, true);
      }, { signal });
      legend.append(btn);
    }
    bar.append(legend);
    if (p.layers.length > 1) {
      for (const l of p.layers) {
        const box = el("input", { type: "checkbox", checked: !this.hiddenLayers.has(l.name), "aria-label": `show ${l.name}` });
        box.addEventListener("change", () => {
          if (box.checked) this.hiddenLayers.delete(l.name);
          else this.hiddenLayers.add(l.name);
          for (const panel of this.panels) this.draw(panel, true);
        }, { signal });
        bar.append(el("label", { class: "jp-Paligemma-layerToggle" }, box, ` ${l.name}${l.role === "truth" ? " (dashed)" : ""}`));
      }
      const toggle = el("button", { type: "button", class: "jp-Paligemma-layoutToggle" }, this.layout === "overlay" ? "side by side" : "overlay");
      toggle.addEventListener("click", () => {
        this.layout = this.layout === "overlay" ? "side-by-side" : "overlay";
        this.build();
      }, { signal });
      bar.append(toggle);
    }
    if (p.matching) {
      const by = el("button", { type: "button", class: "jp-Paligemma-colorBy", "aria-pressed": String(this.colorBy === "outcome") }, this.colorBy === "outcome" ? "colour by class" : "colour by outcome");
      by.addEventListener("click", () => {
        this.colorBy = this.colorBy === "outcome" ? "class" : "outcome";
        this.build();
      }, { signal });
      bar.append(by);
    }
    bar.append(this.zoom.controls());
    if (p.layers.some((l) => l.boxes.some((b) => b.mask))) {
      const slider = el("input", { type: "range", min: 0, max: 100, value: Math.round(this.opacity * 100), "aria-label": "mask opacity", class: "jp-Paligemma-opacity" });
      slider.addEventListener("input", () => {
        this.opacity = Number(slider.value) / 100;
        for (const panel of this.panels) this.draw(panel, false);
      }, { signal });
      bar.append(el("label", {}, "mask opacity ", slider));
    }
    return bar;
  }

  /** Legend of outcomes: swatch, name, count; precision/recall over all classes. */
  private outcomeLegend(): HTMLElement {
    const m = this.payload.matching!;
    const box = el("div", { class: "jp-Paligemma-legend jp-Paligemma-outcomes", role: "group", "aria-label": "outcomes" });
    const count: Record<Outcome, number> = { tp: m.total.tp, fp: m.total.fp, fn: m.total.fn };
    for (const o of ["tp", "fp", "fn"] as Outcome[]) {
      const sw = el("span", { class: "jp-Paligemma-swatch", "aria-hidden": "true" });
      sw.style.background = OUTCOME_COLORS[o];
      box.append(el("span", { class: "jp-Paligemma-outcome", "data-outcome": o }, sw, ` ${OUTCOME_NAMES[o]} `, el("span", { class: "jp-Paligemma-count" }, String(count[o]))));
    }
    box.append(el("span", { class: "jp-Paligemma-pr" }, `P ${fmt(m.total.precision, 3)} · R ${fmt(m.total.recall, 3)} @ IoU ${m.iouThreshold}`));
    return box;
  }

  /** `P 0.5 R 1` for a class when the view is matched. */
  private classStats(id: number): string | null {
    const c = this.payload.matching?.perClass.find((x) => x.classId === id);
    return c ? `P ${fmt(c.precision, 2)} R ${fmt(c.recall, 2)}` : null;
  }

  private visibleBoxes(panel: Panel): { layer: AnnotationLayer; box: BoxAnnotation }[] {
    return panel.layers.filter((l) => !this.hiddenLayers.has(l.name)).flatMap((layer) => layer.boxes.filter((b) => !this.hidden.has(b.classId)).map((box) => ({ layer, box })));
  }

  private color(id: number): string {
    return safeColor(this.payload.classes.find((c) => c.id === id)?.color);
  }

  /** A box's drawing colour: by outcome or by class (protocol.ts `boxColor`). */
  private boxColorOf(b: BoxAnnotation): string {
    return safeColor(boxColor(b, this.colorBy, this.color(b.classId)));
  }

  /** Redraws a panel; `rebuildMasks` when the visible set changed (opacity changes reuse the mask layer). */
  private draw(panel: Panel, rebuildMasks: boolean): void {
    const p = this.payload;
    const { width: w, height: h } = p.image;
    const ctx = panel.canvas.getContext("2d");
    if (!ctx) return;
    const items = this.visibleBoxes(panel);
    if (rebuildMasks) {
      const withMask = items.filter((i) => i.box.mask);
      panel.masks = null;
      if (withMask.length) {
        const layer = document.createElement("canvas");
        layer.width = w;
        layer.height = h;
        const lctx = layer.getContext("2d")!;
        const data = lctx.createImageData(w, h);
        for (const { layer: l, box } of withMask) {
          const c = this.boxColorOf(box);
          paintMask(data.data, w, h, box.mask!, rgb(l.role === "truth" ? tint(c) : c)); // truth tinted: never merges with the prediction
        }
        lctx.putImageData(data, 0, 0);
        panel.masks = layer;
        // Outlines: the fill colours, opaque, only on boundary pixels.
        const ol = document.createElement("canvas");
        ol.width = w;
        ol.height = h;
        const octx = ol.getContext("2d")!;
        const od = octx.createImageData(w, h);
        od.data.set(outlineLayer(data.data, w, h));
        octx.putImageData(od, 0, 0);
        panel.outlines = ol;
      }
    }
    ctx.clearRect(0, 0, w, h);
    if (this.image && this.image.complete && this.image.naturalWidth > 0) ctx.drawImage(this.image, 0, 0, w, h);
    if (panel.masks && this.opacity > 0) {
      ctx.globalAlpha = this.opacity;
      ctx.drawImage(panel.masks, 0, 0);
      ctx.globalAlpha = 1;
      if (panel.outlines) ctx.drawImage(panel.outlines, 0, 0);
    }
    const sx = w / p.image.naturalWidth;
    const sy = h / p.image.naturalHeight;
    const t = lineWidthFor(w, h);
    ctx.font = `${FONT}px sans-serif`;
    ctx.textBaseline = "top";
    const labels: { req: LabelRequest; text: string; color: string }[] = [];
    for (const { layer, box } of items) {
      const color = this.boxColorOf(box);
      const [x0, y0, x1, y1] = boxPixels(box, sx, sy, w, h);
      ctx.fillStyle = color;
      if (layer.role === "truth") {
        for (let x = x0; x <= x1; x += 10) {
          const len = Math.min(6, x1 - x + 1);
          ctx.fillRect(x, y0, len, t);
          ctx.fillRect(x, y1 - t + 1, len, t);
        }
        for (let y = y0; y <= y1; y += 10) {
          const len = Math.min(6, y1 - y + 1);
          ctx.fillRect(x0, y, t, len);
          ctx.fillRect(x1 - t + 1, y, t, len);
        }
      } else {
        ctx.fillRect(x0, y0, x1 - x0 + 1, t);
        ctx.fillRect(x0, y1 - t + 1, x1 - x0 + 1, t);
        ctx.fillRect(x0, y0, t, y1 - y0 + 1);
        ctx.fillRect(x1 - t + 1, y0, t, y1 - y0 + 1);
      }
      if (p.options.showLabels) {
        const text = this.label(box, layer);
        labels.push({ req: { box: [x0, y0, x1, y1], w: Math.min(w, Math.ceil(ctx.measureText(text).width) + 6), h: FONT + 4 }, text, color });
      }
    }
    // Labels after all boxes, placed so that none covers another or leaves the canvas (labels.ts, as in the PNG).
    placeLabels(labels.map((l) => l.req), w, h).forEach((pos, i) => {
      const { req, text, color } = labels[i];
      ctx.fillStyle = color;
      ctx.fillRect(pos.x, pos.y, req.w, req.h);
      ctx.fillStyle = textOn(color);
      ctx.fillText(text, pos.x + 3, pos.y + 2, req.w - 6); // canvas text: never parsed as HTML
    });
  }

  private label(b: BoxAnnotation, layer: AnnotationLayer): string {
    const name = this.payload.classes.find((c) => c.id === b.classId)?.name || `class ${b.classId}`;
    const conf = this.payload.options.showConfidence && b.confidence !== undefined ? ` ${fmt(b.confidence, 2)}` : "";
    const iou = b.outcome === "tp" && layer.role === "prediction" && b.iou !== undefined ? ` IoU ${fmt(b.iou, 2)}` : "";
    return `${name}${conf}${iou}`;
  }

  private hover(panel: Panel, e: MouseEvent): void {
    const p = this.payload;
    const r = panel.canvas.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return;
    const nx = ((e.clientX - r.left) / r.width) * p.image.naturalWidth;
    const ny = ((e.clientY - r.top) / r.height) * p.image.naturalHeight;
    const hits = this.visibleBoxes(panel)
      .filter(({ box: b }) => nx >= b.xyxy[0] && nx <= b.xyxy[2] && ny >= b.xyxy[1] && ny <= b.xyxy[3])
      .sort((a, b) => area(a.box) - area(b.box) || (a.layer.role === "prediction" ? -1 : 0) - (b.layer.role === "prediction" ? -1 : 0)); // smallest first; ties: the prediction
    if (hits.length === 0) {
      this.tooltip.hidden = true;
      return;
    }
    const { layer, box } = hits[0];
    const name = p.classes.find((c) => c.id === box.classId)?.name || `class ${box.classId}`;
    const outcome = box.outcome ? ` · ${OUTCOME_NAMES[box.outcome]} · IoU ${fmt(box.iou ?? 0, 2)}` : "";
    this.tooltip.textContent = `${name}${box.confidence !== undefined ? ` · score ${fmt(box.confidence, 3)}` : ""} · ${layer.name}${outcome}`;
    const stage = this.tooltip.parentElement!.getBoundingClientRect();
    this.tooltip.style.left = `${e.clientX - stage.left + 12}px`;
    this.tooltip.style.top = `${e.clientY - stage.top + 12}px`;
    this.tooltip.hidden = false;
  }
}

function area(b: BoxAnnotation): number {
  return (b.xyxy[2] - b.xyxy[0]) * (b.xyxy[3] - b.xyxy[1]);
}
