/**
 * The metrics registry: `evaluate(predictions, references, ["json_field_f1", "map", …])` on generated texts.
 * Every metric is a pure function of strings (plus context: class names, image sizes, a segmentation parser), so
 * eval/ needs neither TF.js nor the model; unknown names throw with the list of valid ones.
 *
 * Each result has a headline `value`, `details` (numbers or tables) and, where the metric is defined per sample,
 * `perSample` scores in [0, 1] oriented so that higher is better (the evaluation report sorts by them).
 *
 * @example
 *   const r = evaluate(['{"a":"x"}'], ['{"a":"y"}'], ["json_parse_rate", "json_field_f1", "bleu"]);
 *   r.json_field_f1.value;       // 0
 *   evaluate([], [], ["mAP"]);   // throws: unknown metric "mAP"; valid: bleu, donut_f1, …
 */
import { Detections, type FromPaligemmaOptions } from "../codecs/detections.js";
import { parseLocText, type ImageSize } from "../codecs/loc.js";
import { donutF1, donutTedAccuracy } from "./json/donut.js";
import { jsonFieldScores, type JsonFieldOptions } from "./json/fields.js";
import { parseJson } from "../codecs/json.js";
import { corpusBleu, normalizedEditDistance, rougeL } from "./text.js";
import { detectionScores, maskScores, semanticIou, type DetectionScores } from "./detection.js";

export interface MetricContext {
  /** Class names, in id order (detection/segmentation; parse with this list). */
  classes?: readonly string[];
  /** Image sizes per sample (or one for all); default 1023 × 1023, so boxes are in `<loc>` bin units. */
  imageSizes?: ImageSize | readonly ImageSize[];
  /** How JSON lists are matched (see eval/json/fields.ts). */
  json?: JsonFieldOptions;
  /**
   * Text → Detections with masks, for mask metrics (`mask_map`, `miou`, `mask_iou`): pass
   * `segmentationParser(vae)` from codecs/segmentation.ts (it needs the VQ-VAE, which eval/ must not import).
   */
  parseSegmentation?: (text: string, options: FromPaligemmaOptions) => Detections;
}

export type MetricDetail = number | string | Record<string, number> | readonly Record<string, number | string>[];

export interface MetricResult {
  /** The headline number (e.g. mAP@[.5:.95], field F1, BLEU on 0–100). */
  value: number;
  details: Record<string, MetricDetail>;
  /** Per-sample scores, higher = better, in input order (absent for corpus-only metrics like BLEU). */
  perSample?: number[];
}

export interface Metric {
  readonly name: string;
  readonly description: string;
  /** False for distances (edit_distance). */
  readonly higherIsBetter: boolean;
  compute(predictions: readonly string[], references: readonly string[], context: MetricContext): MetricResult;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

function sizeAt(ctx: MetricContext, i: number): ImageSize {
  const s = ctx.imageSizes;
  if (!s) return { imageWidth: 1023, imageHeight: 1023 };
  if (Array.isArray(s)) {
    const x = (s as readonly ImageSize[])[i];
    if (!x) throw new Error(`metrics: imageSizes has ${s.length} entries, sample ${i} has none`);
    return x;
  }
  return s as ImageSize;
}

/** Without `context.classes`, one class list for both sides: labels by first appearance in references, then predictions. */
function withClasses(ctx: MetricContext, references: readonly string[], predictions: readonly string[]): MetricContext {
  if (ctx.classes) return ctx;
  const seen = new Set<string>();
  for (const t of [...references, ...predictions]) for (const o of parseLocText(t)) seen.add(o.label);
  return { ...ctx, classes: [...seen] };
}

function parseBoxes(texts: readonly string[], ctx: MetricContext, masks: boolean): Detections[] {
  return texts.map((t, i) => {
    const opts: FromPaligemmaOptions = { ...sizeAt(ctx, i), ...(ctx.classes ? { classes: ctx.classes } : {}) };
    if (!masks) return Detections.fromPaligemma(t, opts);
    if (!ctx.parseSegmentation) {
      throw new Error(`mask metrics need context.parseSegmentation (segmentationParser(vae) from codecs/segmentation.ts)`);
    }
    return ctx.parseSegmentation(t, opts);
  });
}

function detectionResult(r: DetectionScores, perSample?: number[]): MetricResult {
  const { map, perClass, ...rest } = r;
  return { value: map, details: { ...rest, perClass }, perSample };
}

/** Per-image F1 at IoU 0.5 (greedy COCO matching), for ranking samples. */
function perImageF1(preds: Detections[], refs: Detections[], ctx: MetricContext, masks: boolean): number[] {
  return preds.map((p, i) => {
    const r = (masks ? maskScores : detectionScores)([p], [refs[i]], { classes: ctx.classes });
    const s = r.precision50 + r.recall50;
    return s > 0 ? (2 * r.precision50 * r.recall50) / s : 0;
  });
}

const metrics: Metric[] = [
  {
    name: "exact_match",
    description: "fraction of predictions equal to the reference after trimming",
    higherIsBetter: true,
    compute(p, r) {
      const s = p.map((x, i) => (x.trim() === r[i].trim() ? 1 : 0));
      return { value: mean(s), details: {}, perSample: s };
    },
  },
  {
    name: "edit_distance",
    description: "normalised Levenshtein distance over code points (0 = identical); perSample is 1 − distance",
    higherIsBetter: false,
    compute(p, r) {
      const d = p.map((x, i) => normalizedEditDistance(x, r[i]));
      return { value: mean(d), details: {}, perSample: d.map((x) => 1 - x) };
    },
  },
  {
    name: "bleu",
    description: "corpus BLEU equal to sacrebleu (13a tokenisation, exp smoothing), 0–100",
    higherIsBetter: true,
    compute(p, r) {
      const b = corpusBleu(p, r);
      return { value: b.score, details: { brevityPenalty: b.brevityPenalty, sysLen: b.sysLen, refLen: b.refLen, precisions: Object.fromEntries(b.precisions.map((x, i) => [`p${i + 1}`, x])) } };
    },
  },
  {
    name: "rouge_l",
    description: "rouge-score rougeL F-measure (no stemming), mean over samples",
    higherIsBetter: true,
    compute(p, r) {
      const s = rougeL(p, r);
      return { value: s.fmeasure, details: { precision: s.precision, recall: s.recall }, perSample: s.perSample };
    },
  },
  {
    name: "json_parse_rate",
    description: "fraction of predictions that parse as JSON",
    higherIsBetter: true,
    compute(p) {
      const s = p.map((x) => (parseJson(x.trim()).ok ? 1 : 0));
      return { value: mean(s), details: {}, perSample: s };
    },
  },
  {
    name: "json_exact_match",
    description: "fraction of predictions equal to the reference as JSON (key order ignored, lists per context.json)",
    higherIsBetter: true,
    compute(p, r, ctx) {
      const s = jsonFieldScores(p, r, ctx.json);
      return { value: s.exactMatch, details: {} };
    },
  },
  {
    name: "json_field_f1",
    description: "micro field-level F1 over flattened key paths (+ precision, recall, per-field table)",
    higherIsBetter: true,
    compute(p, r, ctx) {
      const s = jsonFieldScores(p, r, ctx.json);
      return {
        value: s.f1,
        details: { precision: s.precision, recall: s.recall, parseRate: s.parseRate, exactMatch: s.exactMatch, perField: s.perField.map((f) => ({ ...f })) },
        perSample: s.perSample,
      };
    },
  },
  {
    name: "json_ted_accuracy",
    description: "Donut's normalised tree-edit-distance accuracy (nTED), mean over samples",
    higherIsBetter: true,
    compute(p, r) {
      const s = p.map((x, i) => donutTedAccuracy(parseJson(x.trim()), parseJson(r[i].trim())));
      return { value: mean(s), details: {}, perSample: s };
    },
  },
  {
    name: "donut_f1",
    description: "Donut's field F1 (cal_f1) over normalised, flattened fields",
    higherIsBetter: true,
    compute(p, r) {
      return { value: donutF1(p.map((x) => parseJson(x.trim())), r.map((x) => parseJson(x.trim()))), details: {} };
    },
  },
  {
    name: "map",
    description: "COCO box mAP@[.5:.95] from <loc> outputs, equal to pycocotools (+ mAP50, mAP75, per class, P/R@0.5)",
    higherIsBetter: true,
    compute(p, r, context) {
      const ctx = withClasses(context, r, p);
      const dp = parseBoxes(p, ctx, false);
      const dr = parseBoxes(r, ctx, false);
      return detectionResult(detectionScores(dp, dr, { classes: ctx.classes }), perImageF1(dp, dr, ctx, false));
    },
  },
  {
    name: "mask_map",
    description: "COCO mask mAP@[.5:.95] from <loc>+<seg> outputs (needs context.parseSegmentation)",
    higherIsBetter: true,
    compute(p, r, context) {
      const ctx = withClasses(context, r, p);
      const dp = parseBoxes(p, ctx, true);
      const dr = parseBoxes(r, ctx, true);
      return detectionResult(maskScores(dp, dr, { classes: ctx.classes }), perImageF1(dp, dr, ctx, true));
    },
  },
  {
    name: "miou",
    description: "semantic mIoU per class over the dataset (needs context.parseSegmentation)",
    higherIsBetter: true,
    compute(p, r, context) {
      const ctx = withClasses(context, r, p);
      const dp = parseBoxes(p, ctx, true);
      const dr = parseBoxes(r, ctx, true);
      const s = semanticIou(dp, dr, { classes: ctx.classes });
      const perSample = dp.map((x, i) => {
        const v = semanticIou([x], [dr[i]]).miou;
        return v === -1 ? 1 : v; // nothing predicted and nothing to find: right
      });
      return { value: s.miou, details: { perClass: s.perClass }, perSample };
    },
  },
];

/** Every metric by name. */
export const METRICS: ReadonlyMap<string, Metric> = new Map(metrics.map((m) => [m.name, m]));

/** Register a custom metric (names must be new). */
export function registerMetric(metric: Metric): void {
  if ((METRICS as Map<string, Metric>).has(metric.name)) throw new Error(`registerMetric: "${metric.name}" is already registered`);
  (METRICS as Map<string, Metric>).set(metric.name, metric);
}

/** Look a metric up; unknown names throw with the valid ones. */
export function getMetric(name: string): Metric {
  const m = METRICS.get(name);
  if (!m) throw new Error(`unknown metric ${JSON.stringify(name)}; valid: ${[...METRICS.keys()].sort().join(", ")}`);
  return m;
}

/** Run the named metrics on generated texts vs references. */
export function evaluate(predictions: readonly string[], references: readonly string[], names: readonly string[], context: MetricContext = {}): Record<string, MetricResult> {
  if (predictions.length !== references.length) throw new Error(`evaluate: ${predictions.length} predictions but ${references.length} references`);
  const chosen = names.map(getMetric);
  const preds = predictions.map((p) => (typeof p === "string" ? p : ""));
  const out: Record<string, MetricResult> = {};
  for (const m of chosen) out[m.name] = m.compute(preds, references, context);
  return out;
}
