/**
 * `maxNewTokens` from the data, not a guess: the longest tokenized training suffix plus its `<eos>`, with 5 %
 * headroom for answers slightly longer than any seen in training. (With a 256k vocabulary the tutorial's fixed 256
 * cuts some manifests; with a character-level vocabulary it cuts most.)
 *
 *     maxNewTokensFor(processor.tokenizer, trainSuffixes); // e.g. 212
 */
export interface SuffixTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

export interface SuffixLengths {
  max: number;
  mean: number;
  maxNewTokens: number;
}

export function suffixLengths(tokenizer: SuffixTokenizer, suffixes: readonly string[]): SuffixLengths {
  if (suffixes.length === 0) throw new RangeError("maxNewTokensFor: no suffixes (is the train split empty?)");
  const lengths = suffixes.map((s) => tokenizer.encode(s, { addSpecialTokens: false }).length + 1); // + <eos>
  const max = Math.max(...lengths);
  return { max, mean: lengths.reduce((a, b) => a + b, 0) / lengths.length, maxNewTokens: max + Math.ceil(0.05 * max) };
}

export function maxNewTokensFor(tokenizer: SuffixTokenizer, suffixes: readonly string[]): number {
  return suffixLengths(tokenizer, suffixes).maxNewTokens;
}
