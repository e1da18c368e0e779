/**
 * Shared pieces of the synthetic data generators: per-item seeds (so items can be rendered in any order, in
 * parallel, and still come out identical), a bounded-concurrency map, SVG text escaping, split counts.
 *
 * @example
 * const rng = new Random(itemSeed(seed, "train", 3, 0)); // the same numbers for (seed, split, index, variant)
 */
import { Random } from "../random.js";

export { Random };

/** A 32-bit seed for one item, mixed from the run seed and the item's coordinates (FNV-1a over the text). */
export function itemSeed(seed: number, ...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of [seed, ...parts].join("/")) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Escapes text for an SVG text node / attribute. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** Examples per split. */
export interface SplitCounts {
  train: number;
  valid: number;
  test: number;
}

/** Checks a generator's seed and split counts; throws RangeError naming the option. */
export function checkSynthOptions(seed: number, counts: SplitCounts): void {
  if (!Number.isInteger(seed)) throw new RangeError(`seed: expected an integer; got ${seed}`);
  for (const [k, v] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < 0 || v > 100000) throw new RangeError(`${k}: expected a count in 0..100000; got ${v}`);
  }
}

/** A hex colour from HSL (h in degrees, s and l in 0..1). */
export function hsl(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(255 * c).toString(16).padStart(2, "0");
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}
