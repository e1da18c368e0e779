/**
 * A dataset at a glance: headline counts and statistics (from `describe()`), and a grid of thumbnails with their
 * labels (class names for detection suffixes, the start of the suffix otherwise), boxes drawn by the extension.
 *
 * @example
 * const p = await buildDatasetSummary(await Promise.all([0, 1, 2].map((i) => ds.get(i))), { description: ds.describe() });
 */
import type { ClassInfo, DatasetPayload, DatasetItem } from "./protocol.js";
import { loadPreview } from "./image.js";
import { toBoxes } from "./detections.js";
import { detectionsFromText, isSample, suffixKind, type SampleInput } from "./sample.js";
import { resolveColor, type ColorOption } from "./palette.js";
import { formatNumber } from "./html.js";
import { DisplayError, describeValue } from "./errors.js";

/** The subset of `DatasetDescription` (src/data/describe.ts) the summary shows. */
export interface DescriptionLike {
  examples?: number;
  lines?: number;
  skipped?: number;
  uniqueImages?: number;
  lengthUnit?: string;
  prefixLength?: StatsLike;
  suffixLength?: StatsLike;
  imageWidth?: StatsLike;
  imageHeight?: StatsLike;
  formats?: Record<string, number>;
}
interface StatsLike {
  min: number;
  max: number;
  mean: number;
  count: number;
}

export interface DatasetSummaryOptions {
  title?: string;
  description?: DescriptionLike;
  /** Thumbnails shown at most. Default 24. */
  maxItems?: number;
  /** Thumbnail size in px. Default 128. */
  thumbnailSize?: number;
  classes?: readonly string[];
  colors?: ColorOption;
}

const stats = (s: StatsLike, unit = "") => `min ${formatNumber(s.min)} · mean ${formatNumber(s.mean, 3)} · max ${formatNumber(s.max)}${unit}`;

/** Samples (+ optional description) → `DatasetPayload`. */
export async function buildDatasetSummary(samples: readonly SampleInput[], options: DatasetSummaryOptions = {}): Promise<DatasetPayload> {
  if (!Array.isArray(samples)) throw new DisplayError("samples", `expected an array of { image, prefix, suffix }; got ${describeValue(samples)}`);
  samples.forEach((s, i) => {
    if (!isSample(s)) throw new DisplayError(`samples[${i}]`, `expected { image, prefix, suffix }; got ${describeValue(s)}`);
  });
  const names = new Map<string, number>((options.classes ?? []).map((n, i) => [n, i]));
  const shown = samples.slice(0, options.maxItems ?? 24);
  const items = await Promise.all(
    shown.map(async (s): Promise<DatasetItem> => {
      const { ref } = await loadPreview(s.image, { maxSize: options.thumbnailSize ?? 128 });
      const item: DatasetItem = { thumbnail: ref, prefix: s.prefix, suffix: s.suffix, label: s.suffix.slice(0, 80) };
      if (suffixKind(s.suffix) === "detection") {
        const dets = await detectionsFromText(s.suffix, s.image);
        const boxes = toBoxes(dets, { width: ref.width, height: ref.height }, "suffix");
        for (const b of boxes) {
          if (!names.has(b.className)) names.set(b.className, names.size);
          b.classId = names.get(b.className)!;
        }
        item.boxes = boxes;
        item.label = [...new Set(boxes.map((b) => b.className))].join(", ") || "(no objects)";
      }
      return item;
    }),
  );
  const classes: ClassInfo[] = [...names.entries()].map(([name, id]) => ({ id, name, color: resolveColor(options.colors, id, name) }));
  const d = options.description ?? {};
  const counts: Record<string, number> = { examples: d.examples ?? samples.length };
  if (d.skipped !== undefined) counts.skipped = d.skipped;
  if (d.uniqueImages !== undefined) counts["unique images"] = d.uniqueImages;
  if (classes.length) counts["classes (shown)"] = classes.length;
  const st: Record<string, string> = {};
  const unit = d.lengthUnit ? ` ${d.lengthUnit}` : "";
  if (d.prefixLength?.count) st["prefix length"] = stats(d.prefixLength, unit);
  if (d.suffixLength?.count) st["suffix length"] = stats(d.suffixLength, unit);
  if (d.imageWidth?.count) st["image width"] = stats(d.imageWidth, " px");
  if (d.imageHeight?.count) st["image height"] = stats(d.imageHeight, " px");
  if (d.formats) st.formats = Object.entries(d.formats).map(([k, v]) => `${k} ${v}`).join(", ");
  return { version: 1, view: "dataset", ...(options.title !== undefined ? { title: options.title } : {}), counts, stats: st, classes, items };
}
