/**
 * Synthetic shapes datasets, deterministic by seed, rendered with sharp from SVG (no fonts needed):
 * - `synthDetection`: Roboflow PaliGemma layout (`{train,valid,test}/annotations.jsonl` + JPEGs) with `<loc>`
 *   suffixes, plus the same boxes as `_annotations.coco.json` in each split (so the COCO converter can be tried
 *   on it: it gives the identical JSONL);
 * - `synthSegmentation`: Roboflow COCO layout (`{train,valid,test}/_annotations.coco.json` + PNGs) with
 *   **polygon** masks (`iscrowd: 0`, what Roboflow exports and both pycocotools and supervision read), areas
 *   computed exactly as pycocotools does; plus `{split}/annotations.jsonl` with `segment a ; b` prefixes and
 *   `<loc>×4<seg>×16 name` suffixes, made from those COCO files by the COCO converter (the identical JSONL that
 *   `data convert coco --task segment` gives) with the `<seg>` VQ-VAE: ours by default
 *   (codecs/vqvae/default.ts), any vae-oid-format file by path, or none (`vae: null`: COCO only).
 *
 * Every shape is one polygon used three times: to draw it, as its COCO segmentation, and (its extent) as its box.
 * Shapes never overlap, so the drawn pixels and the masks agree. Class names include a space and a hyphen on
 * purpose ("five-point star", "playing card").
 *
 * @example
 * await synthDetection({ out: "shapes-det", seed: 0 });   // then: loadDataset("shapes-det")
 */
import { ensureDir, writeFileAtomic } from "../../util/atomic-write.js";
import { join } from "node:path";
import sharp from "sharp";
import { detectionPrefix, encodeBoxLocs, formatLocObjects } from "../../codecs/loc.js";
import { segEncoder } from "../../codecs/seg.js";
import { loadSegVae } from "../../codecs/vqvae/default.js";
import type { VqVae } from "../../codecs/vqvae/model.js";
import { polygonsToMask, maskArea } from "../converters/coco-mask.js";
import { cocoToPaliGemma, type CocoAnnotation, type CocoDataset } from "../converters/coco.js";
import { writeJsonl, type JsonlExample } from "../jsonl.js";
import { Random, checkSynthOptions, hsl, itemSeed, mapLimit, type SplitCounts } from "./common.js";

/** The shape classes, in declared (category id − 1) order. */
export const SHAPE_CLASSES = ["circle", "square", "triangle", "five-point star", "playing card"] as const;

export interface ShapesOptions {
  out: string;
  seed?: number;
  /** Images per split. Default { train: 60, valid: 15, test: 15 }. */
  counts?: Partial<SplitCounts>;
  /** Image size (not square on purpose). Default 320 × 240. */
  width?: number;
  height?: number;
  /** Most shapes per image. Default 4. */
  maxObjects?: number;
}

export interface SynthSummary {
  out: string;
  images: Record<string, number>;
  objects: number;
  classes: string[];
}

export type Pt = [number, number];
/** One drawn shape: its class index, outline (image pixels), SVG, and fill hue in degrees (cards: undefined). */
export interface Shape {
  cls: number;
  points: Pt[];
  svg: string;
  hue?: number;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

function regular(cx: number, cy: number, radii: number[], n: number, rot: number): Pt[] {
  return Array.from({ length: n }, (_, i) => {
    const a = rot + (2 * Math.PI * i) / n;
    const r = radii[i % radii.length];
    return [r2(cx + r * Math.cos(a)), r2(cy + r * Math.sin(a))] as Pt;
  });
}

/** One shape of class `cls` inside the circle (cx, cy, r). */
function makeShape(rng: Random, cls: number, cx: number, cy: number, r: number): Shape {
  const hue = rng.uniform(0, 360);
  const fill = hsl(hue, rng.uniform(0.55, 0.9), rng.uniform(0.35, 0.55));
  const rot = rng.uniform(0, 2 * Math.PI);
  let points: Pt[];
  switch (SHAPE_CLASSES[cls]) {
    case "circle":
      points = regular(cx, cy, [r], 40, 0);
      break;
    case "square":
      points = regular(cx, cy, [r], 4, rot);
      break;
    case "triangle":
      points = regular(cx, cy, [r], 3, rot);
      break;
    case "five-point star":
      points = regular(cx, cy, [r, r * 0.45], 10, rot);
      break;
    default: {
      // playing card: an upright-ish light rectangle with a coloured pip inside it
      const [w, h] = [r * 1.1, r * 1.5];
      const a = rng.uniform(-0.3, 0.3);
      const corners: Pt[] = [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]];
      points = corners.map(([x, y]) => [r2(cx + x * Math.cos(a) - y * Math.sin(a)), r2(cy + x * Math.sin(a) + y * Math.cos(a))] as Pt);
      const pip = regular(cx, cy, [r * 0.3, r * 0.12], 8, a);
      const pipSvg = `<polygon points="${pip.map((p) => p.join(",")).join(" ")}" fill="${rng.chance(0.5) ? "#c81e1e" : "#1a1a1a"}"/>`;
      return { cls, points, svg: `<polygon points="${points.map((p) => p.join(",")).join(" ")}" fill="#f4f2ea"/>${pipSvg}` };
    }
  }
  return { cls, points, svg: `<polygon points="${points.map((p) => p.join(",")).join(" ")}" fill="${fill}"/>`, hue };
}

/** Non-overlapping shapes for one image (rejection sampling; may place fewer than asked). */
export function layout(rng: Random, w: number, h: number, n: number): Shape[] {
  const placed: { cx: number; cy: number; r: number }[] = [];
  const shapes: Shape[] = [];
  const m = Math.min(w, h);
  for (let tries = 0; shapes.length < n && tries < 60; tries++) {
    const r = rng.uniform(m * 0.08, m * 0.2);
    const cx = rng.uniform(r + 2, w - r - 2);
    const cy = rng.uniform(r + 2, h - r - 2);
    if (placed.some((p) => Math.hypot(p.cx - cx, p.cy - cy) < p.r + r + 4)) continue;
    placed.push({ cx, cy, r });
    shapes.push(makeShape(rng, rng.int(0, SHAPE_CLASSES.length - 1), cx, cy, r));
  }
  return shapes;
}

export function sceneSvg(rng: Random, w: number, h: number, shapes: Shape[]): string {
  const hue = rng.uniform(0, 360);
  const [c1, c2] = [hsl(hue, 0.15, rng.uniform(0.55, 0.75)), hsl(hue + 40, 0.2, rng.uniform(0.45, 0.7))];
  const lines = Array.from({ length: rng.int(3, 8) }, () => {
    const [x1, y1, x2, y2] = [rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, h)].map(r2);
    return `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${hsl(hue, 0.1, 0.4)}" stroke-opacity="0.25" stroke-width="${r2(rng.uniform(1, 3))}"/>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${c1}"/><stop offset="1" stop-color="${c2}"/></linearGradient></defs>
<rect width="${w}" height="${h}" fill="url(#bg)"/>${lines.join("")}${shapes.map((s) => s.svg).join("")}</svg>`;
}

/** Tight `[x, y, w, h]` of a polygon, clamped to the image. */
function polyBbox(points: Pt[], w: number, h: number): [number, number, number, number] {
  const xs = points.map((p) => Math.min(w, Math.max(0, p[0])));
  const ys = points.map((p) => Math.min(h, Math.max(0, p[1])));
  const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
  return [r2(x0), r2(y0), r2(Math.max(...xs) - x0), r2(Math.max(...ys) - y0)];
}

interface Rendered {
  file: string;
  shapes: Shape[];
}

async function renderSplit(opts: Required<Omit<ShapesOptions, "counts">>, split: string, n: number, format: "jpeg" | "png", emptyRate: number): Promise<Rendered[]> {
  const dir = join(opts.out, split);
  await ensureDir(dir);
  return mapLimit([...Array(n).keys()], 4, async (i) => {
    const rng = new Random(itemSeed(opts.seed, "shapes", split, i));
    const k = rng.chance(emptyRate) ? 0 : rng.int(1, opts.maxObjects);
    const shapes = layout(rng, opts.width, opts.height, k);
    const file = `${split}_${String(i).padStart(4, "0")}.${format === "jpeg" ? "jpg" : "png"}`;
    const img = sharp(Buffer.from(sceneSvg(rng, opts.width, opts.height, shapes)));
    await (format === "jpeg" ? img.jpeg({ quality: 90 }) : img.png()).toFile(join(dir, file));
    return { file, shapes };
  });
}

function toCoco(rendered: Rendered[], w: number, h: number): CocoDataset {
  const annotations: CocoAnnotation[] = [];
  rendered.forEach((r, imageIndex) => {
    for (const s of r.shapes) {
      const flat = s.points.flat();
      annotations.push({
        id: annotations.length + 1,
        image_id: imageIndex + 1,
        category_id: s.cls + 1,
        bbox: polyBbox(s.points, w, h),
        segmentation: [flat],
        area: maskArea(polygonsToMask([flat], w, h)),
        iscrowd: 0,
      });
    }
  });
  return {
    images: rendered.map((r, i) => ({ id: i + 1, file_name: r.file, width: w, height: h })),
    annotations,
    categories: SHAPE_CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: "shapes" })),
  };
}

function resolveOptions(o: ShapesOptions, defaults: SplitCounts): { opts: Required<Omit<ShapesOptions, "counts">>; counts: SplitCounts } {
  const counts = { ...defaults, ...(o.counts ?? {}) };
  const opts = { out: o.out, seed: o.seed ?? 0, width: o.width ?? 320, height: o.height ?? 240, maxObjects: o.maxObjects ?? 4 };
  checkSynthOptions(opts.seed, counts);
  if (typeof opts.out !== "string" || opts.out === "") throw new RangeError("out: give an output folder");
  for (const k of ["width", "height"] as const) {
    if (!Number.isInteger(opts[k]) || opts[k] < 64 || opts[k] > 4096) throw new RangeError(`${k}: expected an integer in 64..4096; got ${opts[k]}`);
  }
  if (!Number.isInteger(opts.maxObjects) || opts.maxObjects < 1 || opts.maxObjects > 20) throw new RangeError(`maxObjects: expected 1..20; got ${opts.maxObjects}`);
  return { opts, counts };
}

/** Writes the shapes detection set (JSONL with `<loc>` suffixes + COCO boxes) under `out`. */
export async function synthDetection(options: ShapesOptions): Promise<SynthSummary> {
  const { opts, counts } = resolveOptions(options, { train: 60, valid: 15, test: 15 });
  const prefix = detectionPrefix(SHAPE_CLASSES);
  const size = { imageWidth: opts.width, imageHeight: opts.height };
  const summary: SynthSummary = { out: opts.out, images: {}, objects: 0, classes: [...SHAPE_CLASSES] };
  for (const split of ["train", "valid", "test"] as const) {
    if (counts[split] === 0) continue;
    const rendered = await renderSplit(opts, split, counts[split], "jpeg", 0.05);
    const coco = toCoco(rendered, opts.width, opts.height);
    const lines: JsonlExample[] = rendered.map((r, i) => ({
      image: r.file,
      prefix,
      suffix: formatLocObjects(
        coco.annotations.filter((a) => a.image_id === i + 1).map((a) => {
          const [x, y, w, h] = a.bbox;
          return { locs: encodeBoxLocs([x, y, x + w, y + h], size), label: SHAPE_CLASSES[a.category_id - 1] };
        }),
      ),
    }));
    await writeJsonl(join(opts.out, split, "annotations.jsonl"), lines);
    await writeFileAtomic(join(opts.out, split, "_annotations.coco.json"), JSON.stringify(coco));
    summary.images[split] = rendered.length;
    summary.objects += coco.annotations.length;
  }
  return summary;
}

export interface SegmentationSynthOptions extends ShapesOptions {
  /**
   * The `<seg>` VQ-VAE for `annotations.jsonl`: a loaded one, a path to a vae-oid-format .npz, undefined for
   * ours (models/vqvae-synth-64), or null to write the COCO files only.
   */
  vae?: VqVae | string | null;
}

/**
 * Writes the shapes segmentation set under `out`: COCO polygons (Roboflow COCO layout) and, unless `vae` is
 * null, `<seg>` JSONL beside them (see the module doc). A VQ-VAE that cannot be loaded throws before anything
 * is written.
 */
export async function synthSegmentation(options: SegmentationSynthOptions): Promise<SynthSummary> {
  const { opts, counts } = resolveOptions(options, { train: 40, valid: 10, test: 10 });
  const summary: SynthSummary = { out: opts.out, images: {}, objects: 0, classes: [...SHAPE_CLASSES] };
  const given = options.vae;
  const vae = given === null ? null : typeof given === "object" ? given : await loadSegVae(given);
  try {
    for (const split of ["train", "valid", "test"] as const) {
      if (counts[split] === 0) continue;
      const rendered = await renderSplit(opts, split, counts[split], "png", 0);
      const coco = toCoco(rendered, opts.width, opts.height);
      await writeFileAtomic(join(opts.out, split, "_annotations.coco.json"), JSON.stringify({ info: { description: `paligemma-ts synthetic shapes (seed ${opts.seed})` }, licenses: [], ...coco }));
      if (vae) {
        const { lines } = await cocoToPaliGemma(coco, { task: "segment", segEncoder: segEncoder(vae), classes: SHAPE_CLASSES });
        await writeJsonl(join(opts.out, split, "annotations.jsonl"), lines);
      }
      summary.images[split] = rendered.length;
      summary.objects += coco.annotations.length;
    }
  } finally {
    if (vae && vae !== given) vae.dispose();
  }
  return summary;
}
