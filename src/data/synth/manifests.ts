/**
 * Synthetic pallet manifests for JSON extraction, deterministic by seed: a document (route id, shipment id,
 * delivery address, a product table) drawn as SVG, then "photographed" with sharp: stains on the paper,
 * perspective-ish skew, rotation, placement on a textured surface, a lighting gradient and vignette, sensor
 * noise, blur and JPEG compression. The suffix is the document's JSON; the prefix `extract JSON`.
 *
 * Splits as in the seed notebook: 30 / 10 / 10 documents, each train document photographed 5 times (150 train
 * images), valid and test once. Output: the Roboflow PaliGemma layout (`{train,valid,test}/annotations.jsonl`).
 *
 * Two formats. `"full"` (default): the tutorial-like document (route, shipment, date, address, 3–6 item rows; JSON
 * ~500 characters) photographed at 448 × 576, its table text 11–13 px. `"compact"`: the same kind of manifest cut to
 * what a 224 px model can read and a 2-core CPU can generate in the main job's ten minutes — route id, date, city
 * and 1–2 items (sku, qty), JSON 90–131 characters, on a 240 px paper in a 224 × 224 photo (text ~13–16 px in the
 * image, inside the nano model's pretraining curriculum; the full format's text shrinks to ~5 px at 224 px).
 * `"grid"`: the compact document and JSON drawn in grid text at 224 × 224 (manifests-grid.ts): one glyph per
 * 16 px patch cell, one value per row, photos that keep the grid (shift ≤ 2 px, light, noise, slight blur).
 *
 * Text needs a font: sharp's SVG renderer (librsvg + pango) finds fonts through fontconfig. Without any
 * installed (`fc-list` empty; fix with `apt-get install -y fonts-dejavu-core`) every character is drawn as the
 * same empty box; the generator still works and `fontsAvailable()` / the summary's `fonts` report it.
 *
 * @example
 * const s = await synthManifests({ out: "manifests", seed: 7 });  // ~170 JPEGs in a few seconds
 * const { train } = await loadDataset("manifests");
 * JSON.parse((await train!.get(0)).suffix).route_id; // "RT-…"
 */
import { ensureDir, writeFileAtomic } from "../../util/atomic-write.js";
import { join } from "node:path";
import sharp from "sharp";
import { writeJsonl, type JsonlExample } from "../jsonl.js";
import { Random, checkSynthOptions, escapeXml, hsl, itemSeed, mapLimit, type SplitCounts } from "./common.js";
import type { SynthSummary } from "./shapes.js";
import { GRID_MANIFEST_SIZE, renderGridManifest } from "./manifests-grid.js";

/**
 * A manifest's format: the tutorial-like full document, the short one sized for the nano model, or that short
 * document in grid text (one glyph per 16 px patch cell; manifests-grid.ts), the layout the nano model reads.
 */
export type ManifestFormat = "full" | "compact" | "grid";
export const MANIFEST_FORMATS: readonly ManifestFormat[] = ["full", "compact", "grid"];

/** The document a manifest image shows (format "full"); its JSON is the suffix. */
export interface ManifestDocument {
  route_id: string;
  shipment_id: string;
  date: string;
  delivery_address: { name: string; street: string; city: string; postal_code: string; country: string };
  items: { sku: string; description: string; quantity: number; weight_kg: number }[];
  total_weight_kg: number;
}

export interface ManifestOptions {
  out: string;
  seed?: number;
  /** Documents per split. Default { train: 30, valid: 10, test: 10 }. */
  counts?: Partial<SplitCounts>;
  /** Photographs of each train document. Default 5. */
  trainVariants?: number;
  /** "full" (default), "compact" or "grid". */
  format?: ManifestFormat;
  /** Output image size. Default 448 × 576 (full), 224 × 224 (compact; grid: 224 × 224 only). */
  width?: number;
  height?: number;
}

/** The prompt of every manifest example. */
export const MANIFEST_PREFIX = "extract JSON";

const COMPANIES = ["Northwind Foods", "Baltic Hardware", "Alpine Dairy Co", "Meridian Pharma", "Cedar & Sons", "Orbit Electronics", "Greenfield Farms", "Harbor Paper Mill"];
const STREETS = ["Industrial Way", "Harbour Road", "Mill Street", "Station Avenue", "Logistics Park", "Canal Street", "Oak Lane", "Dock Road"];
const CITIES: [string, string, string][] = [["Rotterdam", "3011", "Netherlands"], ["Hamburg", "20095", "Germany"], ["Lyon", "69002", "France"], ["Gdansk", "80-001", "Poland"], ["Leeds", "LS1 4DT", "United Kingdom"], ["Milan", "20121", "Italy"], ["Porto", "4000-123", "Portugal"], ["Aarhus", "8000", "Denmark"]];
const PRODUCTS = ["Canned tomatoes 400g", "Copper pipe 15mm", "UHT milk 1L", "Paracetamol 500mg", "Pine planks 2m", "USB-C cables", "Oat flakes 1kg", "A4 copy paper", "Olive oil 750ml", "Steel bolts M8", "Bottled water 1.5L", "LED bulbs E27"];

/** A random manifest (pure function of the Rng). */
export function makeManifest(rng: Random): ManifestDocument {
  const [city, postal, country] = rng.pick(CITIES);
  const n = rng.int(3, 6);
  const items = Array.from({ length: n }, () => ({
    sku: `SKU-${rng.int(10000, 99999)}`,
    description: rng.pick(PRODUCTS),
    quantity: rng.int(1, 240),
    weight_kg: Math.round(rng.uniform(2, 400) * 10) / 10,
  }));
  return {
    route_id: `RT-${rng.int(100, 9999).toString().padStart(4, "0")}`,
    shipment_id: `SHP-${rng.int(2022, 2025)}-${rng.int(0, 999999).toString().padStart(6, "0")}`,
    date: `${rng.int(2022, 2025)}-${String(rng.int(1, 12)).padStart(2, "0")}-${String(rng.int(1, 28)).padStart(2, "0")}`,
    delivery_address: { name: rng.pick(COMPANIES), street: `${rng.int(1, 240)} ${rng.pick(STREETS)}`, city, postal_code: postal, country },
    items,
    total_weight_kg: Math.round(items.reduce((a, b) => a + b.weight_kg, 0) * 10) / 10,
  };
}

/** The document of format "compact"; its JSON is the suffix (~100 characters). */
export interface CompactManifestDocument {
  route_id: string;
  date: string;
  city: string;
  items: { sku: string; qty: number }[];
}

/** A random compact manifest (pure function of the Rng). */
export function makeCompactManifest(rng: Random): CompactManifestDocument {
  const n = rng.int(1, 2);
  return {
    route_id: `RT-${rng.int(100, 9999).toString().padStart(4, "0")}`,
    date: `${rng.int(2022, 2025)}-${String(rng.int(1, 12)).padStart(2, "0")}-${String(rng.int(1, 28)).padStart(2, "0")}`,
    city: rng.pick(CITIES)[0],
    items: Array.from({ length: n }, () => ({ sku: `SKU-${rng.int(10000, 99999)}`, qty: rng.int(1, 240) })),
  };
}

/** A paper to photograph: its SVG and size. */
export interface Paper {
  svg: string;
  width: number;
  height: number;
}

const svgText = (x: number, y: number, s: string, size: number, weight = "normal", anchor = "start") =>
  `<text x="${x}" y="${y}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${size}" font-weight="${weight}" text-anchor="${anchor}" fill="#1d1d1d">${escapeXml(s)}</text>`;

const stains = (rng: Random, w: number, h: number, scale: number): string[] => {
  const out: string[] = [];
  for (let s = rng.int(0, 3); s > 0; s--) {
    const [cx, cy, rx, ry] = [rng.uniform(0, w), rng.uniform(0, h), rng.uniform(15, 70) * scale, rng.uniform(10, 50) * scale].map(Math.round);
    out.push(rng.chance(0.5)
      ? `<ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="#7a5a2a" fill-opacity="${rng.uniform(0.06, 0.2).toFixed(2)}"/>`
      : `<circle cx="${cx}" cy="${cy}" r="${rx}" fill="none" stroke="#6b4a1f" stroke-width="${rng.int(2, 6)}" stroke-opacity="${rng.uniform(0.1, 0.3).toFixed(2)}"/>`);
  }
  return out;
};

const COMPACT_PAPER = 240;

/** The compact paper (240 × 240): a title, one field per line in 17 px type, the items as "SKU-… × qty". */
export function compactManifestSvg(doc: CompactManifestDocument, rng: Random): string {
  const W = COMPACT_PAPER;
  const parts = [
    `<rect width="${W}" height="${W}" fill="#fbfaf5"/>`,
    svgText(W / 2, 26, "PALLET MANIFEST", 17, "bold", "middle"),
    `<line x1="12" y1="36" x2="${W - 12}" y2="36" stroke="#333" stroke-width="2"/>`,
    svgText(14, 64, `Route ${doc.route_id}`, 17), svgText(14, 90, `Date ${doc.date}`, 17), svgText(14, 116, `City ${doc.city}`, 17),
    `<line x1="12" y1="128" x2="${W - 12}" y2="128" stroke="#999" stroke-width="1"/>`,
    ...doc.items.map((it, r) => svgText(14, 154 + r * 26, `${it.sku} x ${it.qty}`, 17)),
    ...stains(rng, W, W, 0.5),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${W}">${parts.join("")}</svg>`;
}

const PAPER_W = 420;
const PAPER_H = 560;

/** The paper as SVG (with stains drawn by `rng`). */
export function manifestSvg(doc: ManifestDocument, rng: Random): string {
  const t = (x: number, y: number, s: string, size = 13, weight = "normal", anchor = "start") => svgText(x, y, s, size, weight, anchor);
  const a = doc.delivery_address;
  const parts = [
    `<rect width="${PAPER_W}" height="${PAPER_H}" fill="#fbfaf5"/>`,
    t(PAPER_W / 2, 40, "PALLET MANIFEST", 22, "bold", "middle"),
    `<line x1="24" y1="54" x2="${PAPER_W - 24}" y2="54" stroke="#333" stroke-width="2"/>`,
    t(24, 82, `Route ID: ${doc.route_id}`), t(220, 82, `Date: ${doc.date}`),
    t(24, 104, `Shipment ID: ${doc.shipment_id}`),
    t(24, 136, "Deliver to:", 13, "bold"),
    t(24, 156, a.name), t(24, 174, a.street), t(24, 192, `${a.postal_code} ${a.city}`), t(24, 210, a.country),
  ];
  const top = 236;
  const cols = [24, 120, 300, 350];
  parts.push(`<rect x="20" y="${top}" width="${PAPER_W - 40}" height="22" fill="#e4e2da"/>`);
  ["SKU", "Description", "Qty", "Kg"].forEach((h, i) => parts.push(t(cols[i], top + 16, h, 12, "bold")));
  doc.items.forEach((it, r) => {
    const y = top + 22 + (r + 1) * 22;
    parts.push(t(cols[0], y - 6, it.sku, 11), t(cols[1], y - 6, it.description, 11), t(cols[2], y - 6, String(it.quantity), 11), t(cols[3], y - 6, it.weight_kg.toFixed(1), 11));
    parts.push(`<line x1="20" y1="${y}" x2="${PAPER_W - 20}" y2="${y}" stroke="#999" stroke-width="0.7"/>`);
  });
  const end = top + 22 + (doc.items.length + 1) * 22;
  parts.push(t(PAPER_W - 24, end + 24, `Total weight: ${doc.total_weight_kg.toFixed(1)} kg`, 13, "bold", "end"));
  // a barcode and a signature line: texture that needs no font
  let x = 24;
  while (x < 200) {
    const w = rng.pick([1, 1, 2, 3]);
    parts.push(`<rect x="${x}" y="${PAPER_H - 80}" width="${w}" height="44" fill="#111"/>`);
    x += w + rng.pick([1, 2, 2, 3]);
  }
  parts.push(`<line x1="240" y1="${PAPER_H - 40}" x2="${PAPER_W - 24}" y2="${PAPER_H - 40}" stroke="#444"/>`);
  parts.push(...stains(rng, PAPER_W, PAPER_H, 1));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${PAPER_W}" height="${PAPER_H}">${parts.join("")}</svg>`;
}

/**
 * One photograph of a paper as JPEG bytes. The scene is one SVG (a textured surface, the paper with its stains
 * under a skew + rotation + scale transform, a lighting gradient with vignette), rendered once; then sensor noise
 * (overlay blend), blur and JPEG compression.
 */
export async function photograph(p: Paper, rng: Random, width: number, height: number): Promise<Buffer> {
  const paper = p.svg.replace(/^<svg[^>]*>/, "").replace(/<\/svg>$/, "");
  const scale = (rng.uniform(0.8, 0.95) * Math.min(width / p.width, height / p.height));
  const [angle, skewX, skewY] = [rng.uniform(-7, 7), rng.uniform(-5, 5), rng.uniform(-3, 3)]; // degrees
  const [cx, cy] = [width / 2 + rng.uniform(-0.05, 0.05) * width, height / 2 + rng.uniform(-0.05, 0.05) * height];
  const place = `translate(${cx.toFixed(1)} ${cy.toFixed(1)}) rotate(${angle.toFixed(2)}) skewX(${skewX.toFixed(2)}) skewY(${skewY.toFixed(2)}) scale(${scale.toFixed(4)}) translate(${-p.width / 2} ${-p.height / 2})`;
  const hue = rng.uniform(20, 50);
  const grain = Array.from({ length: 12 }, () => `<line x1="0" y1="${rng.int(0, height)}" x2="${width}" y2="${rng.int(0, height)}" stroke="#000" stroke-opacity="0.08" stroke-width="${rng.int(1, 4)}"/>`).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs>
<linearGradient id="s" x1="0" y1="0" x2="${rng.uniform(0.3, 1).toFixed(2)}" y2="1"><stop offset="0" stop-color="${hsl(hue, 0.3, rng.uniform(0.3, 0.5))}"/><stop offset="1" stop-color="${hsl(hue, 0.25, rng.uniform(0.15, 0.35))}"/></linearGradient>
<radialGradient id="l" cx="${rng.uniform(0.2, 0.8).toFixed(2)}" cy="${rng.uniform(0.2, 0.8).toFixed(2)}" r="${rng.uniform(0.6, 1).toFixed(2)}"><stop offset="0" stop-color="#fff" stop-opacity="${rng.uniform(0, 0.15).toFixed(2)}"/><stop offset="1" stop-color="#000" stop-opacity="${rng.uniform(0.25, 0.6).toFixed(2)}"/></radialGradient>
</defs><rect width="${width}" height="${height}" fill="url(#s)"/>${grain}<g transform="${place}">${paper}</g><rect width="${width}" height="${height}" fill="url(#l)"/></svg>`;

  // sensor noise: grey (luminance) noise, ±~3σ around the neutral 128 of the overlay blend
  const sigma = rng.uniform(3, 10);
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i += 3) {
    const v = Math.max(0, Math.min(255, Math.round(128 + sigma * 3.46 * (rng.next() - 0.5) * 2)));
    noise[i] = noise[i + 1] = noise[i + 2] = v;
  }
  const { data, info } = await sharp(Buffer.from(svg))
    .composite([{ input: noise, raw: { width, height, channels: 3 }, blend: "overlay" }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  let photo = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const blur = rng.uniform(0, 1.2);
  if (blur >= 0.3) photo = photo.blur(blur);
  return photo.jpeg({ quality: rng.int(65, 92) }).toBuffer();
}

/**
 * Whether sharp's SVG renderer draws real glyphs here (fontconfig finds a font). Without fonts pango draws the
 * same placeholder box for every character, so two different words render identically.
 */
export async function fontsAvailable(): Promise<boolean> {
  const render = async (word: string) => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40"><rect width="160" height="40" fill="#fff"/><text x="4" y="30" font-family="sans-serif" font-size="28" fill="#000">${word}</text></svg>`;
    return sharp(Buffer.from(svg)).greyscale().raw().toBuffer();
  };
  const [a, b] = await Promise.all([render("MMMM"), render("OOOO")]);
  return !a.equals(b) && a.some((v: number) => v < 128);
}

/** Writes the manifests dataset (Roboflow PaliGemma layout) under `out`. */
export async function synthManifests(options: ManifestOptions): Promise<SynthSummary & { fonts: boolean }> {
  const counts = { train: 30, valid: 10, test: 10, ...(options.counts ?? {}) };
  const seed = options.seed ?? 0;
  const variants = options.trainVariants ?? 5;
  const format = options.format ?? "full";
  if (!MANIFEST_FORMATS.includes(format)) throw new RangeError(`format: expected ${MANIFEST_FORMATS.map((f) => `"${f}"`).join(" or ")}; got ${JSON.stringify(format)}`);
  const [width, height] = format === "full" ? [options.width ?? 448, options.height ?? 576] : [options.width ?? 224, options.height ?? 224];
  if (format === "grid" && (width !== GRID_MANIFEST_SIZE || height !== GRID_MANIFEST_SIZE)) {
    throw new RangeError(`width, height: format "grid" draws one glyph per 16 px cell of a ${GRID_MANIFEST_SIZE} × ${GRID_MANIFEST_SIZE} image; got ${width} × ${height} (omit them)`);
  }
  checkSynthOptions(seed, counts);
  if (typeof options.out !== "string" || options.out === "") throw new RangeError("out: give an output folder");
  if (!Number.isInteger(variants) || variants < 1 || variants > 50) throw new RangeError(`trainVariants: expected 1..50; got ${variants}`);
  for (const [k, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < 128 || v > 4096) throw new RangeError(`${k}: expected an integer in 128..4096; got ${v}`);
  }
  const summary = { out: options.out, images: {} as Record<string, number>, objects: 0, classes: [] as string[], fonts: await fontsAvailable() };
  for (const split of ["train", "valid", "test"] as const) {
    if (counts[split] === 0) continue;
    const dir = join(options.out, split);
    await ensureDir(dir);
    const nv = split === "train" ? variants : 1;
    const jobs = [...Array(counts[split] * nv).keys()].map((k) => ({ d: Math.floor(k / nv), v: k % nv }));
    const lines = await mapLimit(jobs, 4, async ({ d, v }): Promise<JsonlExample> => {
      const docRng = new Random(itemSeed(seed, "manifest", split, d));
      const rng = new Random(itemSeed(seed, "photo", split, d, v));
      const file = `manifest_${String(d).padStart(4, "0")}_v${v}.jpg`;
      let doc: ManifestDocument | CompactManifestDocument;
      let paper: Paper;
      if (format === "grid") {
        const compact = makeCompactManifest(docRng);
        const rgb = await renderGridManifest(compact, docRng, rng);
        const jpeg = await sharp(Buffer.from(rgb), { raw: { width, height, channels: 3 } }).jpeg({ quality: rng.int(85, 95) }).toBuffer();
        await writeFileAtomic(join(dir, file), jpeg);
        return { image: file, prefix: MANIFEST_PREFIX, suffix: JSON.stringify(compact) };
      } else if (format === "full") {
        const full = makeManifest(docRng);
        [doc, paper] = [full, { svg: manifestSvg(full, rng), width: PAPER_W, height: PAPER_H }];
      } else {
        const compact = makeCompactManifest(docRng);
        [doc, paper] = [compact, { svg: compactManifestSvg(compact, rng), width: COMPACT_PAPER, height: COMPACT_PAPER }];
      }
      await writeFileAtomic(join(dir, file), await photograph(paper, rng, width, height));
      return { image: file, prefix: MANIFEST_PREFIX, suffix: JSON.stringify(doc) };
    });
    await writeJsonl(join(dir, "annotations.jsonl"), lines);
    summary.images[split] = lines.length;
    summary.objects += counts[split];
  }
  return summary;
}
