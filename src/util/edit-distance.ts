/**
 * Levenshtein distance between two sequences: insertions, deletions and substitutions each cost 1, elements are
 * compared with `===`, no transpositions (nltk `edit_distance` with its defaults). The unit is the caller's:
 *
 *     editDistance(Array.from(a), Array.from(b))   // Unicode code points (the metrics: eval/text.ts)
 *     editDistance(a, b)                           // UTF-16 code units (option names: util/suggest.ts)
 *     editDistance(predIds, refIds)                // tokens
 *
 * A leaf module (no imports).
 */
export function editDistance<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  let prev = new Uint32Array(b.length + 1).map((_, j) => j);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}
