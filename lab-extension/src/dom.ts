/**
 * DOM helpers for the renderers. Untrusted strings (class names, prefixes, JSON values) only ever become text
 * nodes: `el()` sets `textContent`, never `innerHTML`, and no attribute set here can hold script.
 */

type Attrs = Record<string, string | number | boolean | undefined>;

/** `<tag attrs>text or children</tag>`; text is always a text node. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (/^on/i.test(k)) throw new Error(`el: event attributes are not allowed (${k}); use addEventListener`);
    if (k === "class") e.className = String(v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(typeof c === "string" ? document.createTextNode(c) : c);
  return e;
}

/** The payload of a MIME model: an object, or JSON text (what an older nbformat may store). */
export function readPayload<T>(data: unknown): T {
  if (typeof data === "string") return JSON.parse(data) as T;
  if (typeof data !== "object" || data === null) throw new Error(`expected a JSON object payload; got ${typeof data}`);
  return data as T;
}

/** A number for people (mirrors src/display/html.ts `formatNumber`). */
export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1).replace(/\.?0+e/, "e");
  return String(Number(v.toPrecision(digits)));
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m${String(r).padStart(2, "0")}s`;
  if (m > 0) return `${m}m${String(r).padStart(2, "0")}s`;
  return `${r}s`;
}

/** A CSS variable of the current theme (with a fallback outside JupyterLab). */
export function themeVar(node: Element, name: string, fallback: string): string {
  const v = getComputedStyle(node).getPropertyValue(name).trim();
  return v || fallback;
}

/** Black or white text on a `#rrggbb` background. */
export function textOn(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const r = (n >> 16) & 255;
  const g = (n >> 8) & 255;
  const b = n & 255;
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#000000" : "#ffffff";
}

/** Only `#rrggbb` colours pass (payload colours go into canvas and style properties). */
export function safeColor(c: unknown, fallback = "#ff0000"): string {
  return typeof c === "string" && /^#[0-9a-f]{6}$/i.test(c) ? c : fallback;
}

/** Only `data:image/…` URLs pass (no network, no javascript:). */
export function safeImageSrc(src: unknown): string {
  return typeof src === "string" && /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(src) ? src : "";
}
