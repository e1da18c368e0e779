/**
 * Detection and segmentation metrics on `Detections` (codecs/detections.ts): COCO box mAP / mask mAP via the
 * pycocotools port (coco.ts), precision/recall at IoU 0.5, per-class AP, and segmentation mask IoU / mIoU.
 *
 * PaliGemma gives no confidences: detections without `confidence` score 1, so ties keep the generated order
 * (pycocotools sorts stably). Class ids are the `classId`s, so parse predictions and references with the same
 * `classes` list.
 *
 * @example
 *   const opts = { imageWidth: 640, imageHeight: 480, classes: ["cat", "dog"] };
 *   const r = detectionScores([Detections.fromPaligemma(generated, opts)], [Detections.fromPaligemma(target, opts)], { classes: opts.classes });
 *   r.map50; r.perClass.cat;
 */
import type { Detections } from "../codecs/detections.js";
import { cocoEvaluate, maskIouPixels, type CocoImage, type CocoObject, type CocoStats } from "./coco.js";

export interface DetectionScores extends CocoStats {
  precision50: number;
  recall50: number;
  /** AP @[.5:.95] by class name (or id), −1 when the class has no ground truth. */
  perClass: Record<string, number>;
}

export interface DetectionScoreOptions {
  /** Class names by id (for `perClass` keys and so that every class counts, like the GT file's categories). */
  classes?: readonly string[];
}

function toObjects(d: Detections, withMasks: boolean, what: string): (CocoObject & { score: number })[] {
  const n = d.length;
  if (withMasks && n && !d.mask) throw new Error(`${what}: mask metrics need Detections with masks`);
  const out: (CocoObject & { score: number })[] = [];
  for (let i = 0; i < n; i++) {
    const [x1, y1, x2, y2] = d.xyxy.subarray(i * 4, i * 4 + 4);
    const o: CocoObject & { score: number } = {
      categoryId: d.classId[i],
      bbox: [x1, y1, x2 - x1, y2 - y1],
      score: d.confidence ? d.confidence[i] : 1,
    };
    if (withMasks && d.mask) {
      const hw = d.mask.width * d.mask.height;
      o.mask = { data: d.mask.data, width: d.mask.width, height: d.mask.height, offset: i * hw };
    }
    out.push(o);
  }
  return out;
}

function toImages(preds: readonly Detections[], refs: readonly Detections[], masks: boolean): CocoImage[] {
  if (preds.length !== refs.length) throw new Error(`detection metrics: ${preds.length} predictions but ${refs.length} references`);
  return preds.map((p, i) => ({ dt: toObjects(p, masks, `prediction ${i}`), gt: toObjects(refs[i], masks, `reference ${i}`) }));
}

function scores(images: CocoImage[], iouType: "bbox" | "segm", o: DetectionScoreOptions): DetectionScores {
  const categoryIds = o.classes ? o.classes.map((_, i) => i) : undefined;
  const r = cocoEvaluate(images, { iouType, categoryIds });
  const perClass: Record<string, number> = {};
  for (const [id, ap] of r.perCategory) perClass[o.classes?.[id] ?? String(id)] = ap;
  return { ...r.stats, precision50: r.precision50, recall50: r.recall50, perClass };
}

/** COCO box metrics of predicted vs reference detections, one pair per image. */
export function detectionScores(predictions: readonly Detections[], references: readonly Detections[], o: DetectionScoreOptions = {}): DetectionScores {
  return scores(toImages(predictions, references, false), "bbox", o);
}

/** COCO mask metrics (mask mAP) of predicted vs reference detections with masks, one pair per image. */
export function maskScores(predictions: readonly Detections[], references: readonly Detections[], o: DetectionScoreOptions = {}): DetectionScores {
  return scores(toImages(predictions, references, true), "segm", o);
}

/** A binary mask of one image: row-major 0/1 of width × height. */
export interface BinaryMask {
  data: Uint8Array;
  width: number;
  height: number;
}

/** IoU of two binary masks of the same size (0 when both are empty). */
export function maskIou(a: BinaryMask, b: BinaryMask): number {
  return maskIouPixels(a, b);
}

/** Mask of detection i of `d` (a view, no copy). */
export function detectionMask(d: Detections, i: number): BinaryMask {
  if (!d.mask) throw new Error(`detectionMask: these Detections have no masks`);
  const hw = d.mask.width * d.mask.height;
  return { data: d.mask.data.subarray(i * hw, (i + 1) * hw), width: d.mask.width, height: d.mask.height };
}

export interface SemanticIou {
  /** IoU per class name (or id): Σ intersection / Σ union over images of the union of that class's masks; −1 if absent everywhere. */
  perClass: Record<string, number>;
  /** Mean over classes present in predictions or references (−1 when none). */
  miou: number;
}

/** Semantic-segmentation mIoU: per image and class, the union of its masks; I and U summed over the dataset. */
export function semanticIou(predictions: readonly Detections[], references: readonly Detections[], o: DetectionScoreOptions = {}): SemanticIou {
  if (predictions.length !== references.length) throw new Error(`semanticIou: ${predictions.length} predictions but ${references.length} references`);
  const inter = new Map<number, number>();
  const union = new Map<number, number>();
  const classIds = new Set<number>(o.classes ? o.classes.map((_, i) => i) : []);
  predictions.forEach((p, i) => {
    const r = references[i];
    const size = p.mask ?? r.mask;
    if (!size) {
      for (const d of [p, r]) d.classId.forEach((c) => classIds.add(c));
      return;
    }
    const hw = size.width * size.height;
    const classUnion = (d: Detections, what: string) => {
      const m = new Map<number, Uint8Array>();
      if (d.length && !d.mask) throw new Error(`semanticIou: ${what} ${i} has no masks`);
      if (d.mask && (d.mask.width !== size.width || d.mask.height !== size.height)) throw new Error(`semanticIou: image ${i}: mask sizes differ`);
      for (let k = 0; k < d.length; k++) {
        const c = d.classId[k];
        classIds.add(c);
        const u = m.get(c) ?? new Uint8Array(hw);
        const src = d.mask!.data;
        for (let j = 0; j < hw; j++) if (src[k * hw + j]) u[j] = 1;
        m.set(c, u);
      }
      return m;
    };
    const pm = classUnion(p, "prediction");
    const rm = classUnion(r, "reference");
    for (const c of new Set([...pm.keys(), ...rm.keys()])) {
      const a = pm.get(c);
      const b = rm.get(c);
      let I = 0;
      let U = 0;
      for (let j = 0; j < hw; j++) {
        const x = a ? a[j] : 0;
        const y = b ? b[j] : 0;
        I += x & y;
        U += x | y;
      }
      inter.set(c, (inter.get(c) ?? 0) + I);
      union.set(c, (union.get(c) ?? 0) + U);
    }
  });
  const perClass: Record<string, number> = {};
  const valid: number[] = [];
  for (const c of [...classIds].sort((a, b) => a - b)) {
    const U = union.get(c) ?? 0;
    const v = U ? (inter.get(c) ?? 0) / U : -1;
    perClass[o.classes?.[c] ?? String(c)] = v;
    if (v >= 0) valid.push(v);
  }
  return { perClass, miou: valid.length ? valid.reduce((s, x) => s + x, 0) / valid.length : -1 };
}
