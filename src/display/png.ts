/**
 * The static picture of an annotation view: preview pixels with masks blended, box outlines drawn pixel-exact
 * (truth dashed, prediction solid) and labels on coloured tags, encoded as PNG with sharp. Used as the
 * `image/png` fallback (nbconvert, GitHub, JupyterLab without the extension) and by `annotate()`.
 *
 * @example
 * const { payload, rgb } = await buildAnnotations("dog.jpg", { prediction: dets });
 * await writeFile("dog-boxes.png", await renderAnnotationsPng(payload, rgb));
 */
import sharp from "sharp";
import type { AnnotationsPayload, BoxAnnotation } from "./protocol.js";
import { decodeMaskRle } from "./mask.js";
import { hexToRgb, textColorOn } from "./palette.js";
import { escapeHtml, formatNumber } from "./html.js";
import { DisplayError } from "./errors.js";

const GAP = 8; // px between side-by-side panels
const FONT = 12; // label font size, px

interface Canvas {
  data: Uint8Array; // RGB
  width: number;
  height: number;
}

/** Outline width for an image: 2 px, thicker on large previews. */
export function lineWidthFor(width: number, height: number): number {
  return Math.max(2, Math.round(Math.max(width, height) / 320));
}

/** The preview-pixel rectangle a box covers, inclusive, clamped to the panel: [x0, y0, x1, y1]. */
export function boxPixels(b: BoxAnnotation, sx: number, sy: number, w: number, h: number): [number, number, number, number] {
  const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  return [clamp(Math.floor(b.xyxy[0] * sx), w - 1), clamp(Math.floor(b.xyxy[1] * sy), h - 1), clamp(Math.ceil(b.xyxy[2] * sx) - 1, w - 1), clamp(Math.ceil(b.xyxy[3] * sy) - 1, h - 1)];
}

function fillRect(c: Canvas, ox: number, x0: number, y0: number, x1: number, y1: number, rgb: [number, number, number]): void {
  for (let y = Math.max(0, y0); y <= Math.min(c.height - 1, y1); y++) {
    for (let x = Math.max(0, x0); x <= x1; x++) {
      const i = (y * c.width + ox + x) * 3;
      c.data[i] = rgb[0];
      c.data[i + 1] = rgb[1];
      c.data[i + 2] = rgb[2];
    }
  }
}

function strokeBox(c: Canvas, ox: number, r: [number, number, number, number], t: number, rgb: [number, number, number], dashed: boolean): void {
  const [x0, y0, x1, y1] = r;
  const on = (k: number) => !dashed || k % 10 < 6; // 6 on, 4 off
  for (let x = x0; x <= x1; x++) {
    if (!on(x - x0)) continue;
    fillRect(c, ox, x, y0, x, Math.min(y1, y0 + t - 1), rgb);
    fillRect(c, ox, x, Math.max(y0, y1 - t + 1), x, y1, rgb);
  }
  for (let y = y0; y <= y1; y++) {
    if (!on(y - y0)) continue;
    fillRect(c, ox, x0, y, Math.min(x1, x0 + t - 1), y, rgb);
    fillRect(c, ox, Math.max(x0, x1 - t + 1), y, x1, y, rgb);
  }
}

function blendMask(c: Canvas, ox: number, pw: number, ph: number, b: BoxAnnotation, rgb: [number, number, number], alpha: number): void {
  const m = b.mask!;
  const bits = decodeMaskRle(m);
  for (let y = 0; y < ph; y++) {
    const my = Math.min(m.height - 1, Math.floor(((y + 0.5) * m.height) / ph));
    for (let x = 0; x < pw; x++) {
      if (!bits[my * m.width + Math.min(m.width - 1, Math.floor(((x + 0.5) * m.width) / pw))]) continue;
      const i = (y * c.width + ox + x) * 3;
      for (let k = 0; k < 3; k++) c.data[i + k] = Math.round((1 - alpha) * c.data[i + k] + alpha * rgb[k]);
    }
  }
}

/** Renders the payload's layers on `rgb` (the preview, `image.width`×`image.height`×3) → PNG bytes. */
export async function renderAnnotationsPng(p: AnnotationsPayload, rgb: Uint8Array): Promise<Buffer> {
  const { width: pw, height: ph, naturalWidth, naturalHeight } = p.image;
  if (rgb.length !== pw * ph * 3) throw new DisplayError("rgb", `expected ${pw}·${ph}·3 bytes for the preview; got ${rgb.length}`);
  const panels = p.options.layout === "side-by-side" && p.layers.length > 1 ? p.layers.map((l) => [l]) : [p.layers];
  const width = panels.length * pw + (panels.length - 1) * GAP;
  const c: Canvas = { data: new Uint8Array(width * ph * 3).fill(255), width, height: ph };
  const sx = pw / naturalWidth;
  const sy = ph / naturalHeight;
  const t = lineWidthFor(pw, ph);
  const color = new Map(p.classes.map((k) => [k.id, k.color]));
  const name = new Map(p.classes.map((k) => [k.id, k.name]));
  const svgLabels: string[] = [];
  panels.forEach((layers, pi) => {
    const ox = pi * (pw + GAP);
    for (let y = 0; y < ph; y++) c.data.set(rgb.subarray(y * pw * 3, (y + 1) * pw * 3), (y * width + ox) * 3);
    for (const l of layers) for (const b of l.boxes) if (b.mask) blendMask(c, ox, pw, ph, b, hexToRgb(color.get(b.classId) ?? "#ff0000"), p.options.maskOpacity);
    for (const l of layers) {
      for (const b of l.boxes) {
        const hex = color.get(b.classId) ?? "#ff0000";
        const r = boxPixels(b, sx, sy, pw, ph);
        strokeBox(c, ox, r, t, hexToRgb(hex), l.role === "truth");
        if (!p.options.showLabels) continue;
        const text = `${name.get(b.classId) || `class ${b.classId}`}${p.options.showConfidence && b.confidence !== undefined ? ` ${formatNumber(b.confidence, 2)}` : ""}`;
        const tw = Math.ceil(text.length * FONT * 0.6) + 6;
        const th = FONT + 4;
        const ty = r[1] - th >= 0 ? r[1] - th : r[1]; // above the box, inside when at the top edge
        fillRect(c, ox, r[0], ty, Math.min(pw - 1, r[0] + tw - 1), ty + th - 1, hexToRgb(hex));
        svgLabels.push(`<text x="${ox + r[0] + 3}" y="${ty + FONT}" fill="${textColorOn(hex)}">${escapeHtml(text)}</text>`);
      }
    }
  });
  let img = sharp(c.data, { raw: { width, height: ph, channels: 3 } });
  if (svgLabels.length > 0) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${ph}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="${FONT}">${svgLabels.join("")}</svg>`;
    img = sharp(await img.png().toBuffer()).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  }
  return img.png({ compressionLevel: 9, palette: true, colours: 256, dither: 0 }).toBuffer();
}

/** The scale from original-image pixels to preview pixels. */
export function previewScale(p: AnnotationsPayload): { sx: number; sy: number } {
  return { sx: p.image.width / p.image.naturalWidth, sy: p.image.height / p.image.naturalHeight };
}
