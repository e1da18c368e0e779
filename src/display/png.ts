/**
 * The static picture of an annotation view: preview pixels with masks blended (truth tinted, outlines opaque), box
 * outlines drawn pixel-exact (truth dashed, prediction solid; by class or by TP/FP/miss outcome), labels on
 * coloured tags placed without collisions (labels.ts), and below the image the legend (with precision/recall when
 * matched) and the caption, encoded as PNG with sharp. Used as the
 * `image/png` fallback (nbconvert, GitHub, JupyterLab without the extension) and by `annotate()`.
 *
 * @example
 * const { payload, rgb } = await buildAnnotations("dog.jpg", { prediction: dets });
 * await writeFile("dog-boxes.png", await renderAnnotationsPng(payload, rgb));
 */
import sharp from "sharp";
import { OUTCOME_COLORS, OUTCOME_NAMES, boxColor, type AnnotationsPayload, type BoxAnnotation } from "./protocol.js";
import { maskOutline, placeLabels, tint, type LabelRequest } from "./labels.js";
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

/** Blends a mask's fill at `alpha` and draws its outline (the mask's boundary pixels) opaque, so touching masks stay apart. */
function blendMask(c: Canvas, ox: number, pw: number, ph: number, b: BoxAnnotation, rgb: [number, number, number], alpha: number): void {
  const m = b.mask!;
  const src = decodeMaskRle(m);
  const bits = new Uint8Array(pw * ph); // the mask on the panel grid
  for (let y = 0; y < ph; y++) {
    const my = Math.min(m.height - 1, Math.floor(((y + 0.5) * m.height) / ph));
    for (let x = 0; x < pw; x++) bits[y * pw + x] = src[my * m.width + Math.min(m.width - 1, Math.floor(((x + 0.5) * m.width) / pw))];
  }
  const edge = maskOutline(bits, pw, ph);
  for (let k = 0; k < pw * ph; k++) {
    if (!bits[k]) continue;
    const i = (Math.floor(k / pw) * c.width + ox + (k % pw)) * 3;
    const a = edge[k] ? 1 : alpha;
    for (let j = 0; j < 3; j++) c.data[i + j] = Math.round((1 - a) * c.data[i + j] + a * rgb[j]);
  }
}

/** One legend entry: a swatch and its text. */
interface LegendEntry {
  color: string;
  text: string;
  dashed?: boolean;
}

/** The legend of a payload, as the PNG draws it (and as the text fallback lists it). */
export function legendEntries(p: AnnotationsPayload): LegendEntry[] {
  const cls = new Map(p.classes.map((k) => [k.id, k]));
  const nameOf = (id: number) => cls.get(id)?.name || `class ${id}`;
  if (p.options.colorBy === "outcome" && p.matching) {
    const t = p.matching.total;
    const pr = (v: number | null) => (v === null ? "–" : formatNumber(v, 3));
    const out: LegendEntry[] = [
      { color: OUTCOME_COLORS.tp, text: `${OUTCOME_NAMES.tp} ${t.tp}` },
      { color: OUTCOME_COLORS.fp, text: `${OUTCOME_NAMES.fp} ${t.fp}` },
      { color: OUTCOME_COLORS.fn, text: `${OUTCOME_NAMES.fn} ${t.fn}`, dashed: true },
      { color: "", text: `P ${pr(t.precision)} · R ${pr(t.recall)} @ IoU ${p.matching.iouThreshold}` },
    ];
    for (const c of p.matching.perClass) out.push({ color: cls.get(c.classId)?.color ?? "#888888", text: `${nameOf(c.classId)}: P ${pr(c.precision)} R ${pr(c.recall)}` });
    return out;
  }
  const count = (id: number) => p.layers.reduce((a, l) => a + l.boxes.filter((b) => b.classId === id).length, 0);
  const out: LegendEntry[] = p.classes.map((c) => ({ color: c.color, text: `${nameOf(c.id)} ${count(c.id)}` }));
  if (p.layers.length > 1) out.push({ color: "", text: "truth dashed, prediction solid" });
  return out;
}

/**
 * Greedy word wrap at `cols` characters: breaks at spaces; a word longer than a line (a run of `<loc>` tokens) is
 * broken between its `<…>` tokens, and only a single token longer than a line is cut inside.
 */
export function wrapText(text: string, cols: number): string[] {
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    const words = para.split(/(?<=\s)/).flatMap((w) => (w.length > cols ? w.split(/(?=<)/) : [w]));
    for (const word of words) {
      if ((line + word).length > cols) {
        if (line.trim() !== "") lines.push(line.trimEnd());
        line = ""; // a blank indent that does not fit is dropped
      }
      line += word;
      while (line.length > cols) {
        lines.push(line.slice(0, cols));
        line = line.slice(cols);
      }
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

const LINE = FONT + 6; // legend/caption line height

/** Renders the payload's layers on `rgb` (the preview, `image.width`×`image.height`×3) → PNG bytes, with the legend and caption below. */
export async function renderAnnotationsPng(p: AnnotationsPayload, rgb: Uint8Array): Promise<Buffer> {
  const { width: pw, height: ph, naturalWidth, naturalHeight } = p.image;
  if (rgb.length !== pw * ph * 3) throw new DisplayError("rgb", `expected ${pw}·${ph}·3 bytes for the preview; got ${rgb.length}`);
  const panels = p.options.layout === "side-by-side" && p.layers.length > 1 ? p.layers.map((l) => [l]) : [p.layers];
  const width = panels.length * pw + (panels.length - 1) * GAP;
  // Legend entries flow left to right; caption lines below them.
  const legend = legendEntries(p);
  const charW = FONT * 0.6;
  const legendRows: { x: number; e: LegendEntry }[][] = [[]];
  let lx = 4;
  for (const e of legend) {
    const w = (e.color ? 16 : 0) + Math.ceil(e.text.length * charW) + 14;
    if (lx + w > width && legendRows.at(-1)!.length > 0) {
      legendRows.push([]);
      lx = 4;
    }
    legendRows.at(-1)!.push({ x: lx, e });
    lx += w;
  }
  const caption = p.caption ? wrapText(p.caption, Math.max(20, Math.floor((width - 8) / charW))).slice(0, 12) : [];
  const bandH = (legend.length ? legendRows.length * LINE : 0) + caption.length * LINE + 6;
  const height = ph + bandH;
  const c: Canvas = { data: new Uint8Array(width * height * 3).fill(255), width, height };
  const sx = pw / naturalWidth;
  const sy = ph / naturalHeight;
  const t = lineWidthFor(pw, ph);
  const classColor = new Map(p.classes.map((k) => [k.id, k.color]));
  const name = new Map(p.classes.map((k) => [k.id, k.name]));
  const colorOf = (b: BoxAnnotation) => boxColor(b, p.options.colorBy, classColor.get(b.classId) ?? "#ff0000");
  const svg: string[] = [];
  panels.forEach((layers, pi) => {
    const ox = pi * (pw + GAP);
    for (let y = 0; y < ph; y++) c.data.set(rgb.subarray(y * pw * 3, (y + 1) * pw * 3), (y * width + ox) * 3);
    for (const l of layers) for (const b of l.boxes) if (b.mask) blendMask(c, ox, pw, ph, b, hexToRgb(l.role === "truth" ? tint(colorOf(b)) : colorOf(b)), p.options.maskOpacity);
    const requests: LabelRequest[] = [];
    const texts: { text: string; hex: string }[] = [];
    for (const l of layers) {
      for (const b of l.boxes) {
        const hex = colorOf(b);
        const r = boxPixels(b, sx, sy, pw, ph);
        strokeBox(c, ox, r, t, hexToRgb(hex), l.role === "truth");
        if (!p.options.showLabels) continue;
        const text = `${name.get(b.classId) || `class ${b.classId}`}${p.options.showConfidence && b.confidence !== undefined ? ` ${formatNumber(b.confidence, 2)}` : ""}${b.outcome === "tp" && l.role === "prediction" && b.iou !== undefined ? ` IoU ${formatNumber(b.iou, 2)}` : ""}`;
        requests.push({ box: r, w: Math.min(pw, Math.ceil(text.length * charW) + 6), h: FONT + 4 });
        texts.push({ text, hex });
      }
    }
    placeLabels(requests, pw, ph).forEach((pos, i) => {
      const { w, h } = requests[i];
      fillRect(c, ox, pos.x, pos.y, pos.x + w - 1, pos.y + h - 1, hexToRgb(texts[i].hex));
      svg.push(`<text x="${ox + pos.x + 3}" y="${pos.y + FONT}" fill="${textColorOn(texts[i].hex)}">${escapeHtml(texts[i].text)}</text>`);
    });
  });
  // Legend: swatches (dashed ones as two short bars) and text; then the caption in monospace.
  let y = ph + 4;
  for (const row of legendRows) {
    for (const { x, e } of row) {
      if (e.color) {
        if (e.dashed) {
          fillRect(c, 0, x, y + 4, x + 4, y + 12, hexToRgb(e.color));
          fillRect(c, 0, x + 7, y + 4, x + 11, y + 12, hexToRgb(e.color));
        } else fillRect(c, 0, x, y + 4, x + 11, y + 12, hexToRgb(e.color));
      }
      svg.push(`<text x="${x + (e.color ? 16 : 0)}" y="${y + FONT}" fill="#222222">${escapeHtml(e.text)}</text>`);
    }
    y += LINE;
  }
  for (const line of caption) {
    svg.push(`<text x="4" y="${y + FONT}" fill="#333333" font-family="DejaVu Sans Mono, monospace" xml:space="preserve">${escapeHtml(line)}</text>`);
    y += LINE;
  }
  let img = sharp(c.data, { raw: { width, height, channels: 3 } });
  if (svg.length > 0) {
    const markup = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="${FONT}">${svg.join("")}</svg>`;
    img = sharp(await img.png().toBuffer()).composite([{ input: Buffer.from(markup), top: 0, left: 0 }]);
  }
  return img.png({ compressionLevel: 9, palette: true, colours: 256, dither: 0 }).toBuffer();
}

/** The scale from original-image pixels to preview pixels. */
export function previewScale(p: AnnotationsPayload): { sx: number; sy: number } {
  return { sx: p.image.width / p.image.naturalWidth, sy: p.image.height / p.image.naturalHeight };
}
