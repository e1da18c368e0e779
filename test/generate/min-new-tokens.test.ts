/**
 * HF `min_new_tokens` (transformers 4.47 `MinNewTokensLengthLogitsProcessor`): `<eos>` scores −∞ while a row has
 * fewer than N generated tokens; greedy and beam search on a scripted decoder whose choices are derived by hand.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { generate } from "../../src/generate/generate.js";
import { minNewTokensProcessor } from "../../src/generate/min-new-tokens.js";
import { scriptedDecoder } from "./fake-decoder.js";
import { useBackend } from "../helpers/backends.js";

await useBackend("cpu");

describe("minNewTokensProcessor", () => {
  // rows of V = 3 (eos = 1); prompt length 2: a row of 3 tokens has 1 new token
  const table: [string, number, number[][], number[]][] = [
    ["0 new < 2: masked", 2, [[7, 7]], [0.5, -Infinity, 0.25]],
    ["1 new < 2: masked", 2, [[7, 7, 0]], [0.5, -Infinity, 0.25]],
    ["2 new = 2: eos allowed (HF: new_tokens_length < min_new_tokens)", 2, [[7, 7, 0, 2]], [0.5, -0.375, 0.25]],
    ["0 is a no-op", 0, [[7, 7]], [0.5, -0.375, 0.25]],
    ["per row: only the short row is masked", 1, [[7, 7], [7, 7, 2]], [0.5, -Infinity, 0.25, 0.5, -0.375, 0.25]],
  ];
  for (const [what, n, tokens, want] of table) {
    test(what, () => {
      const scores = Float32Array.from(tokens.flatMap(() => [0.5, -0.375, 0.25]));
      minNewTokensProcessor(n, 1)(tokens, scores, 3, 2);
      assert.deepEqual(Array.from(scores), want);
    });
  }
  test("bad arguments throw with the value", () => {
    for (const n of [-1, 1.5, NaN]) assert.throws(() => minNewTokensProcessor(n, 1), new RegExp(`got ${n}`));
    assert.throws(() => minNewTokensProcessor(2, -1), /eos must be a token id/);
  });
});

describe("generate({ minNewTokens })", () => {
  // V = 4, eos = 1. After the prompt the model prefers eos (2.0) over token 3 (1.0): it would stop at once.
  const model = scriptedDecoder(4, 1, () => [0, 2, 0, 1]);
  test("greedy: eos only after N new tokens", async () => {
    const inputIds = tf.tensor2d([[2]], [1, 1], "int32");
    assert.deepEqual((await generate(model, { inputIds }, { maxNewTokens: 5 })).sequences[0], [2, 1]);
    assert.deepEqual((await generate(model, { inputIds }, { maxNewTokens: 5, minNewTokens: 2 })).sequences[0], [2, 3, 3, 1]);
    inputIds.dispose();
  });
  test("beam search: an early-<eos> hypothesis cannot win", async () => {
    // "stop at once" has the best length-normalised score (log-softmax of eos −0.49, 1 token); with minNewTokens 3 every
    // hypothesis has ≥ 3 tokens before eos
    const inputIds = tf.tensor2d([[2]], [1, 1], "int32");
    const plain = await generate(model, { inputIds }, { maxNewTokens: 6, numBeams: 2 });
    assert.deepEqual(plain.sequences[0], [2]);
    const floor = await generate(model, { inputIds }, { maxNewTokens: 6, numBeams: 2, minNewTokens: 3 });
    assert.deepEqual(floor.sequences[0], [2, 3, 3, 3]);
    inputIds.dispose();
  });
});
