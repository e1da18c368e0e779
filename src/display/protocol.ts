/**
 * The wire format between the kernel and the JupyterLab extension: versioned vendor MIME types and their JSON
 * payloads. This file imports nothing, so `lab-extension/` compiles it as is (it is the only file the extension
 * takes from `src/`). A breaking payload change gets a new version (`.v2+json`), never an in-place edit.
 *
 * After jupyterlab `packages/vega5-extension` (a versioned vendor MIME type per view).
 *
 * @example
 * import { MIME, type AnnotationsPayload } from "paligemma-ts/display";
 * const bundle = { [MIME.annotations]: payload, "text/plain": "2 detections" };
 */

/** One vendor MIME type per view. */
export const MIME = {
  annotations: "application/vnd.paligemma-ts.annotations.v1+json",
  jsonDiff: "application/vnd.paligemma-ts.jsondiff.v1+json",
  training: "application/vnd.paligemma-ts.training.v1+json",
  report: "application/vnd.paligemma-ts.report.v1+json",
  dataset: "application/vnd.paligemma-ts.dataset.v1+json",
  progress: "application/vnd.paligemma-ts.progress.v1+json",
} as const;

export type ViewName = keyof typeof MIME;
export type VendorMime = (typeof MIME)[ViewName];

/** A display-ready image: an encoded preview (`data:` URL) and the pixel size the coordinates refer to. */
export interface ImageRef {
  /** `data:image/jpeg;base64,…` or `data:image/png;base64,…` (self-contained, no network). */
  src: string;
  /** Preview size in pixels (what `src` decodes to). */
  width: number;
  height: number;
  /** Original image size: box coordinates in payloads are in these pixels. */
  naturalWidth: number;
  naturalHeight: number;
}

/**
 * A binary mask as row-major run lengths over a `width`×`height` grid that covers the whole image (the grid is
 * the preview size; scale it to the image). `counts` alternate 0-runs and 1-runs, starting with a 0-run
 * (possibly of length 0), and sum to width·height.
 */
export interface MaskRle {
  width: number;
  height: number;
  counts: number[];
}

/** One box in original-image pixels. */
export interface BoxAnnotation {
  xyxy: [number, number, number, number];
  classId: number;
  className: string;
  confidence?: number;
  mask?: MaskRle;
  /**
   * Set when a prediction is matched against a truth (src/display/matching.ts): "tp" a prediction matched to a
   * truth box of its class (and that truth box), "fp" an unmatched prediction, "fn" a missed truth box.
   */
  outcome?: Outcome;
  /** IoU with the matched box (tp), or with the best-overlapping box of the other layer (fp, fn; 0 when none). */
  iou?: number;
}

/** Prediction-vs-truth outcome of a box. */
export type Outcome = "tp" | "fp" | "fn";

/** Outcome colours (readable on photos; one source for the PNG, the HTML and the extension). */
export const OUTCOME_COLORS: Record<Outcome, string> = { tp: "#2e9e44", fp: "#e53935", fn: "#fb8c00" };
/** Outcome names as shown in legends and tooltips. */
export const OUTCOME_NAMES: Record<Outcome, string> = { tp: "true positive", fp: "false positive", fn: "missed" };

/**
 * The colour a box is drawn in: its outcome's colour when the view colours by outcome and the box has one, else
 * its class colour (`classColor`).
 */
export function boxColor(box: BoxAnnotation, colorBy: "class" | "outcome", classColor: string): string {
  return colorBy === "outcome" && box.outcome ? OUTCOME_COLORS[box.outcome] : classColor;
}

/** Per-class counts of a prediction matched against its truth at `iouThreshold`. */
export interface ClassMatchStats {
  classId: number;
  tp: number;
  fp: number;
  fn: number;
  /** tp / (tp + fp); null when nothing was predicted. */
  precision: number | null;
  /** tp / (tp + fn); null when the truth has none. */
  recall: number | null;
}

export interface MatchSummary {
  iouThreshold: number;
  perClass: ClassMatchStats[];
  total: Omit<ClassMatchStats, "classId">;
}

/** A class: its id, its (untrusted) name and the colour it is drawn with (`#rrggbb`). */
export interface ClassInfo {
  id: number;
  name: string;
  color: string;
}

/** A named set of boxes: "prediction", "ground truth". */
export interface AnnotationLayer {
  name: string;
  /** "prediction" layers are drawn solid, "truth" layers dashed. */
  role: "prediction" | "truth";
  boxes: BoxAnnotation[];
}

export interface AnnotationsPayload {
  version: 1;
  view: "annotations";
  title?: string;
  /** Untrusted text shown under the image (the prefix, the raw suffix…). */
  caption?: string;
  image: ImageRef;
  classes: ClassInfo[];
  layers: AnnotationLayer[];
  /** Present when a prediction was matched against a truth: boxes carry `outcome` and `iou`. */
  matching?: MatchSummary;
  options: {
    /** Colour boxes by class, or by outcome (TP/FP/miss; the default when `matching` is present). */
    colorBy: "class" | "outcome";
    /** 0..1, default 0.5. */
    maskOpacity: number;
    showLabels: boolean;
    showConfidence: boolean;
    /** Two or more layers: drawn on one image ("overlay") or next to each other ("side-by-side"). */
    layout: "overlay" | "side-by-side";
  };
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** equal: same value; changed: different value or type; missing: in the target only; extra: in the prediction only. */
export type DiffStatus = "equal" | "changed" | "missing" | "extra";

export interface DiffNode {
  /** Object key or array index; null at the root. */
  key: string | number | null;
  /** JSON path from the root, e.g. `$.products[2].qty`. */
  path: string;
  /** For containers: "equal" when the whole subtree is equal, else "changed" (see `counts`). */
  status: DiffStatus;
  kind: "object" | "array" | "value";
  /** Target value (leaves and missing/extra subtrees). */
  expected?: JsonValue;
  /** Predicted value (leaves and missing/extra subtrees). */
  actual?: JsonValue;
  /** For a changed string leaf: character-level edit of expected → actual ("=" kept, "-" removed, "+" added). */
  textDiff?: { op: "=" | "-" | "+"; text: string }[];
  /** For an array matched by an id-like key instead of by position: the key (`sku`, `id`…). */
  matchedBy?: string;
  children?: DiffNode[];
}

/** Leaf counts per status (a missing/extra subtree counts its leaves). */
export interface DiffCounts {
  equal: number;
  changed: number;
  missing: number;
  extra: number;
}

/** Accuracy of one field over many samples (paths with array indices generalised to `[]`). */
export interface FieldAccuracy {
  path: string;
  correct: number;
  total: number;
}

export interface JsonDiffPayload {
  version: 1;
  view: "jsonDiff";
  title?: string;
  /** When a side is not valid JSON: which one, and the raw text (shown as text). */
  parseErrors?: { side: "expected" | "actual"; message: string; text: string }[];
  root: DiffNode | null;
  counts: DiffCounts;
  /** Present when built from many samples (`samples` of them). */
  fieldAccuracy?: FieldAccuracy[];
  samples?: number;
}

export interface SeriesPoint {
  step: number;
  value: number;
}

export interface TrainingPayload {
  version: 1;
  view: "training";
  title?: string;
  status: "running" | "done" | "stopped" | "failed";
  step: number;
  /** The Trainer's `maxSteps` (src/events/trainer.ts `trainBegin`). */
  maxSteps: number | null;
  epoch: number | null;
  numEpochs: number | null;
  elapsedSeconds: number;
  etaSeconds: number | null;
  samplesPerSecond: number | null;
  /** Every logged scalar as a curve by name ("loss", "learningRate", "gradNorm", …), points in step order. */
  series: { name: string; points: SeriesPoint[] }[];
  /** Every evaluation so far, in step order (the last is the latest). */
  evaluations: { step: number; metrics: Record<string, number> }[];
  checkpoints: { step: number; path: string }[];
  message?: string;
}

/** A row of an evaluation report. */
export interface ReportRow {
  /** Position in the dataset. */
  index: number;
  thumbnail?: ImageRef;
  prefix: string;
  target: string;
  prediction: string;
  scores: Record<string, number>;
  /** The detail view that opens when the row is clicked. */
  detail?: { mime: typeof MIME.annotations; payload: AnnotationsPayload } | { mime: typeof MIME.jsonDiff; payload: JsonDiffPayload };
}

export interface ReportPayload {
  version: 1;
  view: "report";
  title?: string;
  aggregates: Record<string, number>;
  /** Per aggregate: is a higher value better (absent: unknown)? */
  higherIsBetter?: Record<string, boolean>;
  /** The score rows are sorted by, ascending (worst first). */
  sortKey: string | null;
  rows: ReportRow[];
  /** Rows left out of the payload (the report keeps the worst `rows.length`). */
  omittedRows: number;
}

export interface DatasetItem {
  thumbnail: ImageRef;
  prefix: string;
  suffix: string;
  /** Short label under the thumbnail (class names, or the start of the suffix). */
  label: string;
  boxes?: BoxAnnotation[];
}

export interface DatasetPayload {
  version: 1;
  view: "dataset";
  title?: string;
  /** Headline numbers ("examples", "skipped", …). */
  counts: Record<string, number>;
  /** Extra statistics as label → text ("prefix length" → "min 3 · mean 5.2 · max 9"). */
  stats: Record<string, string>;
  classes: ClassInfo[];
  items: DatasetItem[];
}

/** One long call's progress (from `ProgressEvent`s of src/events/progress.ts): evaluation, generation, loading. */
export interface ProgressPayload {
  version: 1;
  view: "progress";
  /** "train", "evaluate", "generate", "load", "pretrain". */
  task: string;
  label?: string;
  status: "running" | "done" | "failed";
  done: number;
  total: number | null;
  unit: string | null;
  elapsedSeconds: number;
  etaSeconds: number | null;
  /** Units per second since the start. */
  rate: number | null;
  metrics: Record<string, number>;
  error?: string;
}

/** Payload type per vendor MIME type. */
export interface PayloadByMime {
  [MIME.annotations]: AnnotationsPayload;
  [MIME.jsonDiff]: JsonDiffPayload;
  [MIME.training]: TrainingPayload;
  [MIME.report]: ReportPayload;
  [MIME.dataset]: DatasetPayload;
  [MIME.progress]: ProgressPayload;
}

/** A Jupyter `display_data` content: MIME type → payload (JSON value or string; binary images base64). */
export interface MimeBundle {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** Every payload, tagged by its `view` (the key of `MIME`): dispatch reads the tag, never the other keys. */
export type AnyPayload = AnnotationsPayload | JsonDiffPayload | TrainingPayload | ReportPayload | DatasetPayload | ProgressPayload;
