/**
 * Zoom and pan for the annotation panels: one zoom factor and pan offset shared by every panel of a view (so truth
 * and prediction side by side stay aligned), applied as a CSS transform of each canvas inside a clipping viewport.
 * Ctrl/⌘ + wheel zooms at the pointer (a plain wheel still scrolls the notebook), dragging pans when zoomed in,
 * double-click fits; the toolbar's −, +, fit buttons call `set`.
 */
import { el } from "./dom";

export interface Zoomable {
  canvas: HTMLCanvasElement;
  viewport: HTMLDivElement;
}

export class Zoom {
  /** 1 = fit. */
  factor = 1;
  private pan = { x: 0, y: 0 };
  private panels: Zoomable[] = [];
  readonly level = el("span", { class: "jp-Paligemma-zoomLevel" }, "100%");

  constructor(
    /** Receives `data-zoom` (tests and styling read it). */
    private readonly host: HTMLElement,
    private readonly signal: AbortSignal,
  ) {}

  /** Back to fit (a new payload). */
  reset(): void {
    this.factor = 1;
    this.pan = { x: 0, y: 0 };
  }

  /** The panels of the current layout; listens to their gestures. */
  attach(panels: Zoomable[]): void {
    this.panels = panels;
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

  /** Sets the zoom (1..16), keeping the point (cx, cy) of the viewport still. */
  set(z: number, cx: number, cy: number): void {
    const next = Math.min(16, Math.max(1, z));
    const k = next / this.factor;
    this.pan = { x: cx - k * (cx - this.pan.x), y: cy - k * (cy - this.pan.y) };
    this.factor = next;
    this.apply();
  }

  private gestures(viewport: HTMLDivElement): void {
    const signal = this.signal;
    viewport.addEventListener("wheel", (e) => {
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      const r = viewport.getBoundingClientRect();
      this.set(this.factor * (e.deltaY < 0 ? 1.25 : 0.8), e.clientX - r.left, e.clientY - r.top);
    }, { signal, passive: false });
    let drag: { x: number; y: number; px: number; py: number } | null = null;
    viewport.addEventListener("pointerdown", (e) => {
      if (this.factor <= 1) return;
      drag = { x: e.clientX, y: e.clientY, px: this.pan.x, py: this.pan.y };
      viewport.setPointerCapture?.(e.pointerId);
    }, { signal });
    viewport.addEventListener("pointermove", (e) => {
      if (!drag) return;
      this.pan = { x: drag.px + e.clientX - drag.x, y: drag.py + e.clientY - drag.y };
      this.apply();
    }, { signal });
    const stop = () => (drag = null);
    viewport.addEventListener("pointerup", stop, { signal });
    viewport.addEventListener("pointercancel", stop, { signal });
    viewport.addEventListener("dblclick", () => this.set(1, 0, 0), { signal });
  }

  private apply(): void {
    this.host.dataset.zoom = String(Number(this.factor.toFixed(3)));
    this.level.textContent = `${Math.round(this.factor * 100)}%`;
    if (this.factor === 1) {
      // Fit: no transform, and no layout read (that would force a reflow of the whole notebook on every render).
      this.pan = { x: 0, y: 0 };
      for (const p of this.panels) {
        p.canvas.style.transform = "";
        p.viewport.style.cursor = "";
      }
      return;
    }
    for (const p of this.panels) {
      const vw = p.viewport.clientWidth || p.canvas.clientWidth;
      const vh = p.viewport.clientHeight || p.canvas.clientHeight;
      this.pan.x = Math.min(0, Math.max(vw - vw * this.factor, this.pan.x)); // the image keeps covering the viewport
      this.pan.y = Math.min(0, Math.max(vh - vh * this.factor, this.pan.y));
      p.canvas.style.transformOrigin = "0 0";
      p.canvas.style.transform = `translate(${this.pan.x}px, ${this.pan.y}px) scale(${this.factor})`;
      p.viewport.style.cursor = "grab";
    }
  }
}
