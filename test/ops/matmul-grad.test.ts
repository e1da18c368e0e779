/**
 * Which products the backward pass of a linear layer runs (src/ops/matmul.ts, backend trait
 * `explicitTransposeMatMul`): with TF.js's own MatMul gradient (tensorflow) a frozen weight gets no gradient product
 * and no transpose is materialised; a trained weight adds exactly its own product. With explicit transposes
 * (wasm, cpu) the values are the same. Counted with tf.profile's kernel list.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { activeTraits } from "../../src/backend/traits.js";
import { Linear } from "../../src/model/linear.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

const maxAbs = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]!);

describe("linear backward products", async () => {
  for (const backend of await presentBackends()) {
    test(`${backend}: a frozen weight costs no gradient product where transposes are flags; values equal the closed form`, async () => {
      await useBackend(backend);
      const x = tf.variable(tf.randomNormal([7, 5], 0, 1, "float32", 1)); // [N, in], odd sizes
      const w = tf.variable(tf.randomNormal([5, 3], 0, 1, "float32", 2), false); // [in, out], frozen
      const dy = tf.randomNormal([7, 3], 0, 1, "float32", 3);
      const layer = new Linear(w);
      const loss = () => tf.sum(tf.mul(layer.forward(x), dy)) as tf.Scalar;
      const kernels = async (vars: tf.Variable[]) => {
        const info = await tf.profile(() => {
          const { value, grads } = tf.variableGrads(loss, vars);
          tf.dispose([value, ...Object.values(grads)]);
        });
        return info.kernels.map((k) => k.name);
      };
      const frozen = await kernels([x]);
      w.trainable = true;
      const trained = await kernels([x, w]);
      const count = (names: string[], k: string) => names.filter((n) => n === k).length;
      if (!activeTraits().explicitTransposeMatMul) {
        assert.equal(count(frozen, "BatchMatMul"), 2, `forward + dx only: ${frozen.join(",")}`);
        assert.equal(count(frozen, "Transpose"), 0);
        assert.equal(count(trained, "BatchMatMul"), 3, `forward + dx + dW: ${trained.join(",")}`);
      }
      // dx = dy·Wᵀ, dW = xᵀ·dy
      const { grads } = tf.variableGrads(loss, [x, w]);
      const dx = tf.matMul(dy, tf.transpose(w));
      const dw = tf.matMul(tf.transpose(x), dy);
      assert.ok(maxAbs(grads[x.name]!, dx) <= 1e-5);
      assert.ok(maxAbs(grads[w.name]!, dw) <= 1e-5);
      tf.dispose([x, w, dy, dx, dw, ...Object.values(grads)]);
    });
  }
});
