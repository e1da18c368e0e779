/**
 * Hooks into decoding, in the shape of HF's `LogitsProcessor` and `StoppingCriteria`:
 *   - a logits processor rewrites one step's scores in place (greedy: raw logits; beam search: log-probabilities
 *     before the beam scores are added, as HF does);
 *   - a stopping criterion ends a row after a token was appended (the token is kept, like eos).
 * Constrained decoding, repetition penalties and stop strings are built on these.
 */

/** scores: float32 rows R×V (row-major) for the R live rows/beams; tokens[r]: that row's ids so far (prompt + new). */
export type LogitsProcessor = (tokens: readonly (readonly number[])[], scores: Float32Array, vocabSize: number, promptLength: number) => void;

/** Return true to stop this row now. `tokens` includes the token just generated. */
export type StoppingCriterion = (tokens: readonly number[], promptLength: number) => boolean;

/** Apply processors in order. */
export function applyProcessors(
  processors: readonly LogitsProcessor[],
  tokens: readonly (readonly number[])[],
  scores: Float32Array,
  vocabSize: number,
  promptLength: number,
): void {
  for (const p of processors) p(tokens, scores, vocabSize, promptLength);
}

/** Index of the largest value in row r (ties: lowest index, like torch.argmax on CPU). */
export function argmaxRow(scores: Float32Array, r: number, V: number): number {
  let best = r * V;
  for (let i = r * V + 1; i < (r + 1) * V; i++) if (scores[i] > scores[best]) best = i;
  return best - r * V;
}
