/**
 * COCO average precision, a line-by-line port of pycocotools' `COCOeval` (cocodataset/cocoapi
 * PythonAPI/pycocotools/cocoeval.py) for boxes (`bbIou` of maskApi.c) and masks (pixel IoU, what `rleIou`
 * computes), split as pycocotools is: {@link evaluate} (with {@link computeIoU} and {@link evaluateImg} per image
 * and category), {@link accumulate}, {@link summarize}; {@link cocoEvaluate} runs the three. Equal to pycocotools
 * on the fixtures (test/fixtures/eval, 1e-6).
 *
 * Conventions kept from pycocotools: IoU thresholds 0.50:0.05:0.95, 101 recall points, maxDets 1/10/100, area
 * ranges all/small/medium/large (32², 96²); a category with no ground truth anywhere is excluded from the means,
 * and a mean over nothing is −1 (pycocotools' "absent" value, never NaN).
 *
 * @example
 *   const r = cocoEvaluate([{ gt: [{ bbox: [0, 0, 10, 10], categoryId: 0 }], dt: [{ bbox: [0, 0, 10, 10], categoryId: 0, score: 1 }] }]);
 *   r.stats.map50;  // 1
 */

/** A ground-truth object. bbox is COCO [x, y, w, h]; mask is a row-major 0/1 bitmap of the image. */
export interface CocoObject {
  categoryId: number;
  bbox?: readonly number[];
  mask?: { data: Uint8Array; width: number; height: number; offset?: number };
  /** pycocotools uses the annotation's `area` for area ranges; default w·h (bbox) or the mask's pixel count. */
  area?: number;
  iscrowd?: boolean;
}

export interface CocoDetection extends CocoObject {
  score: number;
}

export interface CocoImage {
  gt: readonly CocoObject[];
  dt: readonly CocoDetection[];
}

export interface CocoOptions {
  iouType?: "bbox" | "segm";
  /** Category ids to evaluate (pycocotools: every category of the GT file); default: those seen in gt or dt. */
  categoryIds?: readonly number[];
}

export interface CocoStats {
  map: number; // AP @[.5:.95] all areas, maxDets 100
  map50: number;
  map75: number;
  mapSmall: number;
  mapMedium: number;
  mapLarge: number;
  ar1: number;
  ar10: number;
  ar100: number;
  arSmall: number;
  arMedium: number;
  arLarge: number;
}

export interface CocoResult {
  stats: CocoStats;
  /** AP @[.5:.95] per category id (all areas, maxDets 100); −1 when the category has no ground truth. */
  perCategory: Map<number, number>;
  /** Greedy COCO matching at IoU 0.5 (all areas, maxDets 100): TP / detections and TP / ground truths. */
  precision50: number;
  recall50: number;
}

/** np.linspace(start, stop, num) as numpy computes it (arange · step + start, last = stop). */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * step + start));
}

export const IOU_THRESHOLDS = linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
export const RECALL_THRESHOLDS = linspace(0, 1, Math.round((1 - 0) / 0.01) + 1);
const MAX_DETS = [1, 10, 100];
const AREA_RANGES: [number, number][] = [
  [0, 1e5 ** 2],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e5 ** 2],
];
const EPS = 2.220446049250313e-16; // np.spacing(1)

/** maskApi.c `bbIou` for one pair (boxes [x, y, w, h]). */
export function boxIou(d: readonly number[], g: readonly number[], crowd = false): number {
  const ga = g[2] * g[3];
  const da = d[2] * d[3];
  const w = Math.min(d[2] + d[0], g[2] + g[0]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[3] + d[1], g[3] + g[1]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const i = w * h;
  const u = crowd ? da : da + ga - i;
  return i / u;
}

function maskPixels(m: NonNullable<CocoObject["mask"]>): number {
  const o = m.offset ?? 0;
  let s = 0;
  for (let k = 0; k < m.width * m.height; k++) s += m.data[o + k] ? 1 : 0;
  return s;
}

/** Pixel IoU of two masks of one image (pycocotools `rleIou`; crowd: intersection / detection area). */
export function maskIouPixels(d: NonNullable<CocoObject["mask"]>, g: NonNullable<CocoObject["mask"]>, crowd = false): number {
  if (d.width !== g.width || d.height !== g.height) throw new Error(`maskIou: masks of different sizes ${d.width}×${d.height} and ${g.width}×${g.height}`);
  const od = d.offset ?? 0;
  const og = g.offset ?? 0;
  let inter = 0;
  let ad = 0;
  let ag = 0;
  for (let k = 0; k < d.width * d.height; k++) {
    const a = d.data[od + k] ? 1 : 0;
    const b = g.data[og + k] ? 1 : 0;
    ad += a;
    ag += b;
    inter += a & b;
  }
  const u = crowd ? ad : ad + ag - inter;
  return u > 0 ? inter / u : 0;
}

/** pycocotools `evaluateImg`'s result for one (category, area range, image): what accumulate() reads. */
export interface EvalImg {
  dtScores: number[];
  dtMatches: number[][]; // [T][D] matched gt id (0 = none)
  dtIgnore: boolean[][]; // [T][D]
  gtIgnore: number[]; // [G], 1 = ignored
}

/** A ground truth or detection with the id pycocotools gives it (1-based over all images) and its area. */
export interface GtEntry { o: CocoObject; id: number; area: number; ignore: number; crowd: boolean }
export interface DtEntry { o: CocoDetection; id: number; area: number; score: number }

/** `evaluate()`'s output: evalImgs[k][a][i] for category index k, area range a, image i (null: no gt and no dt). */
export interface CocoEvaluation {
  catIds: number[];
  evalImgs: (EvalImg | null)[][][];
}

/** `accumulate()`'s output: precision float64[T, R, K, A, M] and recall float64[T, K, A, M], −1 where absent. */
export interface CocoAccumulation {
  numCategories: number;
  precision: Float64Array;
  recall: Float64Array;
}

const T = IOU_THRESHOLDS.length;
const R = RECALL_THRESHOLDS.length;
const A = AREA_RANGES.length;
const M = MAX_DETS.length;
/** Flat indices into CocoAccumulation's arrays. */
const P = (K: number, t: number, r: number, k: number, a: number, m: number) => (((t * R + r) * K + k) * A + a) * M + m;
const Rc = (K: number, t: number, k: number, a: number, m: number) => ((t * K + k) * A + a) * M + m;

function area(o: CocoObject, iouType: "bbox" | "segm"): number {
  if (o.area !== undefined) return o.area;
  if (iouType === "segm") return o.mask ? maskPixels(o.mask) : 0;
  return o.bbox ? o.bbox[2] * o.bbox[3] : 0;
}

/** Stable order of indices by key ascending (np.argsort kind='mergesort'). */
function stableArgsort(keys: number[]): number[] {
  return keys.map((k, i) => [k, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
}

/** Every object has what `iouType` needs and every score is finite; throws naming the image otherwise. */
function validateImages(images: readonly CocoImage[], iouType: "bbox" | "segm"): void {
  for (const [i, im] of images.entries()) {
    for (const o of [...im.gt, ...im.dt]) {
      if (iouType === "bbox" && (!o.bbox || o.bbox.length !== 4 || !o.bbox.every(Number.isFinite))) throw new Error(`cocoEvaluate: image ${i}: every object needs a finite bbox [x, y, w, h]`);
      if (iouType === "segm" && !o.mask) throw new Error(`cocoEvaluate: image ${i}: iouType "segm" needs a mask on every object`);
    }
    for (const d of im.dt) if (!Number.isFinite(d.score)) throw new Error(`cocoEvaluate: image ${i}: detection score must be finite, got ${d.score}`);
  }
}

/**
 * pycocotools `COCOeval.computeIoU(imgId, catId)`: the detections sorted by score (stable) and cut to
 * maxDets[-1], and ious[d][g] between them and the ground truths.
 */
function computeIoU(gts: GtEntry[], dtsAll: DtEntry[], iouType: "bbox" | "segm", maxDet: number): { dts: DtEntry[]; ious: number[][] } {
  const dts = stableArgsort(dtsAll.map((d) => -d.score)).map((i) => dtsAll[i]).slice(0, maxDet);
  const ious = dts.map((d) =>
    gts.map((g) => (iouType === "bbox" ? boxIou(d.o.bbox!, g.o.bbox!, g.crowd) : maskIouPixels(d.o.mask!, g.o.mask!, g.crowd))),
  );
  return { dts, ious };
}

/**
 * pycocotools `COCOeval.evaluateImg(imgId, catId, aRng, maxDet)`: greedy matching of the score-sorted detections
 * to the ground truths at every IoU threshold (ignored and crowd ground truths last; a crowd one can match many),
 * then detections outside the area range that matched nothing are ignored. null when there is neither.
 */
export function evaluateImg(gts: GtEntry[], dts: DtEntry[], ious: number[][], [lo, hi]: [number, number], maxDet: number): EvalImg | null {
  if (!gts.length && !dts.length) return null;
  const gIg = gts.map((g) => (g.ignore || g.area < lo || g.area > hi ? 1 : 0));
  const gtind = stableArgsort(gIg);
  const gtSorted = gtind.map((i) => gts[i]);
  const gtIg = gtind.map((i) => gIg[i]);
  const dtS = dts.slice(0, maxDet);
  const D = dtS.length;
  const G = gtSorted.length;
  const gtm: number[][] = IOU_THRESHOLDS.map(() => new Array<number>(G).fill(0));
  const dtm: number[][] = IOU_THRESHOLDS.map(() => new Array<number>(D).fill(0));
  const dtIgM: boolean[][] = IOU_THRESHOLDS.map(() => new Array<boolean>(D).fill(false));
  if (D && G) {
    IOU_THRESHOLDS.forEach((t, tind) => {
      dtS.forEach((d, dind) => {
        let iou = Math.min(t, 1 - 1e-10);
        let m = -1;
        for (let gind = 0; gind < G; gind++) {
          if (gtm[tind][gind] > 0 && !gtSorted[gind].crowd) continue;
          if (m > -1 && gtIg[m] === 0 && gtIg[gind] === 1) break;
          const v = ious[dind][gtind[gind]];
          if (v < iou) continue;
          iou = v;
          m = gind;
        }
        if (m === -1) return;
        dtIgM[tind][dind] = gtIg[m] === 1;
        dtm[tind][dind] = gtSorted[m].id;
        gtm[tind][m] = d.id;
      });
    });
  }
  dtS.forEach((d, dind) => {
    const out = d.area < lo || d.area > hi;
    for (let t = 0; t < T; t++) dtIgM[t][dind] = dtIgM[t][dind] || (dtm[t][dind] === 0 && out);
  });
  return { dtScores: dtS.map((d) => d.score), dtMatches: dtm, dtIgnore: dtIgM, gtIgnore: gtIg };
}

/**
 * pycocotools `COCOeval.evaluate()`: ids as pycocotools assigns them (1-based over all gts / all dts), then
 * computeIoU and evaluateImg for every image, category and area range at maxDets[-1].
 */
export function evaluate(images: readonly CocoImage[], catIds: number[], iouType: "bbox" | "segm"): CocoEvaluation {
  let gtId = 0;
  let dtId = 0;
  const perImage = images.map((im) => ({
    gt: im.gt.map((g): GtEntry => ({ o: g, id: ++gtId, area: area(g, iouType), ignore: g.iscrowd ? 1 : 0, crowd: !!g.iscrowd })),
    dt: im.dt.map((d): DtEntry => ({ o: d, id: ++dtId, area: area(d, iouType), score: d.score })),
  }));
  const evalImgs: (EvalImg | null)[][][] = catIds.map(() => AREA_RANGES.map(() => []));
  const maxDet = MAX_DETS[M - 1];
  for (const im of perImage) {
    catIds.forEach((cat, k) => {
      const gts = im.gt.filter((g) => g.o.categoryId === cat);
      const { dts, ious } = computeIoU(gts, im.dt.filter((d) => d.o.categoryId === cat), iouType, maxDet);
      AREA_RANGES.forEach((range, a) => evalImgs[k][a].push(evaluateImg(gts, dts, ious, range, maxDet)));
    });
  }
  return { catIds, evalImgs };
}

/**
 * pycocotools `COCOeval.accumulate()`: per (IoU threshold, category, area range, maxDets) the detections of every
 * image merged by score, cumulative TP/FP, recall = TP / non-ignored gts, precision made monotone and read at the
 * 101 recall thresholds (np.searchsorted, side='left'). −1 where a category has no ground truth.
 */
export function accumulate({ catIds, evalImgs }: CocoEvaluation): CocoAccumulation {
  const K = catIds.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      for (let m = 0; m < M; m++) {
        const md = MAX_DETS[m];
        const E = evalImgs[k][a].filter((e): e is EvalImg => e !== null);
        if (!E.length) continue;
        const scores = E.flatMap((e) => e.dtScores.slice(0, md));
        const inds = stableArgsort(scores.map((s) => -s));
        const dtmRows = IOU_THRESHOLDS.map((_, t) => {
          const row = E.flatMap((e) => e.dtMatches[t].slice(0, md));
          return inds.map((i) => row[i]);
        });
        const dtIgRows = IOU_THRESHOLDS.map((_, t) => {
          const row = E.flatMap((e) => e.dtIgnore[t].slice(0, md));
          return inds.map((i) => row[i]);
        });
        const npig = E.reduce((s, e) => s + e.gtIgnore.filter((g) => g === 0).length, 0);
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          const nd = inds.length;
          const rc = new Float64Array(nd);
          const pr = new Array<number>(nd);
          let tpSum = 0;
          let fpSum = 0;
          for (let j = 0; j < nd; j++) {
            const ig = dtIgRows[t][j];
            if (dtmRows[t][j] && !ig) tpSum++;
            if (!dtmRows[t][j] && !ig) fpSum++;
            rc[j] = tpSum / npig;
            pr[j] = tpSum / (fpSum + tpSum + EPS);
          }
          recall[Rc(K, t, k, a, m)] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          for (let r = 0; r < R; r++) {
            // np.searchsorted(rc, recThr, side='left'): first index with rc[idx] >= recThr
            const thr = RECALL_THRESHOLDS[r];
            let lo = 0;
            let hi = nd;
            while (lo < hi) {
              const mid = (lo + hi) >> 1;
              if (rc[mid] < thr) lo = mid + 1;
              else hi = mid;
            }
            if (lo >= nd) break; // pycocotools: IndexError → the remaining recall points stay 0
            precision[P(K, t, r, k, a, m)] = pr[lo];
          }
          for (let r = 0; r < R; r++) if (precision[P(K, t, r, k, a, m)] === -1) precision[P(K, t, r, k, a, m)] = 0;
        }
      }
    }
  }
  return { numCategories: K, precision, recall };
}

/**
 * pycocotools `COCOeval.summarize()` (its `_summarize(ap, iouThr, areaRng, maxDets)`): the twelve stats as means
 * over the entries that are not −1 (−1 when none are); `categories` restricts AP to some category indices
 * (used for the per-category AP).
 */
export function summarize({ numCategories: K, precision, recall }: CocoAccumulation, categories?: number[]): CocoStats {
  const meanValid = (vals: number[]) => {
    const v = vals.filter((x) => x > -1);
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : -1;
  };
  const ks = categories ?? Array.from({ length: K }, (_, k) => k);
  const ap = (iouThr: number | null, a: number, m: number) => {
    const ts = iouThr === null ? IOU_THRESHOLDS.map((_, t) => t) : IOU_THRESHOLDS.flatMap((x, t) => (x === iouThr ? [t] : []));
    const vals: number[] = [];
    for (const t of ts) for (let r = 0; r < R; r++) for (const k of ks) vals.push(precision[P(K, t, r, k, a, m)]);
    return meanValid(vals);
  };
  const ar = (a: number, m: number) => {
    const vals: number[] = [];
    for (let t = 0; t < T; t++) for (const k of ks) vals.push(recall[Rc(K, t, k, a, m)]);
    return meanValid(vals);
  };
  return {
    map: ap(null, 0, 2),
    map50: ap(0.5, 0, 2),
    map75: ap(0.75, 0, 2),
    mapSmall: ap(null, 1, 2),
    mapMedium: ap(null, 2, 2),
    mapLarge: ap(null, 3, 2),
    ar1: ar(0, 0),
    ar10: ar(0, 1),
    ar100: ar(0, 2),
    arSmall: ar(1, 2),
    arMedium: ar(2, 2),
    arLarge: ar(3, 2),
  };
}

/**
 * Not pycocotools: greedy COCO matching at IoU 0.5 over every category (all areas, maxDets 100), detections of
 * absent classes included: TP / detections and TP / ground truths (1 when both are empty).
 */
function precisionRecall50({ evalImgs }: CocoEvaluation): { precision50: number; recall50: number } {
  let tp50 = 0;
  let nd50 = 0;
  let npig50 = 0;
  for (const byArea of evalImgs) {
    for (const e of byArea[0]) {
      if (!e) continue;
      npig50 += e.gtIgnore.filter((g) => g === 0).length;
      e.dtMatches[0].forEach((x, j) => {
        if (!e.dtIgnore[0][j]) {
          nd50++;
          if (x) tp50++;
        }
      });
    }
  }
  return { precision50: nd50 ? tp50 / nd50 : npig50 ? 0 : 1, recall50: npig50 ? tp50 / npig50 : nd50 ? 0 : 1 };
}

/** pycocotools `COCOeval(…).evaluate(); .accumulate(); .summarize()` over the given images. */
export function cocoEvaluate(images: readonly CocoImage[], options: CocoOptions = {}): CocoResult {
  const iouType = options.iouType ?? "bbox";
  validateImages(images, iouType);
  const catIds = options.categoryIds
    ? [...new Set(options.categoryIds)].sort((a, b) => a - b)
    : [...new Set(images.flatMap((im) => [...im.gt, ...im.dt].map((o) => o.categoryId)))].sort((a, b) => a - b);
  const evaluation = evaluate(images, catIds, iouType);
  const accumulated = accumulate(evaluation);
  const stats = summarize(accumulated);
  const perCategory = new Map(catIds.map((c, k) => [c, summarize(accumulated, [k]).map]));
  return { stats, perCategory, ...precisionRecall50(evaluation) };
}
