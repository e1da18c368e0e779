/**
 * `describe()` for datasets: counts, prefix/suffix length histograms (characters, or tokens when a tokenizer-like
 * `{ encode(text) }` is given), image size statistics from the headers read at load time. Pure data in, pure data
 * out; `formatDescription` renders it as text for the CLI and logs.
 *
 * @example
 * const d = describeEntries(entries, { tokenizer }); // tokenizer optional
 * console.log(formatDescription(d));
 */

/** Anything with `encode(text)` returning the token ids (the project's tokenizer fits). */
export interface LengthEncoder {
  encode(text: string): ArrayLike<number>;
}

/** Min/max/mean/median/p95 and an equal-width histogram of a list of numbers. */
export interface NumberStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
  /** `edges.length === counts.length + 1`; bin i covers [edges[i], edges[i+1]) (the last bin is closed). */
  histogram: { edges: number[]; counts: number[] };
}

export interface DatasetDescription {
  /** Examples kept after validation. */
  examples: number;
  /** Non-blank lines read, and how many were skipped. */
  lines: number;
  skipped: number;
  uniqueImages: number;
  uniquePrefixes: number;
  /** "characters" (Unicode code points) or "tokens". */
  lengthUnit: "characters" | "tokens";
  prefixLength: NumberStats;
  suffixLength: NumberStats;
  imageWidth: NumberStats;
  imageHeight: NumberStats;
  /** Image format → count (from the file headers: jpeg, png, webp, …). */
  formats: Record<string, number>;
}

/** What describe needs per example. */
export interface DescribableEntry {
  image: string;
  prefix: string;
  suffix: string;
  width: number;
  height: number;
  format: string;
}

/** Statistics of `values` with `bins` equal-width histogram bins (integer-aligned when all values are integers). */
export function numberStats(values: readonly number[], bins = 10): NumberStats {
  if (values.length === 0) return { count: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0, histogram: { edges: [], counts: [] } };
  const sorted = [...values].sort((a, b) => a - b);
  const min = sorted[0];
  const max = sorted[sorted.length - 1];
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]; // nearest rank
  const n = max === min ? 1 : bins;
  let width = (max - min) / n || 1;
  if (sorted.every(Number.isInteger)) width = Math.max(1, Math.ceil((max - min + 1) / n));
  const edges = Array.from({ length: n + 1 }, (_, i) => min + i * width);
  const counts = new Array<number>(n).fill(0);
  for (const v of sorted) counts[Math.min(n - 1, Math.floor((v - min) / width))]++;
  return { count: values.length, min, max, mean: values.reduce((a, b) => a + b, 0) / values.length, p50: q(0.5), p95: q(0.95), histogram: { edges, counts } };
}

/** Describes validated entries; `lines` defaults to the number of entries. */
export function describeEntries(entries: readonly DescribableEntry[], options: { tokenizer?: LengthEncoder; lines?: number } = {}): DatasetDescription {
  const tok = options.tokenizer;
  if (tok !== undefined && typeof tok.encode !== "function") throw new TypeError("describe: tokenizer must have encode(text) returning token ids");
  const len = tok ? (s: string) => tok.encode(s).length : (s: string) => [...s].length;
  const formats: Record<string, number> = {};
  for (const e of entries) formats[e.format] = (formats[e.format] ?? 0) + 1;
  const lines = options.lines ?? entries.length;
  return {
    examples: entries.length,
    lines,
    skipped: lines - entries.length,
    uniqueImages: new Set(entries.map((e) => e.image)).size,
    uniquePrefixes: new Set(entries.map((e) => e.prefix)).size,
    lengthUnit: tok ? "tokens" : "characters",
    prefixLength: numberStats(entries.map((e) => len(e.prefix))),
    suffixLength: numberStats(entries.map((e) => len(e.suffix))),
    imageWidth: numberStats(entries.map((e) => e.width)),
    imageHeight: numberStats(entries.map((e) => e.height)),
    formats,
  };
}

function statLine(name: string, s: NumberStats, unit: string): string {
  if (s.count === 0) return `${name}: none`;
  const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  const hist = s.histogram.counts.map((c, i) => `[${f(s.histogram.edges[i])}, ${f(s.histogram.edges[i + 1])}): ${c}`).join("  ");
  return `${name} (${unit}): min ${f(s.min)}, p50 ${f(s.p50)}, mean ${f(s.mean)}, p95 ${f(s.p95)}, max ${f(s.max)}\n    ${hist}`;
}

/** Multi-line text for a description (what `paligemma-ts data describe` prints). */
export function formatDescription(d: DatasetDescription, title = "dataset"): string {
  return [
    `${title}: ${d.examples} examples (${d.lines} lines, ${d.skipped} skipped), ${d.uniqueImages} images, ${d.uniquePrefixes} distinct prefixes`,
    `  ${statLine("prefix length", d.prefixLength, d.lengthUnit)}`,
    `  ${statLine("suffix length", d.suffixLength, d.lengthUnit)}`,
    `  ${statLine("image width", d.imageWidth, "px")}`,
    `  ${statLine("image height", d.imageHeight, "px")}`,
    `  formats: ${Object.entries(d.formats).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}`,
  ].join("\n");
}
