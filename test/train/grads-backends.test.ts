/**
 * The global gradient norm on every backend present: the same float32 sums of squares whichever way the backend
 * computes them (one read-only kernel where it has one, traits `sumOfSquaresKernel`; Square then Sum elsewhere),
 * against a float64 sum on the host; and the clipping scale that AdamW applies inside its update equals clipping the
 * gradients first. (Against torch's clip_grad_norm_: optim.test.ts.)
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { traitsOf } from "../../src/backend/traits.js";
import { AdamW } from "../../src/train/adamw.js";
import { GradAccumulator, globalNorm } from "../../src/train/grads.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

const backends = await presentBackends();
const SHAPES = [[1], [7], [33, 17], [4099]];

for (const backend of backends) {
  describe(`gradient norm and clipping on ${backend}`, () => {
    test(`globalNorm = √(Σ g²) in float64 to 1e-6, with ${traitsOf(backend).sumOfSquaresKernel ?? "sum(square(g))"}; no tensors left`, async () => {
      await useBackend(backend);
      const grads = SHAPES.map((s, i) => tf.randomNormal(s, 0, 10 ** -i, "float32", i));
      let exact = 0;
      for (const g of grads) for (const x of g.dataSync()) exact += x * x;
      const before = tf.memory().numTensors;
      const norm = globalNorm(grads);
      assert.equal(tf.memory().numTensors, before);
      assert.ok(Math.abs(norm - Math.sqrt(exact)) <= 1e-6 * Math.sqrt(exact), `${norm} vs ${Math.sqrt(exact)}`);
      tf.dispose(grads);
    });

    test("clipScale + AdamW.step(g, lr, scale) = clip() + AdamW.step(g, lr), bit for bit", async () => {
      await useBackend(backend);
      const mk = () => new Map(SHAPES.map((s, i) => [`w${i}`, tf.variable(tf.randomNormal(s, 0, 0.3, "float32", 50 + i))]));
      const [pa, pb] = [mk(), mk()];
      const [oa, ob] = [new AdamW(pa, { weightDecay: 0.05 }), new AdamW(pb, { weightDecay: 0.05 })];
      const grads = () => new Map(SHAPES.map((s, i) => [`w${i}`, tf.randomNormal(s, 0, 2, "float32", 90 + i)]));
      const [ca, cb] = [new GradAccumulator(), new GradAccumulator()];
      ca.add(grads());
      cb.add(grads());
      const norm = ca.clip(0.5);
      const { norm: norm2, scale } = cb.clipScale(0.5);
      assert.equal(norm2, norm);
      assert.ok(scale < 1, `the gradients are clipped (norm ${norm}, scale ${scale})`);
      const [ga, gb] = [ca.take(), cb.take()];
      oa.step(ga, 1e-2);
      ob.step(gb, 1e-2, scale);
      for (const [name, v] of pa) assert.deepEqual(Array.from(pb.get(name)!.dataSync()), Array.from(v.dataSync()), name);
      tf.dispose([...ga.values(), ...gb.values(), ...pa.values(), ...pb.values()]);
      oa.dispose();
      ob.dispose();
    });
  });
}
