/**
 * Zoom and pan for the annotation panels: one zoom factor shared by every panel of a view (so truth and prediction
 * side by side stay aligned). Zooming enlarges the canvas (CSS size; the pixels stay the preview's) and its
 * viewport with it, so the view first grows to the width of the output cell, then pans inside it (the viewport
 * scrolls; its height is capped). Ctrl/⌘ + wheel zooms at the pointer (a plain wheel still scrolls the notebook),
 * dragging pans when zoomed in, double-click fits; the toolbar's −, +, fit buttons call `set`.
 */
import { el } from "./dom";

export interface Zoomable {
  canvas: HTMLCanvasElement;
  viewport: HTMLDivElement;
}

export class Zoom {
  /** 1 = fit. */
  factor = 1;
  private panels: Zoomable[] = [];
  /** Each panel's size at fit, measured when zooming starts (no layout reads at fit). */
  private base: { w: number; h: number }[] = [];
  /** Each panel's max-width at fit (inline style, as the view set it). */
  private fitMax: string[] = [];
  readonly level = el("span", { class: "jp-Paligemma-zoomLevel" }, "100%");

  constructor(
    /** Receives `data-zoom` (tests and styling read it). */
    private readonly host: HTMLElement,
    private readonly signal: AbortSignal,
  ) {}

  /** Back to fit (a new payload). */
  reset(): void {
    this.factor = 1;
  }

  /** The panels of the current layout; listens to their gestures. */
  attach(panels: Zoomable[]): void {
    this.panels = panels;
    this.base = [];
    this.fitMax = panels.map((p) => p.canvas.style.maxWidth);
    for (const p of panels) this.gestures(p.viewport);
    this.apply();
  }

  /** The −, level, +, fit controls. */
  controls(): HTMLElement {
    const box = el("span", { class: "jp-Paligemma-zoom", role: "group", "aria-label": "zoom (ctrl + wheel, drag to pan, double-click to reset)" });
    const button = (text: string, label: string, f: () => void) => {
      const b = el("button", { type: "button", class: "jp-Paligemma-zoomBtn", "aria-label": label, title: label }, text);
      b.addEventListener("click", f, { signal: this.signal });
      return b;
    };
    const centre = () => {
      const v = this.panels[0]?.viewport;
      return [(v?.clientWidth ?? 0) / 2, (v?.clientHeight ?? 0) / 2] as const;
    };
    box.append(button("−", "zoom out", () => this.set(this.factor / 1.5, ...centre())), this.level, button("+", "zoom in", () => this.set(this.factor * 1.5, ...centre())), button("⤢", "fit", () => this.set(1, 0, 0)));
    return box;
  }

  /** Sets the zoom (1..16), keeping the point (cx, cy) of the viewport (CSS px from its top-left) still. */
  set(z: number, cx: number, cy: number): void {
    const next = Math.min(16, Math.max(1, z));
    if (this.factor === 1 && next > 1) this.base = this.panels.map((p) => ({ w: p.canvas.clientWidth, h: p.canvas.clientHeight }));
    const k = next / this.factor;
    const scroll = this.panels.map((p) => ({ x: (p.viewport.scrollLeft + cx) * k - cx, y: (p.viewport.scrollTop + cy) * k - cy }));
    this.factor = next;
    this.apply();
    this.panels.forEach((p, i) => {
      p.viewport.scrollLeft = scroll[i].x; // clamped by the browser
      p.viewport.scrollTop = scroll[i].y;
    });
  }

  private gestures(viewport: HTMLDivElement): void {
    const signal = this.signal;
    viewport.addEventListener("wheel", (e) => {
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      const r = viewport.getBoundingClientRect();
      this.set(this.factor * (e.deltaY < 0 ? 1.25 : 0.8), e.clientX - r.left, e.clientY - r.top);
    }, { signal, passive: false });
    let drag: { x: number; y: number; sx: number; sy: number } | null = null;
    viewport.addEventListener("pointerdown", (e) => {
      if (this.factor <= 1) return;
      drag = { x: e.clientX, y: e.clientY, sx: viewport.scrollLeft, sy: viewport.scrollTop };
      viewport.setPointerCapture?.(e.pointerId);
    }, { signal });
    viewport.addEventListener("pointermove", (e) => {
      if (!drag) return;
      for (const p of this.panels) {
        p.viewport.scrollLeft = drag.sx - (e.clientX - drag.x); // panels pan together
        p.viewport.scrollTop = drag.sy - (e.clientY - drag.y);
      }
    }, { signal });
    const stop = () => (drag = null);
    viewport.addEventListener("pointerup", stop, { signal });
    viewport.addEventListener("pointercancel", stop, { signal });
    viewport.addEventListener("dblclick", () => this.set(1, 0, 0), { signal });
  }

  private apply(): void {
    this.host.dataset.zoom = String(Number(this.factor.toFixed(3)));
    this.level.textContent = `${Math.round(this.factor * 100)}%`;
    this.panels.forEach((p, i) => {
      const b = this.base[i];
      if (this.factor === 1 || !b) {
        // Fit: the stylesheet's sizes, and no layout read (that would force a reflow of the notebook on every render).
        p.canvas.style.width = p.canvas.style.height = "";
        p.canvas.style.maxWidth = p.viewport.style.maxWidth = this.fitMax[i] ?? "";
        p.viewport.style.width = p.viewport.style.height = "";
        p.viewport.style.cursor = "";
        p.viewport.scrollLeft = p.viewport.scrollTop = 0;
        return;
      }
      p.canvas.style.maxWidth = "none";
      p.canvas.style.width = `${b.w * this.factor}px`;
      p.canvas.style.height = `${b.h * this.factor}px`;
      p.viewport.style.maxWidth = "100%"; // grows up to the output's width, then pans
      p.viewport.style.width = `${b.w * this.factor}px`;
      p.viewport.style.height = `${Math.min(b.h * this.factor, Math.max(b.h, 640))}px`;
      p.viewport.style.cursor = "grab";
    });
  }
}
