/**
 * Generation lengths from the data, not a guess:
 *   - `maxNewTokens`: the longest tokenized training suffix plus its `<eos>`, with 5 % headroom for answers slightly
 *     longer than any seen in training (with a 256k vocabulary the tutorial's fixed 256 cuts some manifests; with a
 *     character-level vocabulary it cuts most);
 *   - `minNewTokens` (HF `min_new_tokens`): 95 % of the shortest training suffix (without `<eos>`), so no answer
 *     ends far before the shortest one seen in training. Beam search ranks finished answers by mean log-probability;
 *     a model that cannot read the values yet is unsure of ~30 % of an answer's characters, and an answer that
 *     stops after a confident prefix then wins on a tiny P(<eos>): `{"route_id"` + `<eos>` at P 0.8 %, `…"sku":"`
 *     + `<eos>` at 2.3 % (measured on the main job with scripts/jobs/answer-tail, README). The 5 % margin leaves
 *     room for answers slightly shorter than any seen.
 *
 *     suffixLengths(processor.tokenizer, trainSuffixes); // e.g. { max: 129, min: 96, mean: 112.4, maxNewTokens: 136, minNewTokens: 90 }
 */
export interface SuffixTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

export interface SuffixLengths {
  /** Longest tokenized suffix, `<eos>` included. */
  max: number;
  /** Shortest tokenized suffix, `<eos>` included. */
  min: number;
  mean: number;
  maxNewTokens: number;
  minNewTokens: number;
}

export function suffixLengths(tokenizer: SuffixTokenizer, suffixes: readonly string[]): SuffixLengths {
  if (suffixes.length === 0) throw new RangeError("suffixLengths: no suffixes (is the train split empty?)");
  const lengths = suffixes.map((s) => tokenizer.encode(s, { addSpecialTokens: false }).length + 1); // + <eos>
  const max = Math.max(...lengths);
  const min = Math.min(...lengths);
  return {
    max, min, mean: lengths.reduce((a, b) => a + b, 0) / lengths.length,
    maxNewTokens: max + Math.ceil(0.05 * max),
    minNewTokens: Math.floor(0.95 * (min - 1)),
  };
}

export function maxNewTokensFor(tokenizer: SuffixTokenizer, suffixes: readonly string[]): number {
  return suffixLengths(tokenizer, suffixes).maxNewTokens;
}
