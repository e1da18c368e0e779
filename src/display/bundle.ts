/**
 * MIME bundles: one display = one output whose `data` holds the vendor JSON payload and its static fallbacks.
 * The kernel sends these as they are (kernel/transport.ts); JupyterLab with the extension renders the vendor
 * type, everything else the richest fallback it knows.
 *
 * @example
 * const b = jsonDiffBundle(diffJson(target, prediction));
 * Object.keys(b.data); // [MIME.jsonDiff, "text/html", "text/plain"]
 */
import { MIME, type MimeBundle, type AnyPayload, type DatasetPayload, type JsonDiffPayload, type ProgressPayload, type ReportPayload, type TrainingPayload, type ViewName } from "./protocol.js";
import { datasetHtml, datasetText, jsonDiffHtml, jsonDiffText, progressHtml, progressPlainText, reportHtml, reportText, trainingHtml, trainingText } from "./views.js";
import { annotationsText } from "./annotations.js";
import { DisplayError } from "./errors.js";

export type { MimeBundle };


export function jsonDiffBundle(p: JsonDiffPayload): MimeBundle {
  return { data: { [MIME.jsonDiff]: p, "text/html": jsonDiffHtml(p), "text/plain": jsonDiffText(p) }, metadata: {} };
}

export function trainingBundle(p: TrainingPayload): MimeBundle {
  return { data: { [MIME.training]: p, "text/html": trainingHtml(p), "text/plain": trainingText(p) }, metadata: {} };
}

export function reportBundle(p: ReportPayload): MimeBundle {
  return { data: { [MIME.report]: p, "text/html": reportHtml(p), "text/plain": reportText(p) }, metadata: {} };
}

export function datasetBundle(p: DatasetPayload): MimeBundle {
  return { data: { [MIME.dataset]: p, "text/html": datasetHtml(p), "text/plain": datasetText(p) }, metadata: {} };
}

export function progressBundle(p: ProgressPayload): MimeBundle {
  return { data: { [MIME.progress]: p, "text/html": progressHtml(p), "text/plain": progressPlainText(p) }, metadata: {} };
}

/** Is `x` a payload built by this module (`version: 1` and a known `view` tag)? */
export function isPayload(x: unknown): x is AnyPayload {
  const p = x as AnyPayload;
  return typeof p === "object" && p !== null && p.version === 1 && typeof p.view === "string" && Object.prototype.hasOwnProperty.call(MIME, p.view);
}

/**
 * A payload → its bundle, by the payload's own `view` tag (never by guessing from its keys). An annotations
 * payload alone has no pixels for the PNG fallback: vendor JSON and text (build it with `annotationsBundle` for
 * the PNG).
 */
export function payloadBundle(p: AnyPayload): MimeBundle {
  const view: ViewName = p.view;
  switch (p.view) {
    case "annotations":
      return { data: { [MIME.annotations]: p, "text/plain": annotationsText(p) }, metadata: {} };
    case "jsonDiff":
      return jsonDiffBundle(p);
    case "training":
      return trainingBundle(p);
    case "report":
      return reportBundle(p);
    case "dataset":
      return datasetBundle(p);
    case "progress":
      return progressBundle(p);
  }
  throw new DisplayError("payload.view", `unknown view ${JSON.stringify(view)}; expected one of ${Object.keys(MIME).join(", ")}`);
}

/** Serialised size of a bundle in bytes (what the notebook file grows by). */
export function bundleBytes(b: MimeBundle): number {
  return Buffer.byteLength(JSON.stringify(b.data));
}
