/**
 * The `"grid"` pallet manifest: the compact document (route id, date, city, 1–2 items) drawn in grid text, one
 * glyph per 16 px patch cell of a 224 × 224 image, one value per patch row (see grid-text.ts), so the nano model
 * reads it at the size it was pretrained on. The JSON suffix is the compact format's; the label words are dropped
 * (a title row "MANIFEST" stays), every value fits the grid's 14 cells:
 *
 *     MANIFEST
 *     RT-0123
 *     2024-03-01
 *     Rotterdam
 *     SKU-12345 x240
 *
 * Each photo of a document keeps the grid: a shift of at most 2 px, brightness/contrast, sensor noise, a slight
 * blur, mild JPEG. The document's look (font, weight, size, colours, rows, column) is drawn once per document.
 *
 * @example
 * const rgb = await renderGridManifest(doc, docRng, photoRng); // 224·224·3 bytes
 * gridManifestLines(doc).join("\n");                            // what `ocr` on it should answer
 */
import sharp from "sharp";
import { Random, hsl } from "./common.js";
import { GRID_CELL, GRID_CELLS, gridText, randomGridStyle } from "./grid-text.js";
import type { CompactManifestDocument } from "./manifests.js";

/** Image side of a grid manifest: the nano model's 224 px (14 cells of 16 px). */
export const GRID_MANIFEST_SIZE = GRID_CELL * GRID_CELLS;
export const GRID_MANIFEST_TITLE = "MANIFEST";

/** The text rows of a document, top to bottom (each ≤ 14 characters). */
export function gridManifestLines(doc: CompactManifestDocument): string[] {
  const lines = [GRID_MANIFEST_TITLE, doc.route_id, doc.date, doc.city, ...doc.items.map((it) => `${it.sku} x${it.qty}`)];
  for (const l of lines) {
    if (l.length > GRID_CELLS) throw new RangeError(`grid manifest: ${JSON.stringify(l)} is ${l.length} characters; a row holds ${GRID_CELLS}`);
  }
  return lines;
}

/**
 * One photo of `doc` as raw RGB (224·224·3). `docRng` draws the document's look (call it once per document,
 * right after the document itself), `photoRng` the photo's effects.
 */
export async function renderGridManifest(doc: CompactManifestDocument, docRng: Random, photoRng: Random): Promise<Uint8Array> {
  const size = GRID_MANIFEST_SIZE;
  const lines = gridManifestLines(doc);
  const rowStep = lines.length * 2 - 1 <= GRID_CELLS && docRng.chance(0.5) ? 2 : 1;
  const row0 = docRng.int(0, GRID_CELLS - 1 - (lines.length - 1) * rowStep);
  const col0 = docRng.int(0, GRID_CELLS - Math.max(...lines.map((l) => l.length)));
  const darkText = docRng.chance(0.85);
  const bg = hsl(docRng.uniform(0, 360), docRng.uniform(0, 0.3), darkText ? docRng.uniform(0.75, 0.97) : docRng.uniform(0.05, 0.25));
  const style = randomGridStyle(docRng, darkText);
  const glyphRng = new Random(docRng.int(0, 2 ** 30)); // the glyph jitter belongs to the document too
  const g = gridText(lines, { style, row0, col0, rowStep }, glyphRng);
  // the photo: a whole-image shift of ≤ 2 px (the grid holds), brightness/contrast, noise, a slight blur
  const [dx, dy] = [photoRng.int(-2, 2), photoRng.int(-2, 2)];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="${size}" height="${size}" fill="${bg}"/>` +
    `<g transform="translate(${dx} ${dy})">${g.svg}</g></svg>`;
  const sigma = photoRng.uniform(2, 8);
  const noise = Buffer.alloc(size * size * 3);
  for (let i = 0; i < noise.length; i += 3) noise[i] = noise[i + 1] = noise[i + 2] = Math.max(0, Math.min(255, Math.round(128 + sigma * 3.46 * (photoRng.next() - 0.5) * 2)));
  const [contrast, brightness] = [photoRng.uniform(0.8, 1.15), photoRng.uniform(-20, 20)];
  const flat = await sharp(Buffer.from(svg)).composite([{ input: noise, raw: { width: size, height: size, channels: 3 }, blend: "overlay" }])
    .removeAlpha().linear(contrast, brightness + 128 * (1 - contrast)).raw().toBuffer();
  const blur = photoRng.uniform(0, 0.7);
  const out = blur >= 0.3 ? await sharp(flat, { raw: { width: size, height: size, channels: 3 } }).blur(blur).raw().toBuffer() : flat;
  return new Uint8Array(out);
}
