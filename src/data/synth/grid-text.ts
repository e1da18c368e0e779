/**
 * Grid text: one glyph per patch cell, the layout the nano model reads (our choice, documented in its model card).
 *
 * A 224 px image cut into 16 px patches is a 14 × 14 grid. Grid text draws each character centred in its own
 * cell (a small jitter of 0–2 px), one text line per patch row, words separated by one empty cell. Every patch
 * then holds exactly one glyph or none, so the patch's own pixels identify its character (no glyph spans
 * several patches, as the free layout's 40 px glyphs did), and the reading order is the row-major order of the
 * non-empty cells. Used by the pretraining mixture (`layout: "grid"`) and by the `"grid"` pallet manifests.
 *
 * @example
 * const g = gridText(["AB 12", "x"], { style: defaultGridStyle(), row0: 2, col0: 1 }, new Random(0));
 * g.glyphs[0]; // { ch: "A", row: 2, col: 1, ... }
 * g.svg;       // <g>…</g> to put in a 224 × 224 SVG
 */
import { Random, escapeXml, hsl } from "./common.js";

/** Pixels per cell (the vision tower's patch size) and cells per side (224 / 16). */
export const GRID_CELL = 16;
export const GRID_CELLS = 14;

/** How the glyphs look; one style per image. */
export interface GridStyle {
  font: string;
  weight: "normal" | "bold";
  fontSize: number; // px; 12–15 fits a glyph inside its 16 px cell
  fg: string;
  /** Maximum jitter of a glyph's centre in x and y, in px (0–2). */
  jitter: number;
}

export interface GridGlyph {
  ch: string;
  row: number;
  col: number;
  /** The glyph's centre in image pixels. */
  cx: number;
  cy: number;
}

export interface GridText {
  /** SVG elements (no `<svg>` wrapper) drawing the glyphs. */
  svg: string;
  glyphs: GridGlyph[];
  /** Each word with its row and first/last column (inclusive). */
  words: { text: string; row: number; col0: number; col1: number }[];
}

const GRID_FONTS = ["DejaVu Sans Mono", "DejaVu Sans", "DejaVu Serif", "DejaVu Sans Condensed"];

export function defaultGridStyle(): GridStyle {
  return { font: "DejaVu Sans Mono", weight: "normal", fontSize: 14, fg: "#111111", jitter: 0 };
}

/** A random style (font, weight, size 12–15 px, jitter 0–2 px); `fg` contrasts with a light or dark background. */
export function randomGridStyle(rng: Random, darkText: boolean): GridStyle {
  const font = rng.pick(GRID_FONTS);
  const weight = rng.chance(0.35) ? "bold" : "normal";
  const fontSize = rng.int(12, 15);
  const fg = hsl(rng.uniform(0, 360), rng.uniform(0, 0.6), darkText ? rng.uniform(0, 0.3) : rng.uniform(0.75, 1));
  return { font, weight, fontSize, fg, jitter: rng.int(0, 2) };
}

/**
 * Draw `lines` starting at cell (row0, col0): line l on patch row row0 + l·rowStep, character i in column
 * col0 + i. Spaces leave their cell empty. Throws RangeError when a line does not fit the grid.
 */
export function gridText(lines: readonly string[], o: { style: GridStyle; row0: number; col0: number; rowStep?: number }, rng: Random): GridText {
  const step = o.rowStep ?? 1;
  const { style } = o;
  const glyphs: GridGlyph[] = [];
  const words: GridText["words"] = [];
  const parts: string[] = [];
  lines.forEach((line, l) => {
    const row = o.row0 + l * step;
    if (row < 0 || row >= GRID_CELLS || o.col0 < 0 || o.col0 + line.length > GRID_CELLS) {
      throw new RangeError(`gridText: line ${JSON.stringify(line)} at row ${row}, column ${o.col0} does not fit ${GRID_CELLS} × ${GRID_CELLS} cells`);
    }
    let start = -1;
    for (let i = 0; i <= line.length; i++) {
      const ch = line[i];
      if (ch !== undefined && ch !== " ") {
        if (start < 0) start = i;
        const col = o.col0 + i;
        const cx = col * GRID_CELL + GRID_CELL / 2 + rng.uniform(-style.jitter, style.jitter);
        const cy = row * GRID_CELL + GRID_CELL / 2 + rng.uniform(-style.jitter, style.jitter);
        // baseline ≈ centre + 0.36 em: the middle of a capital or digit sits on the cell's centre
        parts.push(`<text x="${cx.toFixed(1)}" y="${(cy + style.fontSize * 0.36).toFixed(1)}">${escapeXml(ch)}</text>`);
        glyphs.push({ ch, row, col, cx, cy });
      } else if (start >= 0) {
        words.push({ text: line.slice(start, i), row, col0: o.col0 + start, col1: o.col0 + i - 1 });
        start = -1;
      }
    }
  });
  const svg = `<g font-family="${style.font}" font-size="${style.fontSize}" font-weight="${style.weight}" fill="${style.fg}" text-anchor="middle">${parts.join("")}</g>`;
  return { svg, glyphs, words };
}
