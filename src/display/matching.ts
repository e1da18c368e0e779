/**
 * Prediction ⇄ truth matching for the annotation views: which predictions are true positives, which are false
 * positives, which truth boxes were missed, at an IoU threshold; per-class precision and recall. COCO's greedy rule
 * (pycocotools `evaluateImg`, one image, one threshold): predictions by descending confidence (ties: input order)
 * each take the unmatched truth box of their class with the highest IoU ≥ the threshold. With masks on both sides
 * the IoU is the masks' (on the preview grid), otherwise the boxes'.
 *
 * @example
 * const { prediction, truth, summary } = matchLayers(predBoxes, truthBoxes, 0.5);
 * prediction[0].outcome; // "tp" | "fp";  truth[0].outcome: "tp" | "fn";  summary.perClass[0].precision
 */
import type { BoxAnnotation, ClassMatchStats, MatchSummary } from "./protocol.js";
import { decodeMaskRle } from "./mask.js";

/** IoU of two `[x1, y1, x2, y2]` boxes (0 when either is empty). */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

function maskIou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i] & b[i];
    union += a[i] | b[i];
  }
  return union > 0 ? inter / union : 0;
}

/** Copies of both layers' boxes with `outcome` and `iou` set, and the per-class counts. */
export function matchLayers(prediction: readonly BoxAnnotation[], truth: readonly BoxAnnotation[], iouThreshold = 0.5): { prediction: BoxAnnotation[]; truth: BoxAnnotation[]; summary: MatchSummary } {
  if (!(iouThreshold > 0 && iouThreshold <= 1)) throw new RangeError(`iouThreshold: expected a number in (0, 1]; got ${iouThreshold}`);
  const useMasks = prediction.length > 0 && truth.length > 0 && [...prediction, ...truth].every((b) => b.mask && b.mask.width === prediction[0].mask!.width && b.mask.height === prediction[0].mask!.height);
  const pm = useMasks ? prediction.map((b) => decodeMaskRle(b.mask!)) : [];
  const tm = useMasks ? truth.map((b) => decodeMaskRle(b.mask!)) : [];
  const iou = (i: number, j: number) => (useMasks ? maskIou(pm[i], tm[j]) : boxIou(prediction[i].xyxy, truth[j].xyxy));
  const P: BoxAnnotation[] = prediction.map((b) => ({ ...b, outcome: "fp", iou: 0 }));
  const T: BoxAnnotation[] = truth.map((b) => ({ ...b, outcome: "fn", iou: 0 }));
  const order = P.map((_, i) => i).sort((i, j) => (P[j].confidence ?? 1) - (P[i].confidence ?? 1) || i - j);
  const taken = new Array<boolean>(T.length).fill(false);
  for (const i of order) {
    let best = -1;
    let bestIou = iouThreshold;
    for (let j = 0; j < T.length; j++) {
      if (taken[j] || T[j].classId !== P[i].classId) continue;
      const v = iou(i, j);
      if (v >= bestIou) [best, bestIou] = [j, v];
    }
    if (best >= 0) {
      taken[best] = true;
      P[i].outcome = T[best].outcome = "tp";
      P[i].iou = T[best].iou = bestIou;
    }
  }
  // Unmatched boxes: the IoU with the best-overlapping box of the other layer (any class), to say how near it was.
  P.forEach((p, i) => {
    if (p.outcome === "fp") p.iou = T.reduce((m, _, j) => Math.max(m, iou(i, j)), 0);
  });
  T.forEach((t, j) => {
    if (t.outcome === "fn") t.iou = P.reduce((m, _, i) => Math.max(m, iou(i, j)), 0);
  });
  const ids = [...new Set([...P, ...T].map((b) => b.classId))].sort((a, b) => a - b);
  const stats = (tp: number, fp: number, fn: number) => ({ tp, fp, fn, precision: tp + fp > 0 ? tp / (tp + fp) : null, recall: tp + fn > 0 ? tp / (tp + fn) : null });
  const count = (list: BoxAnnotation[], id: number | null, o: string) => list.filter((b) => (id === null || b.classId === id) && b.outcome === o).length;
  const perClass: ClassMatchStats[] = ids.map((id) => ({ classId: id, ...stats(count(P, id, "tp"), count(P, id, "fp"), count(T, id, "fn")) }));
  return { prediction: P, truth: T, summary: { iouThreshold, perClass, total: stats(count(P, null, "tp"), count(P, null, "fp"), count(T, null, "fn")) } };
}
