/**
 * A scripted `CachedDecoder` for generation tests without a model: the next-token logits are a pure function of
 * the tokens so far (`next(tokens) → number[V]`), so greedy/beam behaviour under processors and stopping criteria
 * can be derived by hand.
 */
import { tf } from "../../src/tf.js";
import type { CachedDecoder } from "../../src/generate/generate.js";
import type { LayerKV } from "../../src/model/gemma2.js";

export function scriptedDecoder(vocabSize: number, eos: number, next: (tokens: number[]) => number[]): CachedDecoder {
  // the "cache" is the token history per row, kept on the host; a dummy tensor stands in for k/v so beam reorders work
  let rows: number[][] = [];
  const logits = (batch: number[][]) => tf.tensor2d(batch.map((t) => next(t)), [batch.length, vocabSize], "float32");
  return {
    config: { eosTokenId: eos, textConfig: { vocabSize } },
    prefill(_pixels: tf.Tensor | null, promptIds: Int32Array) {
      rows = [Array.from(promptIds)];
      const k = tf.keep(tf.tensor2d([[0]], [1, 1])); // row index 0, gathered by beam search like a real cache
      const v = tf.keep(tf.tensor2d([[0]], [1, 1]));
      return { logits: logits(rows), cache: [{ k, v } as unknown as LayerKV] };
    },
    decodeStep(tokens: Int32Array, _index: number, cache: (LayerKV | null)[]) {
      const kv = cache[0] as unknown as { k: tf.Tensor; v: tf.Tensor };
      const origin = Array.from(kv.k.dataSync()).map((x) => rows[x] ?? rows[0]);
      rows = origin.map((r, i) => [...r, tokens[i]]);
      // after the step, row i's history is rows[i]: reset the index tensor to 0..R-1
      const idx = tf.keep(tf.tensor2d(rows.map((_, i) => [i]), [rows.length, 1]));
      kv.k.dispose();
      kv.k = idx;
      return logits(rows);
    },
  };
}
