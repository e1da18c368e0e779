/**
 * "Did you mean …?" for option objects: the nearest valid name to a mistyped one (Levenshtein distance), with
 * snake_case and case slips recognised first, so a Python user's `learning_rate` gets `learningRate`.
 *
 *     nearestName("learning_rate", ["learningRate", "seed"]);   // "learningRate"
 *     nearestName("warmupStep", ["warmupSteps", "seed"]);       // "warmupSteps"
 *
 * Imports only util/edit-distance.ts: io, lora and train messages all use it.
 */
import { editDistance } from "./edit-distance.js";

/** Edit distance between two names over UTF-16 code units (option names are ASCII); see util/edit-distance.ts. */
export function levenshtein(a: string, b: string): number {
  return editDistance(a, b);
}

/** `learning_rate` → `learningRate` (already-camel names pass through). */
export function snakeToCamel(name: string): string {
  return name.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Lower-case without separators: the spelling-insensitive key two names are compared by first. */
function fold(name: string): string {
  return name.replace(/[_\-\s]/g, "").toLowerCase();
}

/**
 * The valid name closest to `name`, or undefined when nothing is reasonably close (distance over a third of the
 * longer name). Exact matches after snake→camel conversion or case/underscore folding win outright.
 */
export function nearestName(name: string, valid: readonly string[]): string | undefined {
  const camel = snakeToCamel(name);
  if (valid.includes(camel)) return camel;
  const folded = fold(name);
  const sameFold = valid.find((v) => fold(v) === folded);
  if (sameFold) return sameFold;
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const d = levenshtein(folded, fold(v));
    if (d < bestD) (best = v), (bestD = d);
  }
  return best !== undefined && bestD <= Math.max(2, Math.ceil(Math.max(folded.length, fold(best).length) / 3)) ? best : undefined;
}

/** Up to `k` keys closest to `name` by edit distance, for "nearest: …" lists in error messages. */
export function nearNames(name: string, keys: readonly string[], k = 3): string[] {
  return keys.map((key) => ({ key, d: levenshtein(name, key) })).sort((x, y) => x.d - y.d).slice(0, k).map((x) => x.key);
}
