/**
 * COCO detection / segmentation JSON → PaliGemma JSONL (one line per image).
 *
 * Decisions (documented once, here):
 * - prefix: `detect a ; b` (task "segment": `segment a ; b`) listing **all** dataset classes in the dataset's
 *   declared order (category id ascending) by default, `classOrder: "sorted"` for alphabetical. Every line of a
 *   dataset gets the same prompt, as Roboflow's PaliGemma export does. Roboflow's placeholder category (a
 *   category that is the `supercategory` of others and has no annotations, e.g. id 0 "cards") is left out.
 * - suffix: the image's objects in annotation order, `<loc y1><loc x1><loc y2><loc x2> name` joined by ` ; `
 *   (codecs/loc.ts: `round(v/size·1023)` clamped to 0..1023). COCO bbox `[x, y, w, h]` → xyxy.
 * - images without annotations: **kept with an empty suffix** by default (negatives teach the model to answer
 *   nothing); `emptyImages: "skip"` leaves them out.
 * - `iscrowd: 1` annotations are left out (COCO evaluation ignores them too).
 * - segmentation: `task: "segment"` needs a `segEncoder` (the VQ-VAE of `src/codecs/seg.ts`) that maps the
 *   full-image mask and the box to 16 `<seg>` codes; without one it throws. Masks are decoded exactly like
 *   pycocotools (coco-mask.ts).
 *
 * @example
 * const coco = JSON.parse(await readFile("train/_annotations.coco.json", "utf8"));
 * const { lines, classes } = await cocoToPaliGemma(coco);
 * // lines[0] = { image: "0001.jpg", prefix: "detect cat ; dog", suffix: "<loc0100><loc0200><loc0900><loc0800> dog" }
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { detectionPrefix, encodeBoxLocs, formatLocObjects, type LocBox } from "../../codecs/loc.js";
import { segmentationToMask, type BinaryMask, type CocoSegmentation } from "./coco-mask.js";
import { ConversionError, writeSplit, type ConversionResult } from "./output.js";
import type { JsonlExample } from "../jsonl.js";

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}
export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}
export interface CocoAnnotation {
  id?: number;
  image_id: number;
  category_id: number;
  /** `[x, y, width, height]` in pixels. */
  bbox: [number, number, number, number];
  segmentation?: CocoSegmentation;
  area?: number;
  iscrowd?: 0 | 1;
}
export interface CocoDataset {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** The seam for `<seg>` tokens: a full-image mask and the object's box (pixels) → 16 codes in 0..127. */
export interface SegEncoder {
  encode(mask: BinaryMask, xyxy: [number, number, number, number]): number[] | Promise<number[]>;
}

export interface CocoConvertOptions {
  /** Default "detect". */
  task?: "detect" | "segment";
  /** Required for task "segment". */
  segEncoder?: SegEncoder;
  /** Explicit prompt classes (and order); annotations of other classes are left out. */
  classes?: readonly string[];
  /** Default "declared" (category id order). */
  classOrder?: "declared" | "sorted";
  /** Default "keep" (empty suffix). */
  emptyImages?: "keep" | "skip";
  /** Name used in error messages. Default "COCO". */
  sourceName?: string;
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Validates the parts of a COCO document we use; throws ConversionError naming the field. */
function checkCoco(coco: CocoDataset, src: string): void {
  if (!coco || typeof coco !== "object") throw new ConversionError(src, "(root)", "expected a COCO object {images, annotations, categories}");
  for (const k of ["images", "annotations", "categories"] as const) {
    if (!Array.isArray(coco[k])) throw new ConversionError(src, k, `expected an array; got ${typeof coco[k]}`);
  }
  coco.images.forEach((im, i) => {
    if (!im || !isNum(im.id) || typeof im.file_name !== "string" || !(isNum(im.width) && im.width > 0) || !(isNum(im.height) && im.height > 0)) {
      throw new ConversionError(src, `images[${i}]`, `expected {id, file_name, width > 0, height > 0}; got ${JSON.stringify(im)?.slice(0, 100)}`);
    }
  });
  coco.categories.forEach((c, i) => {
    if (!c || !isNum(c.id) || typeof c.name !== "string" || c.name.trim() === "" || /[;<>\n]/.test(c.name)) {
      throw new ConversionError(src, `categories[${i}]`, `expected {id, name} with a non-empty name without ';', '<', '>'; got ${JSON.stringify(c)?.slice(0, 100)}`);
    }
  });
  coco.annotations.forEach((a, i) => {
    const b = a?.bbox;
    if (!a || !isNum(a.image_id) || !isNum(a.category_id)) throw new ConversionError(src, `annotations[${i}]`, "expected numeric image_id and category_id");
    if (!Array.isArray(b) || b.length !== 4 || !b.every(isNum) || b[2] < 0 || b[3] < 0) {
      throw new ConversionError(src, `annotations[${i}].bbox`, `expected [x, y, width ≥ 0, height ≥ 0]; got ${JSON.stringify(b)}`);
    }
  });
}

/** The prompt classes: explicit, or all categories (minus Roboflow's placeholder) in declared/sorted order. */
export function cocoClassNames(coco: CocoDataset, order: "declared" | "sorted" = "declared", sourceName = "COCO"): string[] {
  checkCoco(coco, sourceName);
  const used = new Set(coco.annotations.map((a) => a.category_id));
  const isParent = (c: CocoCategory) => coco.categories.some((o) => o !== c && o.supercategory === c.name && o.name !== c.name);
  const cats = [...coco.categories]
    .filter((c) => used.has(c.id) || !isParent(c))
    .sort((a, b) => a.id - b.id);
  const names = [...new Set(cats.map((c) => c.name.trim()))];
  return order === "sorted" ? names.sort() : names;
}

/**
 * Converts a parsed COCO document into PaliGemma lines (`image` = `file_name`). Throws ConversionError on
 * malformed input, and when task "segment" has no `segEncoder`.
 */
export async function cocoToPaliGemma(coco: CocoDataset, options: CocoConvertOptions = {}): Promise<ConversionResult> {
  const src = options.sourceName ?? "COCO";
  const task = options.task ?? "detect";
  if (task !== "detect" && task !== "segment") throw new ConversionError(src, "task", `expected "detect" or "segment"; got ${JSON.stringify(task)}`);
  if (task === "segment" && typeof options.segEncoder?.encode !== "function") {
    throw new ConversionError(src, "segEncoder", 'task "segment" needs a segEncoder (the <seg> VQ-VAE codec from src/codecs/seg.ts) to turn masks into 16 <seg> tokens; pass { segEncoder } or use task "detect"');
  }
  checkCoco(coco, src);
  const classes = options.classes ? [...options.classes] : cocoClassNames(coco, options.classOrder);
  const prefix = task === "segment" ? detectionPrefix(classes).replace(/^detect /, "segment ") : detectionPrefix(classes);
  const catName = new Map(coco.categories.map((c) => [c.id, c.name.trim()]));
  const byImage = new Map<number, { ann: CocoAnnotation; index: number }[]>();
  coco.annotations.forEach((ann, index) => {
    if (!byImage.has(ann.image_id)) byImage.set(ann.image_id, []);
    byImage.get(ann.image_id)!.push({ ann, index });
  });
  const imageIds = new Set(coco.images.map((im) => im.id));
  coco.annotations.forEach((a, i) => {
    if (!imageIds.has(a.image_id)) throw new ConversionError(src, `annotations[${i}].image_id`, `${a.image_id} is not the id of any image`);
    if (!catName.has(a.category_id)) throw new ConversionError(src, `annotations[${i}].category_id`, `${a.category_id} is not the id of any category`);
  });

  const lines: JsonlExample[] = [];
  let emptyImages = 0;
  let skippedImages = 0;
  let skippedAnnotations = 0;
  for (const im of coco.images) {
    const size = { imageWidth: im.width, imageHeight: im.height };
    const objects: { locs: LocBox; segs: number[]; label: string }[] = [];
    for (const { ann, index } of byImage.get(im.id) ?? []) {
      const label = catName.get(ann.category_id)!;
      if (ann.iscrowd === 1 || !classes.includes(label)) {
        skippedAnnotations++;
        continue;
      }
      const [x, y, w, h] = ann.bbox;
      const xyxy: [number, number, number, number] = [x, y, x + w, y + h];
      let segs: number[] = [];
      if (task === "segment") {
        if (ann.segmentation === undefined) throw new ConversionError(src, `annotations[${index}].segmentation`, 'missing; task "segment" needs polygons or RLE');
        let mask: BinaryMask;
        try {
          mask = segmentationToMask(ann.segmentation, im.width, im.height);
        } catch (e) {
          throw new ConversionError(src, `annotations[${index}].segmentation`, (e as Error).message);
        }
        segs = await options.segEncoder!.encode(mask, xyxy);
        if (!Array.isArray(segs) || !segs.every((c) => Number.isInteger(c) && c >= 0 && c < 128)) {
          throw new ConversionError(src, "segEncoder", `returned ${JSON.stringify(segs)?.slice(0, 80)} for annotations[${index}]; expected integer codes in 0..127`);
        }
      }
      objects.push({ locs: encodeBoxLocs(xyxy, size), segs, label });
    }
    if (objects.length === 0) {
      if (options.emptyImages === "skip") {
        skippedImages++;
        continue;
      }
      emptyImages++;
    }
    lines.push({ image: im.file_name, prefix, suffix: formatLocObjects(objects) });
  }
  return { lines, classes, emptyImages, skippedImages, skippedAnnotations };
}

/** Reads a COCO JSON file; throws ConversionError naming the file when it cannot be read or parsed. */
export async function readCocoFile(file: string): Promise<CocoDataset> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ConversionError(file, "(file)", `cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text) as CocoDataset;
  } catch (e) {
    throw new ConversionError(file, "(root)", `bad JSON (${(e as Error).message})`);
  }
}

/**
 * Converts one COCO file into a PaliGemma split folder: `outDir/annotations.jsonl` plus the images (hard-linked
 * or copied from `imageDir`, default the COCO file's folder).
 *
 * @example
 * await convertCocoFile("export/train/_annotations.coco.json", "paligemma/train");
 */
export async function convertCocoFile(file: string, outDir: string, options: CocoConvertOptions & { imageDir?: string } = {}): Promise<ConversionResult> {
  const coco = await readCocoFile(file);
  const result = await cocoToPaliGemma(coco, { sourceName: file, ...options });
  const imageDir = options.imageDir ?? dirname(file);
  await writeSplit(outDir, result.lines, (name) => join(imageDir, name), file, imageDir);
  return result;
}

/** The COCO annotation file name in each split of a Roboflow COCO export. */
export const COCO_SPLIT_FILE = "_annotations.coco.json";

/**
 * Converts a Roboflow COCO export (`root/{train,valid,test}/_annotations.coco.json` + images) into the Roboflow
 * PaliGemma layout under `outDir`. The prompt classes come from the first split found (train), so every split
 * gets the same prompt. Throws ConversionError when no split has a COCO file.
 */
export async function convertCocoDataset(root: string, outDir: string, options: CocoConvertOptions = {}): Promise<Record<string, ConversionResult>> {
  const results: Record<string, ConversionResult> = {};
  let classes = options.classes;
  for (const split of ["train", "valid", "test"]) {
    const file = join(root, split, COCO_SPLIT_FILE);
    const exists = await stat(file).then((s) => s.isFile(), () => false);
    if (!exists) continue;
    if (!classes) classes = cocoClassNames(await readCocoFile(file), options.classOrder, file);
    results[split] = await convertCocoFile(file, join(outDir, split), { ...options, classes });
  }
  if (Object.keys(results).length === 0) throw new ConversionError(root, "(folder)", `no train/, valid/ or test/ with ${COCO_SPLIT_FILE}; pass --annotations FILE for a single COCO file`);
  return results;
}
