/**
 * Evaluation reports → the report view: aggregates, then per-sample rows worst first (by `sortKey`, lowest first
 * unless `higherIsWorse`), each with a thumbnail and, when it can be built, a detail view (box overlay for
 * detection text, JSON diff for JSON). Only the worst `maxRows` rows are kept so the notebook stays small.
 *
 * @example
 * const p = await buildReport({ rows: [{ image: "a.jpg", prefix: "detect cat", target, prediction, scores: { iou: 0.2 } }] });
 * p.rows[0].detail?.mime; // MIME.annotations
 */
import { MIME, type ReportPayload, type ReportRow } from "./protocol.js";
import { buildAnnotations } from "./annotations.js";
import { diffJson } from "./jsondiff.js";
import { loadPreview, type ImageInput } from "./image.js";
import { detectionsFromText, suffixKind } from "./sample.js";
import { DisplayError, describeValue } from "./errors.js";

export interface ReportRowInput {
  /** Position in the dataset; default the row's position in `rows`. */
  index?: number;
  image?: ImageInput;
  prefix: string;
  target: string;
  prediction: string;
  scores?: Record<string, number>;
}

/** An aggregate as `evaluateModel` reports it (src/generate/evaluate.ts `EvaluationReport.aggregates`). */
export interface AggregateLike {
  value: number;
  higherIsBetter?: boolean;
  details?: Record<string, unknown>;
}

/** Rows + aggregates: a hand-built `{ rows, aggregates: { f1: 0.5 } }` or `evaluateModel`'s report as is. */
export interface ReportInput {
  rows: readonly (Omit<ReportRowInput, "image"> & { image?: ImageInput })[];
  aggregates?: Record<string, number | AggregateLike>;
  /** `evaluateModel`'s ranking metric (the default sort key). */
  sortedBy?: string | null;
  title?: string;
}

/**
 * Aggregates → numbers: a plain number as is; `{ value, details }` → `value` under its name and every numeric
 * detail as `name.detail` (e.g. `map.precision50`), so every value of an `evaluateModel` report is shown.
 */
export function flattenAggregates(aggregates: ReportInput["aggregates"] = {}): { values: Record<string, number>; higherIsBetter: Record<string, boolean> } {
  const values: Record<string, number> = {};
  const higherIsBetter: Record<string, boolean> = {};
  for (const [k, a] of Object.entries(aggregates)) {
    if (typeof a === "number") values[k] = a;
    else if (typeof a === "object" && a !== null && typeof a.value === "number") {
      values[k] = a.value;
      if (typeof a.higherIsBetter === "boolean") higherIsBetter[k] = a.higherIsBetter;
      for (const [d, v] of Object.entries(a.details ?? {})) if (typeof v === "number") values[`${k}.${d}`] = v;
    } else throw new DisplayError(`report.aggregates.${k}`, `expected a number or { value: number, details? }; got ${describeValue(a)}`);
  }
  return { values, higherIsBetter };
}

/** `evaluateModel` writes `<N bytes>` for in-memory images: nothing to show. */
function usableImage(image: ImageInput | undefined): ImageInput | undefined {
  return typeof image === "string" && /^<\d+ bytes>$/.test(image) ? undefined : image;
}

export interface ReportOptions {
  /** Title (when the report has none of its own). */
  title?: string;
  /** Score to sort by; default the first score of the first row. */
  sortKey?: string;
  /** The sort key is an error (lower is better): sort descending. Default false. */
  higherIsWorse?: boolean;
  /** Rows kept (the worst). Default 50. */
  maxRows?: number;
  /** Thumbnail size in px. Default 96. */
  thumbnailSize?: number;
  /** Detail image size in px. Default 384. */
  detailSize?: number;
  /** Class names for detection rows (fixed ids and colours). */
  classes?: readonly string[];
}

async function detailFor(r: Omit<ReportRowInput, "image"> & { image?: ImageInput }, o: ReportOptions): Promise<ReportRow["detail"]> {
  const kind = suffixKind(r.target);
  if (kind === "json") return { mime: MIME.jsonDiff, payload: diffJson(r.target, r.prediction) };
  if (kind === "detection" && r.image !== undefined) {
    const [truth, prediction] = await Promise.all([detectionsFromText(r.target, r.image, o.classes), detectionsFromText(r.prediction, r.image, o.classes)]);
    const { payload } = await buildAnnotations(r.image, { truth, prediction }, { maxSize: o.detailSize ?? 384, classes: o.classes, caption: r.prefix });
    return { mime: MIME.annotations, payload };
  }
  return undefined;
}

/** Report rows + aggregates → `ReportPayload` (worst rows first). */
export async function buildReport(input: ReportInput, options: ReportOptions = {}): Promise<ReportPayload> {
  if (typeof input !== "object" || input === null || !Array.isArray(input.rows)) throw new DisplayError("report", `expected { rows: [...], aggregates? }; got ${describeValue(input)}`);
  input.rows.forEach((r, i) => {
    for (const f of ["prefix", "target", "prediction"] as const) if (typeof r[f] !== "string") throw new DisplayError(`report.rows[${i}].${f}`, `expected a string; got ${describeValue(r[f])}`);
  });
  const { values: aggregates, higherIsBetter } = flattenAggregates(input.aggregates);
  const sortKey = options.sortKey ?? input.sortedBy ?? Object.keys(input.rows[0]?.scores ?? {})[0] ?? null;
  const sign = options.higherIsWorse ? -1 : 1;
  const score = (r: ReportInput["rows"][number]) => {
    const v = sortKey === null ? undefined : r.scores?.[sortKey];
    return typeof v === "number" && !Number.isNaN(v) ? sign * v : -Infinity; // rows without the score first
  };
  const indexed = input.rows.map((r, i) => ({ r, index: r.index ?? i }));
  const sorted = sortKey === null ? indexed : [...indexed].sort((a, b) => score(a.r) - score(b.r) || a.index - b.index);
  const kept = sorted.slice(0, options.maxRows ?? 50);
  const rows = await Promise.all(
    kept.map(async ({ r, index }): Promise<ReportRow> => {
      const row: ReportRow = { index, prefix: r.prefix, target: r.target, prediction: r.prediction, scores: { ...(r.scores ?? {}) } };
      const image = usableImage(r.image);
      const withImage = { ...r, image };
      if (image !== undefined) {
        try {
          row.thumbnail = (await loadPreview(image, { maxSize: options.thumbnailSize ?? 96 })).ref;
        } catch {
          withImage.image = undefined; // an image path that is gone: the row without its picture, not no report
        }
      }
      const detail = await detailFor(withImage, options);
      if (detail) row.detail = detail;
      return row;
    }),
  );
  return { version: 1, view: "report", ...((input.title ?? options.title) !== undefined ? { title: input.title ?? options.title } : {}), aggregates, ...(Object.keys(higherIsBetter).length ? { higherIsBetter } : {}), sortKey, rows, omittedRows: input.rows.length - rows.length };
}
