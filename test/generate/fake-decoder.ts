/**
 * A scripted `CachedDecoder` for generation tests without a model: the next-token logits are a pure function of
 * the tokens so far (`next(tokens) → number[V]`), so greedy/beam behaviour under processors and stopping criteria
 * can be derived by hand.
 */
import { tf } from "../../src/tf.js";
import type { CachedDecoder } from "../../src/generate/generate.js";
import { KVCache } from "../../src/model/kvcache.js";

/** A cache whose only content is each row's token history on the host: beam reorders permute it like real keys. */
class HistoryCache extends KVCache {
  constructor(public rows: number[][]) {
    super(0);
  }
  override reorder(beamIdx: Int32Array): void {
    this.rows = Array.from(beamIdx, (r) => this.rows[r]!);
    super.reorder(beamIdx);
  }
}

export function scriptedDecoder(vocabSize: number, eos: number, next: (tokens: number[]) => number[]): CachedDecoder {
  const logits = (batch: number[][]) => tf.tensor2d(batch.map((t) => next(t)), [batch.length, vocabSize], "float32");
  return {
    config: { eosTokenId: eos, textConfig: { vocabSize } },
    prefill(_pixels: tf.Tensor | null, promptIds: Int32Array) {
      const cache = new HistoryCache([Array.from(promptIds)]);
      return { logits: logits(cache.rows), cache };
    },
    decodeStep(tokens: Int32Array, _index: number, cache: KVCache) {
      const h = cache as HistoryCache;
      h.rows = h.rows.map((r, i) => [...r, tokens[i]!]);
      return logits(h.rows);
    },
  };
}
