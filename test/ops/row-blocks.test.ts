/**
 * The row-block split of tables bigger than the backend's largest tensor (ops/row-blocks.ts), exercised on the cpu
 * backend with a small forced limit (`setMaxTensorBytes`): gathers, tied-head products and their gradients equal
 * the unsplit ones, and the golden tiny PaliGemma 2 (vocab 300 × 32: 38,400 bytes) gives HF's logits, loss and
 * greedy tokens with its embedding in 5 blocks.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { initBackend } from "../../src/backend/select.js";
import { setMaxTensorBytes, tensorByteLimit } from "../../src/backend/traits.js";
import { gatherRows } from "../../src/ops/gather.js";
import { matMulT } from "../../src/ops/matmul.js";
import { fitsOneTensor, rowBlocks, rowsPerBlock } from "../../src/ops/row-blocks.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { Golden, TINY, maxAbsDiff } from "../helpers/golden.js";

/** Run `f` with the largest tensor forced to `bytes`, then back to the backend's own limit. */
function withLimit<T>(bytes: number, f: () => T): T {
  setMaxTensorBytes(bytes);
  try {
    return f();
  } finally {
    setMaxTensorBytes(null);
  }
}

describe("row blocks on cpu with a forced tensor limit", () => {
  before(async () => {
    await initBackend({ backend: "cpu", force: true });
  });

  test("the limit: forced, restored, and validated", () => {
    assert.equal(tensorByteLimit(), Infinity); // cpu: bounded by memory only
    withLimit(400, () => assert.equal(tensorByteLimit(), 400));
    assert.equal(tensorByteLimit(), Infinity);
    assert.throws(() => setMaxTensorBytes(2.5), /whole number of bytes/);
  });

  test("blocks cover the rows in order, each within the limit; a row over the limit is refused", () => {
    const table = tf.range(0, 7 * 5).reshape([7, 5]); // 7 rows × 20 bytes
    withLimit(3 * 20 + 8, () => {
      assert.equal(rowsPerBlock(table), 3);
      tf.tidy(() => {
        const blocks = rowBlocks(table);
        assert.deepEqual(blocks.map((b) => [b.start, b.block.shape[0]]), [[0, 3], [3, 3], [6, 1]]);
        assert.deepEqual(Array.from(tf.concat(blocks.map((b) => b.block), 0).dataSync()), Array.from(table.dataSync()));
      });
    });
    withLimit(16, () => assert.throws(() => rowBlocks(table), /one row of \[7,5\] \(20 bytes\) exceeds/));
    withLimit(1000, () => assert.equal(rowBlocks(table)[0]!.block, table)); // fits: the table itself
    table.dispose();
  });

  test("gatherRows over blocks: rows in the asked order (repeats, every block), gradient equal to tf.gather's", () => {
    const table = tf.variable(tf.randomNormal([11, 6], 0, 1, "float32", 3));
    const ids = Int32Array.of(10, 0, 4, 4, 7, 2, 10, 5);
    const dy = tf.randomNormal([ids.length, 6], 0, 1, "float32", 4);
    const lossOf = () => tf.sum(tf.mul(gatherRows(table, ids), dy)) as tf.Scalar;
    const whole = tf.variableGrads(lossOf, [table]);
    const before = tf.memory().numTensors;
    const split = withLimit(6 * 4 * 3, () => {
      assert.equal(fitsOneTensor(table), false);
      tf.tidy(() => assert.equal(maxAbsDiff(gatherRows(table, ids), tf.gather(table, tf.tensor1d(ids, "int32"))), 0));
      return tf.variableGrads(lossOf, [table]); // 4 blocks of ≤ 3 rows
    });
    assert.equal(maxAbsDiff(split.value, whole.value), 0);
    assert.ok(maxAbsDiff(split.grads[table.name]!, whole.grads[table.name]!) <= 1e-6);
    tf.dispose([split.value, ...Object.values(split.grads)]);
    assert.equal(tf.memory().numTensors, before, "the split leaves no tensors behind");
    tf.dispose([whole.value, ...Object.values(whole.grads), table, dy]);
  });

  test("matMulT over a blocked [V,D]: h·Eᵀ and both gradients equal the unsplit product", () => {
    const h = tf.variable(tf.randomNormal([5, 8], 0, 1, "float32", 5));
    const E = tf.variable(tf.randomNormal([13, 8], 0, 1, "float32", 6));
    const w = tf.randomNormal([5, 13], 0, 1, "float32", 7);
    const lossOf = () => tf.sum(tf.mul(matMulT(h, E), w)) as tf.Scalar;
    const whole = tf.variableGrads(lossOf, [h, E]);
    const split = withLimit(8 * 4 * 4, () => {
      tf.tidy(() => assert.ok(maxAbsDiff(matMulT(h, E), tf.matMul(h, E, false, true)) <= 1e-5));
      return tf.variableGrads(lossOf, [h, E]); // 4 blocks: 4+4+4+1 rows
    });
    assert.ok(Math.abs(split.value.dataSync()[0]! - whole.value.dataSync()[0]!) <= 1e-4);
    for (const v of [h, E]) assert.ok(maxAbsDiff(split.grads[v.name]!, whole.grads[v.name]!) <= 1e-5, v.name);
    tf.dispose([split.value, whole.value, ...Object.values(split.grads), ...Object.values(whole.grads), h, E, w]);
  });

  describe("the golden tiny PaliGemma 2 with its embedding in blocks", () => {
    let g: Golden;
    let model: PaliGemmaForConditionalGeneration;
    const limit = 8 * 32 * 4 * 8; // 64 rows of 32 floats: the 300-row embedding in 5 blocks

    before(async () => {
      g = await Golden.open();
      model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
      setMaxTensorBytes(limit);
    });
    after(async () => {
      setMaxTensorBytes(null);
      model.dispose();
      await g.close();
    });

    test("training forward: logits and loss equal HF's (same tolerances as model.golden)", async () => {
      const E = model.namedParameters().get("language_model.model.embed_tokens.weight")!;
      assert.equal(rowBlocks(E).length, 5);
      const [pixelValues, inputIds, attentionMask, tokenTypeIds, labels] = await Promise.all(
        ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"].map((k) => g.tensor(`inputs.${k}`)),
      );
      const out = model.forward({ pixelValues, inputIds, attentionMask, tokenTypeIds, labels });
      assert.ok(maxAbsDiff(out.logits, await g.tensor("train.logits")) <= 1e-4, "train.logits");
      const refLoss = (await g.array("train.loss"))[0]!;
      assert.ok(Math.abs(out.loss!.dataSync()[0]! - refLoss) / refLoss <= 1e-5);
      tf.dispose([pixelValues, inputIds, attentionMask, tokenTypeIds, labels, out.logits, out.loss!]);
    });

    test("greedy generation (the decode path without a whole Eᵀ) gives HF's tokens", async () => {
      const pixelValues = await g.tensor("inputs.pixel_values");
      const prompt = await g.tensor("gen.s0.prompt_ids");
      const px = tf.slice(pixelValues, [0, 0, 0, 0], [1, -1, -1, -1]);
      const greedy = await model.generate({ pixelValues: px, inputIds: prompt }, { maxNewTokens: 6 });
      assert.deepEqual(greedy.sequences[0], await g.array("gen.s0.greedy.sequences"));
      tf.dispose([pixelValues, prompt, px]);
    });
  });
});
