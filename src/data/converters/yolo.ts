/**
 * YOLO txt labels → PaliGemma JSONL. A label file has one object per line, `class cx cy w h` normalised to 0..1
 * (a YOLO segmentation line `class x1 y1 x2 y2 ...` is reduced to its polygon's box). Since YOLO boxes are already
 * normalised, the bins are `round(v · 1023)` directly (codecs/loc.ts).
 *
 * Layouts read by `convertYoloDataset`: a Roboflow YOLO export (`data.yaml` + `{train,valid,test}/images` and
 * `.../labels`) or a single `images/` + `labels/` folder. Class names come from `classes`, `data.yaml` `names`
 * (list or index map), or `classes.txt` (one per line), in that order.
 *
 * Decisions as for COCO (see coco.ts): the prompt lists all classes in declared (class index) order, images
 * without a label file or with an empty one keep an empty suffix unless `emptyImages: "skip"`.
 *
 * @example
 * const r = yoloToPaliGemma([{ image: "a.jpg", labels: "0 0.5 0.5 0.2 0.4" }], ["hard hat"]);
 * // r.lines[0] = { image: "a.jpg", prefix: "detect hard hat", suffix: "<loc0307><loc0409><loc0716><loc0614> hard hat" }
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { detectionPrefix, encodeLocValue, formatLocObjects, type LocBox } from "../../codecs/loc.js";
import { ConversionError, writeSplit, type ConversionResult } from "./output.js";
import type { JsonlExample } from "../jsonl.js";

/** One image and the text of its label file (`undefined`: no label file). */
export interface YoloItem {
  image: string;
  labels: string | undefined;
  /** Label file name for messages. */
  labelFile?: string;
}

export interface YoloConvertOptions {
  /** Default "declared" (class index order). */
  classOrder?: "declared" | "sorted";
  /** Default "keep". */
  emptyImages?: "keep" | "skip";
}

/** Image extensions looked for in `images/`. */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"];

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Parses one label line to a normalised xyxy box; throws ConversionError naming file:line. */
function parseYoloLine(text: string, where: string, nClasses: number): { cls: number; xyxy: [number, number, number, number] } {
  const parts = text.trim().split(/\s+/);
  const nums = parts.map(Number);
  const cls = nums[0];
  if (!Number.isInteger(cls) || cls < 0 || cls >= nClasses) {
    throw new ConversionError(where, "class", `got ${JSON.stringify(parts[0])}; expected an integer class index in 0..${nClasses - 1}`);
  }
  const v = nums.slice(1);
  if (!v.every(Number.isFinite)) throw new ConversionError(where, "values", `${JSON.stringify(text)} has a non-number; expected "class cx cy w h"`);
  if (v.length === 4) {
    const [cx, cy, w, h] = v;
    if (w < 0 || h < 0) throw new ConversionError(where, "size", `negative width or height in ${JSON.stringify(text)}`);
    return { cls, xyxy: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] };
  }
  if (v.length >= 6 && v.length % 2 === 0) {
    const xs = v.filter((_, i) => i % 2 === 0);
    const ys = v.filter((_, i) => i % 2 === 1);
    return { cls, xyxy: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)] };
  }
  throw new ConversionError(where, "values", `${JSON.stringify(text)}: expected "class cx cy w h" (normalised) or a polygon "class x1 y1 x2 y2 x3 y3 ..."`);
}

/** Converts YOLO items (image + label text) with the given class names into PaliGemma lines. */
export function yoloToPaliGemma(items: readonly YoloItem[], classes: readonly string[], options: YoloConvertOptions = {}): ConversionResult {
  if (!Array.isArray(classes) || classes.length === 0) throw new ConversionError("YOLO", "classes", "need at least one class name (data.yaml names, classes.txt or --classes)");
  const promptClasses = options.classOrder === "sorted" ? [...classes].sort() : [...classes];
  const prefix = detectionPrefix(promptClasses);
  const lines: JsonlExample[] = [];
  let emptyImages = 0;
  let skippedImages = 0;
  for (const item of items) {
    const objects: { locs: LocBox; label: string }[] = [];
    (item.labels ?? "").split(/\r?\n/).forEach((text, i) => {
      if (text.trim() === "") return;
      const { cls, xyxy } = parseYoloLine(text, `${item.labelFile ?? item.image}:${i + 1}`, classes.length);
      const [x1, y1, x2, y2] = xyxy.map(clamp01);
      objects.push({ locs: [encodeLocValue(y1, 1), encodeLocValue(x1, 1), encodeLocValue(y2, 1), encodeLocValue(x2, 1)], label: classes[cls] });
    });
    if (objects.length === 0) {
      if (options.emptyImages === "skip") {
        skippedImages++;
        continue;
      }
      emptyImages++;
    }
    lines.push({ image: item.image, prefix, suffix: formatLocObjects(objects) });
  }
  return { lines, classes: promptClasses, emptyImages, skippedImages, skippedAnnotations: 0 };
}

function unquote(s: string): string {
  const t = s.trim();
  return /^(['"]).*\1$/.test(t) ? t.slice(1, -1) : t;
}

/**
 * Reads class names from the `names:` key of a YOLO `data.yaml` (flow list `[a, b]`, block list `- a`, index map
 * `0: a`, flow map `{0: a}`). Not a general YAML parser; throws ConversionError when `names` is absent or odd.
 */
export function parseYoloNames(yaml: string, file = "data.yaml"): string[] {
  const lines = yaml.split(/\r?\n/);
  const i = lines.findIndex((l) => /^names\s*:/.test(l));
  if (i < 0) throw new ConversionError(file, "names", "missing; list the class names (names: [a, b])");
  const rest = lines[i].replace(/^names\s*:/, "").replace(/\s+#.*$/, "").trim();
  const splitFlow = (s: string) => s.slice(1, -1).split(",").map((x) => x.trim()).filter((x) => x !== "");
  if (rest.startsWith("[") && rest.endsWith("]")) return splitFlow(rest).map(unquote);
  if (rest.startsWith("{") && rest.endsWith("}")) {
    return splitFlow(rest).map((kv) => kv.split(":")).sort((a, b) => Number(a[0]) - Number(b[0])).map((kv) => unquote(kv.slice(1).join(":")));
  }
  if (rest !== "") throw new ConversionError(file, "names", `cannot read ${JSON.stringify(rest)}; use a list [a, b]`);
  const names: [number, string][] = [];
  for (const l of lines.slice(i + 1)) {
    if (l.trim() === "" || l.trim().startsWith("#")) continue;
    if (!/^\s/.test(l)) break; // next top-level key
    const item = l.trim().match(/^-\s*(.*)$/);
    const kv = l.trim().match(/^(\d+)\s*:\s*(.*)$/);
    if (item) names.push([names.length, unquote(item[1])]);
    else if (kv) names.push([Number(kv[1]), unquote(kv[2])]);
    else throw new ConversionError(file, "names", `cannot read the line ${JSON.stringify(l)}`);
  }
  if (names.length === 0) throw new ConversionError(file, "names", "is empty");
  return names.sort((a, b) => a[0] - b[0]).map((n) => n[1]);
}

const exists = (p: string, dir = false) => stat(p).then((s) => (dir ? s.isDirectory() : s.isFile()), () => false);

/** Class names for a YOLO folder: `data.yaml` names, else `classes.txt`; looked for in `dirs` in order. */
export async function readYoloClasses(dirs: readonly string[]): Promise<string[]> {
  for (const d of dirs) {
    for (const f of ["data.yaml", "data.yml"]) {
      if (await exists(join(d, f))) return parseYoloNames(await readFile(join(d, f), "utf8"), join(d, f));
    }
    if (await exists(join(d, "classes.txt"))) {
      return (await readFile(join(d, "classes.txt"), "utf8")).split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
    }
  }
  throw new ConversionError(dirs[0] ?? ".", "classes", "no data.yaml or classes.txt found; pass the class names (--classes a,b,c)");
}

/** Reads `dir/images/*` and the matching `dir/labels/*.txt` into YoloItems (image names `images/...` stripped). */
export async function readYoloSplit(dir: string): Promise<YoloItem[]> {
  const imgDir = join(dir, "images");
  const files = (await readdir(imgDir)).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort();
  return Promise.all(
    files.map(async (image) => {
      const labelFile = join(dir, "labels", `${basename(image, extname(image))}.txt`);
      const labels = await readFile(labelFile, "utf8").catch(() => undefined);
      return { image, labels, labelFile };
    }),
  );
}

/**
 * Converts a YOLO dataset folder into the Roboflow PaliGemma layout under `outDir` (images hard-linked or
 * copied). With `{train,valid,test}/images` each split becomes `outDir/<split>`; a plain `images/` + `labels/`
 * folder becomes `outDir` itself (returned under the key "all").
 */
export async function convertYoloDataset(root: string, outDir: string, options: YoloConvertOptions & { classes?: readonly string[] } = {}): Promise<Record<string, ConversionResult>> {
  const classes = options.classes ? [...options.classes] : await readYoloClasses([root]);
  const results: Record<string, ConversionResult> = {};
  for (const split of ["train", "valid", "test"]) {
    if (!(await exists(join(root, split, "images"), true))) continue;
    const r = yoloToPaliGemma(await readYoloSplit(join(root, split)), classes, options);
    await writeSplit(join(outDir, split), r.lines, (name) => join(root, split, "images", name), join(root, split), join(root, split, "images"));
    results[split] = r;
  }
  if (Object.keys(results).length === 0) {
    if (!(await exists(join(root, "images"), true))) throw new ConversionError(root, "(folder)", "no images/ folder and no train/, valid/, test/ with images/; expected a YOLO export");
    const r = yoloToPaliGemma(await readYoloSplit(root), classes, options);
    await writeSplit(outDir, r.lines, (name) => join(root, "images", name), root, join(root, "images"));
    results.all = r;
  }
  return results;
}
