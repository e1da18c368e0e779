/**
 * Dataset samples and predictions → displays. A sample is `{ image, prefix, suffix }` (the PaliGemma JSONL
 * layout); its suffix is read as `<loc>` detections (boxes drawn on the image), else as JSON, else as text. A
 * prediction against its target becomes a box overlay (detection text) or a JSON diff (JSON text).
 *
 * @example
 * await sampleBundle({ image: "a.jpg", prefix: "detect cat", suffix: "<loc0100><loc0200><loc0500><loc0600> cat" });
 * await predictionBundle({ image: "a.jpg", prefix: "detect cat", suffix: truth }, generatedText);
 */
import { Detections } from "../codecs/detections.js";
import { parseLocText } from "../codecs/loc.js";
import { annotationsBundle, type AnnotateOptions } from "./annotations.js";
import { diffJson } from "./jsondiff.js";
import { jsonDiffBundle, type MimeBundle } from "./bundle.js";
import { imageSize, isImageInput, type ImageInput } from "./image.js";
import { DisplayError, describeValue } from "./errors.js";

/** What `show` takes as a sample: the JSONL fields (`image` a path, bytes or decoded pixels). */
export interface SampleInput {
  image: ImageInput;
  prefix: string;
  suffix: string;
}

export function isSample(x: unknown): x is SampleInput {
  const s = x as SampleInput;
  return typeof s === "object" && s !== null && isImageInput(s.image) && typeof s.prefix === "string" && typeof s.suffix === "string";
}

/** How a suffix reads: detection objects, JSON, or plain text. */
export type SuffixKind = "detection" | "json" | "text";

export function suffixKind(suffix: string): SuffixKind {
  if (parseLocText(suffix).length > 0) return "detection";
  const t = suffix.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      JSON.parse(t);
      return "json";
    } catch {
      return "text";
    }
  }
  return "text";
}

function checkSample(s: SampleInput, field: string): void {
  if (!isSample(s)) throw new DisplayError(field, `expected { image, prefix, suffix } with image a path, bytes or { data, width, height, channels }; got ${describeValue(s)}`);
}

/** Detections parsed from a suffix for an image (class ids by `classes` when given). */
export async function detectionsFromText(text: string, image: ImageInput, classes?: readonly string[]): Promise<Detections> {
  const { width, height } = await imageSize(image);
  return Detections.fromPaligemma(text, { imageWidth: width, imageHeight: height, classes });
}

function pretty(suffix: string): string {
  try {
    return JSON.stringify(JSON.parse(suffix), null, 2);
  } catch {
    return suffix;
  }
}

/** Detection text with one object per line (`<loc>` runs never broken across lines). */
export function objectsPerLine(text: string, indent = "  "): string {
  return text.split(/\s*;\s*(?=<loc\d{4}>)/).join(` ;\n${indent}`);
}

/**
 * A dataset sample: the image with its labelled boxes (detection suffixes) or alone (JSON and text suffixes: no
 * box layer at all), caption = prefix and suffix (JSON pretty-printed, detection objects one per line).
 */
export async function sampleBundle(sample: SampleInput, options: AnnotateOptions = {}): Promise<MimeBundle> {
  checkSample(sample, "sample");
  const kind = suffixKind(sample.suffix);
  const shown = kind === "json" ? pretty(sample.suffix) : kind === "detection" ? objectsPerLine(sample.suffix, "    ") : sample.suffix;
  const caption = options.caption ?? `${sample.prefix}\n→ ${shown}`;
  const layers = kind === "detection" ? { truth: await detectionsFromText(sample.suffix, sample.image, options.classes) } : {};
  return annotationsBundle(sample.image, layers, { ...options, caption });
}

/** A prediction against the sample's suffix: box overlay for detection text, JSON diff for JSON, else a text diff. */
export async function predictionBundle(sample: SampleInput, prediction: string, options: AnnotateOptions = {}): Promise<MimeBundle> {
  checkSample(sample, "sample");
  if (typeof prediction !== "string") throw new DisplayError("prediction", `expected the generated text; got ${describeValue(prediction)}`);
  const kind = suffixKind(sample.suffix);
  if (kind === "json") return jsonDiffBundle(diffJson(sample.suffix, prediction, options.title ?? sample.prefix));
  const [truth, pred] = await Promise.all([detectionsFromText(sample.suffix, sample.image, options.classes), detectionsFromText(prediction, sample.image, options.classes)]);
  const caption = options.caption ?? `${sample.prefix}\ntarget:     ${objectsPerLine(sample.suffix, "            ")}\nprediction: ${objectsPerLine(prediction, "            ")}`;
  return annotationsBundle(sample.image, { truth, prediction: pred }, { ...options, caption });
}
