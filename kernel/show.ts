/**
 * `await show(x)`: one call that displays whatever it is given as ONE rich output (vendor MIME for the JupyterLab
 * extension + static fallbacks). Dispatch, in order:
 *
 * | given | shows |
 * | --- | --- |
 * | a `MimeBundle` (`{ data, metadata }`) | as is |
 * | anything, with `options.view` | that view, no guessing (`"annotations"`, `"jsonDiff"`, `"report"`, `"dataset"`, `"training"`) |
 * | a sample `{ image, prefix, suffix }` (+ `options.prediction`: generated text) | image with the suffix's boxes / the prediction against it (boxes or JSON diff) |
 * | `{ image, prediction?, truth? }` with detections | box/mask overlay (both layers: overlay or side by side) |
 * | `Detections` (+ `options.image`) | box/mask overlay |
 * | `{ expected, actual }` | JSON diff (strings are parsed); an array of them: per-field accuracy |
 * | an evaluation report: `evaluateModel`'s, or `{ rows: [{ prefix, target, prediction, scores }], aggregates }` | sortable report, worst first |
 * | a dataset (`{ length, get(i) }`, optional `describe()`) or an array of samples | summary + thumbnail grid |
 * | a `TrainingProgress`, or a training history (array of log records `{ step, loss, … }`) | training dashboard |
 * | a payload built by `paligemma-ts/display` (`version: 1`, its `view` tag) | that view |
 * | anything else | `text/plain` (util.inspect) |
 *
 * Positional forms (no object literal, so no tslab shorthand pitfall; see `showArguments`):
 * `show(sample, predictionText)` and `show(image, detections)`.
 *
 * @example
 * import { show } from "paligemma-ts/kernel";
 * await show({ image: "cat.jpg", prefix: "detect cat", suffix: "<loc0100><loc0200><loc0800><loc0900> cat" });
 * await show(detections, { image: "cat.jpg", maskOpacity: 0.3 });
 * await show("cat.jpg", detections);                 // the same, positionally
 * await show(sample, generatedText);                 // = show(sample, { prediction: generatedText })
 * await show({ expected: truthJson, actual: generatedText });
 */
import { inspect } from "node:util";
import {
  annotationsBundle,
  isPayload,
  payloadBundle,
  buildDatasetSummary,
  buildReport,
  datasetBundle,
  diffJson,
  diffJsonMany,
  isDetectionsInput,
  isImageInput,
  isSample,
  jsonDiffBundle,
  predictionBundle,
  reportBundle,
  sampleBundle,
  trainingBundle,
  TrainingProgress,
  DisplayError,
  type AnnotateOptions,
  type DescriptionLike,
  type DetectionsInput,
  type ImageInput,
  type LogEvent,
  type MimeBundle,
  type ReportInput,
  type ReportOptions,
  type SampleInput,
  type DatasetSummaryOptions,
  type ViewName,
} from "../src/display/index.js";
import { sendBundle } from "./transport.js";

export interface ShowOptions extends AnnotateOptions, ReportOptions, Omit<DatasetSummaryOptions, "classes" | "colors" | "title"> {
  /** The image detections refer to (for `show(detections, { image })`). */
  image?: ImageInput;
  /** Generated text to compare with a sample's suffix. */
  prediction?: string;
  /** Show `x` as this view, without guessing from its shape (an error says what the view needs). */
  view?: Exclude<ViewName, "progress">;
}

function isBundle(x: unknown): x is MimeBundle {
  const b = x as MimeBundle;
  return typeof b === "object" && b !== null && typeof b.data === "object" && b.data !== null && !Array.isArray(b.data) && Object.keys(b).every((k) => k === "data" || k === "metadata");
}

interface DatasetLike {
  length: number;
  get(i: number): Promise<SampleInput>;
  describe?: () => DescriptionLike | Promise<DescriptionLike>;
}
function isDataset(x: unknown): x is DatasetLike {
  const d = x as DatasetLike;
  return typeof d === "object" && d !== null && typeof d.length === "number" && typeof d.get === "function";
}

function isLogHistory(x: unknown): x is LogEvent[] {
  return Array.isArray(x) && x.length > 0 && x.every((r) => typeof r === "object" && r !== null && Number.isInteger(r.step) && Object.values(r).every((v) => typeof v === "number"));
}

function isReport(x: unknown): x is ReportInput {
  const r = x as ReportInput;
  return typeof r === "object" && r !== null && Array.isArray(r.rows) && r.rows.every((row) => typeof row === "object" && row !== null && "prediction" in row && "target" in row);
}

function isDiffPair(x: unknown): x is { expected: unknown; actual: unknown } {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "expected" in x && "actual" in x && Object.keys(x).length <= 3;
}

/** `options.view`: build that view from `x`, or say what it needs. */
async function forcedBundle(x: unknown, view: NonNullable<ShowOptions["view"]>, options: ShowOptions): Promise<MimeBundle> {
  const need = (what: string): never => {
    throw new DisplayError("show", `view "${view}" needs ${what}`);
  };
  switch (view) {
    case "annotations":
      if (isSample(x)) return options.prediction !== undefined ? predictionBundle(x, options.prediction, options) : sampleBundle(x, options);
      if (options.image !== undefined && isDetectionsInput(x)) return annotationsBundle(options.image, { prediction: x }, options);
      return need("a sample { image, prefix, suffix } or detections with { image } in the options");
    case "jsonDiff":
      if (typeof x === "object" && x !== null && !Array.isArray(x) && "expected" in x && "actual" in x) return jsonDiffBundle(diffJson(x.expected, x.actual, options.title));
      if (Array.isArray(x) && x.every(isDiffPair)) return jsonDiffBundle(diffJsonMany(x, options.title));
      return need("{ expected, actual } or an array of them");
    case "report":
      if (isReport(x)) return reportBundle(await buildReport(x, options));
      return need("{ rows: [{ prefix, target, prediction, scores }], aggregates }");
    case "dataset":
      if (Array.isArray(x) && x.every(isSample)) return datasetBundle(await buildDatasetSummary(x, options));
      if (isDataset(x)) return datasetFromLike(x, options);
      return need("an array of samples or { length, get(i) }");
    case "training":
      if (x instanceof TrainingProgress) return trainingBundle(x.payload());
      if (isLogHistory(x)) return historyBundle(x, options);
      return need("a TrainingProgress or an array of log records { step, loss, … }");
  }
  throw new DisplayError("options.view", `unknown view ${JSON.stringify(view)}; use one of annotations, jsonDiff, report, dataset, training`);
}

function historyBundle(x: LogEvent[], options: ShowOptions): MimeBundle {
  const t = new TrainingProgress({ title: options.title });
  for (const r of x) t.onLog(r);
  t.onTrainEnd({});
  return trainingBundle(t.payload());
}

async function datasetFromLike(x: DatasetLike, options: ShowOptions): Promise<MimeBundle> {
  const n = Math.min(x.length, options.maxItems ?? 24);
  const samples = await Promise.all(Array.from({ length: n }, (_, i) => x.get(i)));
  const description = options.description ?? (typeof x.describe === "function" ? await x.describe() : undefined);
  return datasetBundle(await buildDatasetSummary(samples, { ...options, description, maxItems: n }));
}

/** Builds the bundle `show` would display, without sending it (for tests and custom frontends). */
export async function toBundle(x: unknown, options: ShowOptions = {}): Promise<MimeBundle> {
  if (isBundle(x)) return x;
  if (options.view !== undefined) return forcedBundle(x, options.view, options);
  if (isPayload(x)) return payloadBundle(x); // a built payload names its view
  if (x instanceof TrainingProgress) return trainingBundle(x.payload());
  if (isSample(x)) return options.prediction !== undefined ? predictionBundle(x, options.prediction, options) : sampleBundle(x, options);
  if (typeof x === "object" && x !== null && !Array.isArray(x)) {
    const o = x as Record<string, unknown>;
    if (isImageInput(o.image) && (o.prediction !== undefined || o.truth !== undefined) && [o.prediction, o.truth].every((d) => d === undefined || isDetectionsInput(d))) {
      return annotationsBundle(o.image, { prediction: o.prediction as DetectionsInput | undefined, truth: o.truth as DetectionsInput | undefined }, options);
    }
  }
  if (isDetectionsInput(x) && !isLogHistory(x)) {
    if (options.image === undefined) throw new DisplayError("show", "detections need the image they belong to: show(detections, { image })");
    return annotationsBundle(options.image, { prediction: x }, options);
  }
  if (isDiffPair(x)) return jsonDiffBundle(diffJson(x.expected, x.actual, options.title));
  if (Array.isArray(x) && x.length > 0 && x.every(isDiffPair)) return jsonDiffBundle(diffJsonMany(x, options.title));
  if (isReport(x)) return reportBundle(await buildReport(x, options));
  if (isLogHistory(x)) return historyBundle(x, options);
  if (Array.isArray(x) && x.length > 0 && x.every(isSample)) return datasetBundle(await buildDatasetSummary(x, { ...options, classes: options.classes, colors: options.colors }));
  if (isDataset(x)) return datasetFromLike(x, options);
  return { data: { "text/plain": typeof x === "string" ? x : inspect(x, { depth: 4, colors: false }) }, metadata: {} };
}

/**
 * The positional forms of `show`, as the `x` + options they stand for:
 * - `show(sample, predictionText, options?)`  = `show(sample, { ...options, prediction: predictionText })`
 * - `show(image, detections, options?)`       = `show(detections, { ...options, image: image })`
 * - `show(x, options?)`                       as is
 * A string second argument beside anything but a sample, or detections beside anything but an image, is an error
 * that names the form to use (a silent fallback would show the wrong thing).
 */
export function showArguments(x: unknown, second?: ShowOptions | string | DetectionsInput, third?: ShowOptions): [unknown, ShowOptions] {
  if (second === undefined || second === null) return [x, third ?? {}];
  if (typeof second === "string") {
    if (!isSample(x)) throw new DisplayError("show", "show(x, text): a prediction text goes beside a sample { image, prefix, suffix }; for other values pass options: show(x, { … })");
    return [x, { ...(third ?? {}), prediction: second }];
  }
  if (isDetectionsInput(second)) {
    if (!isImageInput(x)) throw new DisplayError("show", "show(x, detections): detections go beside the image they belong to (a path, encoded bytes or { data, width, height, channels })");
    return [second, { ...(third ?? {}), image: x }];
  }
  if (third !== undefined) throw new DisplayError("show", "show(x, options, more): a third argument follows a prediction text or detections only");
  return [x, second];
}

/**
 * Displays `x` as one output (see the table above). Resolves when the output has been sent.
 *
 * In tslab, prefer the positional forms to object shorthands that name an earlier cell's variables:
 * `show(sample, prediction)`, `show(image, detections)`. A shorthand such as `show({ image, prediction })` whose
 * names come from a previous cell throws `ReferenceError` in tslab, and the kernel then skips the queued cells
 * silently (kernel/README.md, "tslab pitfalls"); write `{ image: image }` when an object is needed.
 */
export async function show(x: unknown, options?: ShowOptions): Promise<void>;
export async function show(sample: SampleInput, prediction: string, options?: ShowOptions): Promise<void>;
export async function show(image: ImageInput, detections: DetectionsInput, options?: ShowOptions): Promise<void>;
export async function show(x: unknown, second?: ShowOptions | string | DetectionsInput, third?: ShowOptions): Promise<void> {
  const [value, options] = showArguments(x, second, third);
  sendBundle(await toBundle(value, options));
}
