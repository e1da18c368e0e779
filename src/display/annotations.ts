/**
 * Annotation views: an image with boxes, masks and labels, for one set of detections or a prediction against its
 * ground truth. Builds the `AnnotationsPayload` (vendor MIME) and the static fallbacks (`image/png` composited with
 * sharp, `text/plain`). Options follow supervision's annotators (colours per class, labels, confidence, mask
 * opacity).
 *
 * @example
 * const bundle = await annotationsBundle("dog.jpg", { prediction: dets, truth: truthDets }, { maskOpacity: 0.4 });
 * bundle.data["image/png"]; // base64 PNG with both layers drawn
 */
import sharp from "sharp";
import { MIME, type AnnotationLayer, type AnnotationsPayload, type BoxAnnotation, type ClassInfo, type MimeBundle } from "./protocol.js";
import { loadPreview, type ImageInput, type PreviewOptions } from "./image.js";
import { toBoxes, type DetectionsInput } from "./detections.js";
import { resolveColor, type ColorOption } from "./palette.js";
import { DisplayError } from "./errors.js";
import { legendEntries, renderAnnotationsPng } from "./png.js";
import { matchLayers } from "./matching.js";
import { formatNumber } from "./html.js";

export interface AnnotateOptions extends PreviewOptions {
  /** Colours by class name or id, or a palette list (default: supervision's palette by class id). */
  colors?: ColorOption;
  /** Class names in id order: fixes ids (and so colours) across displays. */
  classes?: readonly string[];
  /** Draw class labels. Default true. */
  labels?: boolean;
  /** Append the confidence to labels when present. Default true. */
  confidence?: boolean;
  /** Mask fill opacity 0..1. Default 0.5. */
  maskOpacity?: number;
  /** With a prediction and a truth: "overlay" (default) or "side-by-side". */
  layout?: "overlay" | "side-by-side";
  /** Box colours: by "class", or by "outcome" (TP/FP/miss; the default when both a prediction and a truth are given). */
  colorBy?: "class" | "outcome";
  /** IoU a prediction needs to match a truth box of its class. Default 0.5 (COCO's AP50). */
  iouThreshold?: number;
  title?: string;
  caption?: string;
  /** Also emit the composited `image/png` fallback. Default true. */
  png?: boolean;
  /** Longest side of the PNG fallback (PNG is heavier than the JPEG preview). Default 480. */
  fallbackSize?: number;
}

/** Named detection layers; a bare `DetectionsInput` means `{ prediction }`. */
export interface AnnotationLayersInput {
  prediction?: DetectionsInput;
  truth?: DetectionsInput;
}

/**
 * One class list for all layers, so that a class has one colour in the truth and in the prediction. Ids: the index
 * in `options.classes` when given (unknown names appended), the boxes' own ids when no box has a name, else the
 * order of first appearance of each name.
 */
function unifyClasses(raw: { role: AnnotationLayer["role"]; name: string; boxes: BoxAnnotation[] }[], options: AnnotateOptions): { classes: ClassInfo[]; layers: AnnotationLayer[] } {
  const all = raw.flatMap((l) => l.boxes);
  const keepIds = options.classes === undefined && all.every((b) => b.className === "");
  const ids = new Map<string, number>((options.classes ?? []).map((n, i) => [n, i]));
  const keyOf = (b: BoxAnnotation) => (keepIds ? `#${b.classId}` : b.className);
  for (const b of all) {
    const k = keyOf(b);
    if (!ids.has(k)) ids.set(k, keepIds ? b.classId : ids.size);
  }
  const classes: ClassInfo[] = [...ids.entries()]
    .map(([k, id]) => ({ id, name: keepIds ? "" : k, color: resolveColor(options.colors, id, keepIds ? "" : k) }))
    .sort((a, b) => a.id - b.id);
  const layers = raw.map((l) => ({ name: l.name, role: l.role, boxes: l.boxes.map((b) => ({ ...b, classId: ids.get(keyOf(b))! })) }));
  return { classes, layers };
}

function checkOptions(o: AnnotateOptions): void {
  if (o.maskOpacity !== undefined && !(o.maskOpacity >= 0 && o.maskOpacity <= 1)) throw new DisplayError("maskOpacity", `expected a number in [0, 1]; got ${o.maskOpacity}`);
  if (o.layout !== undefined && o.layout !== "overlay" && o.layout !== "side-by-side") throw new DisplayError("layout", `expected "overlay" or "side-by-side"; got ${JSON.stringify(o.layout)}`);
  if (o.colorBy !== undefined && o.colorBy !== "class" && o.colorBy !== "outcome") throw new DisplayError("colorBy", `expected "class" or "outcome"; got ${JSON.stringify(o.colorBy)}`);
  if (o.iouThreshold !== undefined && !(o.iouThreshold > 0 && o.iouThreshold <= 1)) throw new DisplayError("iouThreshold", `expected a number in (0, 1]; got ${o.iouThreshold}`);
}

/** The vendor payload plus the preview pixels the PNG fallback is drawn on. */
export async function buildAnnotations(image: ImageInput, layersIn: AnnotationLayersInput, options: AnnotateOptions = {}): Promise<{ payload: AnnotationsPayload; rgb: Uint8Array }> {
  checkOptions(options);
  const { ref, rgb } = await loadPreview(image, options);
  const grid = { width: ref.width, height: ref.height };
  const raw: { role: AnnotationLayer["role"]; name: string; boxes: BoxAnnotation[] }[] = [];
  if (layersIn.truth !== undefined) raw.push({ role: "truth", name: "ground truth", boxes: toBoxes(layersIn.truth, grid, "truth") });
  if (layersIn.prediction !== undefined) raw.push({ role: "prediction", name: "prediction", boxes: toBoxes(layersIn.prediction, grid, "prediction") });
  const { classes, layers } = unifyClasses(raw, options);
  const truth = layers.find((l) => l.role === "truth");
  const pred = layers.find((l) => l.role === "prediction");
  let matching: AnnotationsPayload["matching"];
  if (truth && pred) {
    const m = matchLayers(pred.boxes, truth.boxes, options.iouThreshold ?? 0.5);
    pred.boxes = m.prediction;
    truth.boxes = m.truth;
    matching = m.summary;
  }
  const payload: AnnotationsPayload = {
    version: 1,
    view: "annotations",
    ...(options.title !== undefined ? { title: String(options.title) } : {}),
    ...(options.caption !== undefined ? { caption: String(options.caption) } : {}),
    image: ref,
    classes,
    layers,
    ...(matching ? { matching } : {}),
    options: {
      colorBy: options.colorBy ?? (matching ? "outcome" : "class"),
      maskOpacity: options.maskOpacity ?? 0.5,
      showLabels: options.labels ?? true,
      showConfidence: options.confidence ?? true,
      layout: options.layout ?? "overlay",
    },
  };
  return { payload, rgb };
}

const OUTCOME_TEXT = { tp: "TP", fp: "FP", fn: "missed" } as const;

/** One line per box: `dog 0.91 [10, 20, 110, 220] TP IoU 0.83`; the legend (precision/recall) and caption after. */
export function annotationsText(p: AnnotationsPayload): string {
  const name = (id: number) => p.classes.find((c) => c.id === id)?.name || `class ${id}`;
  const lines = [`${p.title ?? "annotations"}: ${p.image.naturalWidth}×${p.image.naturalHeight} image`];
  for (const l of p.layers) {
    lines.push(`${l.name}: ${l.boxes.length} box${l.boxes.length === 1 ? "" : "es"}`);
    for (const b of l.boxes.slice(0, 50)) {
      const conf = b.confidence !== undefined ? ` ${formatNumber(b.confidence, 3)}` : "";
      const outcome = b.outcome ? ` ${OUTCOME_TEXT[b.outcome]} IoU ${formatNumber(b.iou ?? 0, 2)}` : "";
      lines.push(`  ${name(b.classId)}${conf} [${b.xyxy.map((v) => Math.round(v)).join(", ")}]${b.mask ? " +mask" : ""}${outcome}`);
    }
    if (l.boxes.length > 50) lines.push(`  … ${l.boxes.length - 50} more`);
  }
  if (p.matching) lines.push(legendEntries(p).map((e) => e.text).join(" · "));
  if (p.caption) lines.push(p.caption);
  return lines.join("\n");
}

/** Image + detections → a MIME bundle: vendor JSON, `image/png` (unless `png: false`) and `text/plain`. */
export async function annotationsBundle(image: ImageInput, layers: DetectionsInput | AnnotationLayersInput, options: AnnotateOptions = {}): Promise<MimeBundle> {
  const input: AnnotationLayersInput = isLayers(layers) ? layers : { prediction: layers as DetectionsInput };
  const { payload, rgb } = await buildAnnotations(image, input, options);
  const data: MimeBundle["data"] = { [MIME.annotations]: payload, "text/plain": annotationsText(payload) };
  if (options.png !== false) data["image/png"] = (await renderFallbackPng(payload, rgb, options.fallbackSize ?? 480)).toString("base64");
  return { data, metadata: {} };
}

/** The PNG fallback at most `maxSide` px on its long side (the preview is downscaled first when larger). */
async function renderFallbackPng(payload: AnnotationsPayload, rgb: Uint8Array, maxSide: number): Promise<Buffer> {
  const { width, height } = payload.image;
  const scale = maxSide / Math.max(width, height);
  if (scale >= 1) return renderAnnotationsPng(payload, rgb);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const small = await sharp(rgb, { raw: { width, height, channels: 3 } }).resize(w, h, { fit: "fill" }).raw().toBuffer();
  return renderAnnotationsPng({ ...payload, image: { ...payload.image, width: w, height: h } }, new Uint8Array(small.buffer, small.byteOffset, small.length));
}

/** `{ prediction?, truth? }` rather than detections themselves. */
export function isLayers(x: unknown): x is AnnotationLayersInput {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const keys = Object.keys(x);
  return keys.every((k) => k === "prediction" || k === "truth"); // {}: the image alone
}
