/**
 * LoRA's inverted dropout (src/lora/dropout.ts): values 0 or x/(1 − p), the drop fraction near p, the same mask
 * from the same seed and other masks from other seeds, the gradient dy·m, rate 0 an identity, bad rates refused.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { dropoutMask, loraDropout } from "../../src/lora/dropout.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

for (const backend of await presentBackends()) describe(`loraDropout on ${backend}`, () => {
  before(async () => useBackend(backend));

  test("each value is dropped (0) or scaled by 1/(1 − p); the dropped fraction is near p", () => {
    for (const p of [0.05, 0.1, 0.5]) {
      const m = dropoutMask([321, 77], p, 12345).dataSync();
      const keep = Math.fround(1 / Math.fround(1 - p));
      let dropped = 0;
      for (const v of m) {
        assert.ok(v === 0 || v === keep, `mask value ${v} is neither 0 nor ${keep}`);
        if (v === 0) dropped++;
      }
      const frac = dropped / m.length;
      const sd = Math.sqrt((p * (1 - p)) / m.length);
      assert.ok(Math.abs(frac - p) < 5 * sd, `p ${p}: dropped ${frac}`);
    }
  });

  test("same seed, same mask; another seed (or a neighbouring one), another mask", () => {
    const x = tf.randomNormal([64, 33], 0, 1, "float32", 1);
    const a = loraDropout(x, 0.3, 7);
    const b = loraDropout(x, 0.3, 7);
    const c = loraDropout(x, 0.3, 8);
    assert.deepEqual(a.dataSync(), b.dataSync());
    const [av, cv] = [a.dataSync(), c.dataSync()];
    let differ = 0;
    for (let i = 0; i < av.length; i++) if (av[i] !== cv[i]) differ++;
    assert.ok(differ > av.length * 0.2, `seeds 7 and 8 give masks differing in only ${differ} of ${av.length} places`);
    tf.dispose([x, a, b, c]);
  });

  test("the gradient is dy · m", () => {
    const x = tf.randomNormal([10, 9], 0, 1, "float32", 2);
    const dy = tf.randomNormal([10, 9], 0, 1, "float32", 3);
    const { grad } = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(loraDropout(t, 0.25, 99), dy)))(x);
    const m = dropoutMask([10, 9], 0.25, 99);
    const want = tf.mul(dy, m);
    assert.deepEqual(grad.dataSync(), want.dataSync());
    tf.dispose([x, dy, grad, m, want]);
  });

  test("rate 0 returns the input's values; rates outside [0, 1) are refused with the value", () => {
    const x = tf.tensor2d([[1, -2], [3, 4]]);
    const y = loraDropout(x, 0, 5);
    assert.deepEqual(y.dataSync(), x.dataSync());
    assert.throws(() => dropoutMask([2], 1, 0), /rate must be in \[0, 1\), got 1/);
    assert.throws(() => dropoutMask([2], -0.1, 0), /got -0.1/);
    tf.dispose([x, y]);
  });
});
