/**
 * matMulTFrozen (the tied LM head when the embedding is frozen): same value and same gradient for `a` as matMulT,
 * but bᵀ does not outlive the forward and no gradient is computed for b; tensor counts flat. On every backend here.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { matMulT, matMulTFrozen } from "../../src/ops/matmul.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

const maxAbs = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]!);

describe("matMulTFrozen", async () => {
  for (const backend of await presentBackends()) {
    test(`${backend}: value and dA equal matMulT's; bᵀ does not outlive the forward`, async () => {
      await useBackend(backend);
      const a = tf.randomNormal([5, 7], 0, 1, "float32", 1); // [N,K]
      const b = tf.randomNormal([11, 7], 0, 1, "float32", 2); // [V,K], odd sizes
      const w = tf.randomNormal([5, 11], 0, 1, "float32", 3); // weights for a scalar loss
      const before = tf.memory().numTensors;
      const ref = tf.valueAndGrad((x: tf.Tensor) => tf.sum(tf.mul(matMulT(x, b), w)))(a);
      const got = tf.valueAndGrad((x: tf.Tensor) => tf.sum(tf.mul(matMulTFrozen(x, b), w)))(a);
      assert.ok(maxAbs(got.value, ref.value) <= 1e-5, `value differs by ${maxAbs(got.value, ref.value)}`);
      assert.ok(maxAbs(got.grad, ref.grad) <= 1e-5, `dA differs by ${maxAbs(got.grad, ref.grad)}`);
      tf.dispose([ref.value, ref.grad, got.value, got.grad]);
      assert.equal(tf.memory().numTensors, before);

      // while a tape records (as computeLoss runs in training), the forward leaves only its output behind until the
      // backward pass: matMulT leaves bᵀ too (and keeps it for its gradient)
      const kept = (f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => {
        let n = 0;
        const g = tf.grad((x: tf.Tensor) => {
          const start = tf.memory().numTensors;
          const y = f(x, b);
          n = tf.memory().numTensors - start;
          return tf.sum(tf.mul(y, w));
        })(a);
        g.dispose();
        return n;
      };
      assert.equal(kept(matMulTFrozen), 1);
      // matMulT keeps b's data for b's gradient: bᵀ with explicit transposes, else the tape's saved copy of b
      assert.ok(kept(matMulT) >= 2);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([a, b, w]);
    });
  }

  test("shapes that do not chain name both", () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([4, 5]);
    assert.throws(() => matMulTFrozen(a, b), /matMulTFrozen: shapes \[2,3\] and \[4,5\] do not chain/);
    tf.dispose([a, b]);
  });
});
