/**
 * MIME bundles: one display = one output whose `data` holds the vendor JSON payload and its static fallbacks.
 * The kernel sends these as they are (kernel/transport.ts); JupyterLab with the extension renders the vendor
 * type, everything else the richest fallback it knows.
 *
 * @example
 * const b = jsonDiffBundle(diffJson(target, prediction));
 * Object.keys(b.data); // [MIME.jsonDiff, "text/html", "text/plain"]
 */
import { MIME, type DatasetPayload, type JsonDiffPayload, type ReportPayload, type TrainingPayload } from "./protocol.js";
import { datasetHtml, datasetText, jsonDiffHtml, jsonDiffText, reportHtml, reportText, trainingHtml, trainingText } from "./views.js";

/** A Jupyter `display_data` content: MIME type → payload (JSON value or string; binary images base64). */
export interface MimeBundle {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

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

/** Serialised size of a bundle in bytes (what the notebook file grows by). */
export function bundleBytes(b: MimeBundle): number {
  return Buffer.byteLength(JSON.stringify(b.data));
}
