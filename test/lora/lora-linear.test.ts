/**
 * LoraLinear on odd sizes: PEFT's initialisation (kaiming_uniform_(a=√5) → U(±1/√in), B = 0), the forward
 * y = base(x) + x·A·B·scaling, gradients against the closed form, dropout only in training, merge/unmerge, and a
 * flat tensor count for forward+backward over a float and a quantized base, on every backend present.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { Linear } from "../../src/model/linear.js";
import { LoraLinear } from "../../src/lora/lora-linear.js";
import { INFERENCE, type ForwardContext } from "../../src/model/context.js";
import { QuantLinear } from "../../src/quant/quant-linear.js";
import { maxAbsDiff } from "../helpers/golden.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

const backends = await presentBackends();
const IN = 37;
const OUT = 23;

function linear(seed: number, bias = true, trainable = false): Linear {
  const w = tf.variable(tf.randomNormal([IN, OUT], 0, 0.3, "float32", seed), trainable);
  const b = bias ? tf.variable(tf.randomNormal([OUT], 0, 0.1, "float32", seed + 1), trainable) : null;
  return new Linear(w, b);
}

const training = (dropoutSeed: number): ForwardContext => ({ training: true, dropoutSeed });

for (const backend of backends) {
  describe(`LoraLinear on ${backend}`, () => {
    before(async () => useBackend(backend));
    after(async () => useBackend("cpu"));

    test("init: A ~ U(±1/√in) (PEFT kaiming_uniform_(a=√5)), B = 0; scaling α/r and α/√r", () => {
      const base = new Linear(tf.variable(tf.zeros([256, 64]), false));
      const l = new LoraLinear(base, { r: 32, alpha: 16, seed: 5 });
      const a = Array.from(l.loraA.dataSync());
      const bound = 1 / Math.sqrt(256);
      assert.ok(a.every((v) => Math.abs(v) <= bound));
      const sd = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
      assert.ok(Math.abs(sd - bound / Math.sqrt(3)) < 0.03 * bound, `std ${sd} vs ${bound / Math.sqrt(3)}`); // uniform: b/√3
      assert.ok(l.loraB.dataSync().every((v) => v === 0));
      assert.equal(l.scaling, 0.5);
      const rs = new LoraLinear(base, { r: 16, alpha: 16, useRslora: true });
      assert.equal(rs.scaling, 4);
      const g = new LoraLinear(base, { r: 16, alpha: 16, init: "gaussian", seed: 1 });
      const ga = Array.from(g.loraA.dataSync());
      assert.ok(Math.abs(Math.sqrt(ga.reduce((s, v) => s + v * v, 0) / ga.length) - 1 / 16) < 0.005); // N(0, 1/r)
      const f = new LoraLinear(base, { r: 4, alpha: 4, init: false, seed: 1 });
      assert.ok(f.loraB.dataSync().some((v) => v !== 0) && f.loraB.dataSync().every((v) => Math.abs(v) <= 0.5)); // U(±1/√r)
      [l, rs, g, f].forEach((x) => x.dispose());
      base.weight.dispose();
    });

    test("forward = base(x) + x·A·B·scaling, with a leading batch shape", () => {
      const base = linear(1);
      const l = new LoraLinear(base, { r: 3, alpha: 5, init: false, seed: 2 });
      const x = tf.randomNormal([2, 5, IN], 0, 1, "float32", 3);
      const got = l.forward(x);
      const want = tf.tidy(() => tf.add(base.forward(x), tf.mul(tf.matMul(tf.matMul(x.reshape([10, IN]), l.loraA), l.loraB).reshape([2, 5, OUT]), 5 / 3)));
      assert.deepEqual(got.shape, [2, 5, OUT]);
      assert.ok(maxAbsDiff(got, want) < 1e-5);
      tf.dispose([x, got, want]);
      l.dispose();
      tf.dispose([base.weight, base.bias!]);
    });

    test("gradients: dA = xᵀ(dy·Bᵀ)·s, dB = (xA)ᵀ·dy·s, dx through base and branch; frozen base gets none", () => {
      const base = linear(4);
      const l = new LoraLinear(base, { r: 4, alpha: 8, init: false, seed: 6 });
      const x = tf.variable(tf.randomNormal([7, IN], 0, 1, "float32", 7));
      const dy = tf.randomNormal([7, OUT], 0, 1, "float32", 8);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(l.forward(x), dy)) as tf.Scalar, [l.loraA, l.loraB, x]);
      const s = 2;
      const dA = tf.tidy(() => tf.mul(tf.matMul(tf.transpose(x), tf.matMul(dy, tf.transpose(l.loraB))), s));
      const dB = tf.tidy(() => tf.mul(tf.matMul(tf.transpose(tf.matMul(x, l.loraA)), dy), s));
      const dx = tf.tidy(() => tf.add(tf.matMul(dy, tf.transpose(base.weight)), tf.mul(tf.matMul(tf.matMul(dy, tf.transpose(l.loraB)), tf.transpose(l.loraA)), s)));
      assert.ok(maxAbsDiff(grads[l.loraA.name]!, dA) < 1e-4);
      assert.ok(maxAbsDiff(grads[l.loraB.name]!, dB) < 1e-4);
      assert.ok(maxAbsDiff(grads[x.name]!, dx) < 1e-4);
      tf.dispose([...Object.values(grads), dA, dB, dx, dy, x]);
      l.dispose();
      tf.dispose([base.weight, base.bias!]);
    });

    test("dropout only while the context is training, reproducible from its seed, distinct per stream", () => {
      const base = linear(9);
      const l = new LoraLinear(base, { r: 4, alpha: 4, init: false, seed: 1, dropout: 0.5 });
      const x = tf.randomNormal([16, IN], 0, 1, "float32", 10);
      const e1 = l.forward(x);
      const e2 = l.forward(x, INFERENCE);
      assert.equal(maxAbsDiff(e1, e2), 0);
      const t1 = l.forward(x, training(1));
      assert.ok(maxAbsDiff(t1, e1) > 1e-3);
      const l2 = new LoraLinear(base, { r: 4, alpha: 4, init: false, seed: 1, dropout: 0.5 });
      const t2 = l2.forward(x, training(1));
      assert.equal(maxAbsDiff(t1, t2), 0);
      const l3 = new LoraLinear(base, { r: 4, alpha: 4, init: false, seed: 1, dropout: 0.5, dropoutStream: 1 });
      const t3 = l3.forward(x, training(1));
      assert.ok(maxAbsDiff(t1, t3) > 1e-3, "another stream draws other masks");
      const t4 = l.forward(x, training(2));
      assert.ok(maxAbsDiff(t1, t4) > 1e-3, "another call seed draws other masks");
      l3.dispose();
      tf.dispose([x, e1, e2, t1, t2, t3, t4]);
      [l, l2].forEach((z) => z.dispose());
      tf.dispose([base.weight, base.bias!]);
    });

    test("merge then unmerge round-trips the base weight within 1e-6; merged forward equals the unmerged one", () => {
      const base = linear(11);
      const w0 = base.weight.clone();
      const l = new LoraLinear(base, { r: 5, alpha: 7, init: false, seed: 3 });
      const x = tf.randomNormal([4, IN], 0, 1, "float32", 12);
      const y = l.forward(x);
      l.merge();
      assert.equal(l.isMerged, true);
      const ym = l.forward(x);
      assert.ok(maxAbsDiff(ym, y) < 1e-5);
      l.unmerge();
      assert.ok(maxAbsDiff(base.weight, w0) <= 1e-6, `round trip ${maxAbsDiff(base.weight, w0)}`);
      tf.dispose([x, y, ym, w0]);
      l.dispose();
      tf.dispose([base.weight, base.bias!]);
    });

    for (const kind of ["float", "nf4"] as const) {
      test(`numTensors flat: forward+backward+update over a ${kind} base`, () => {
        const f = linear(13);
        const base = kind === "float" ? f : QuantLinear.fromLinear(f, { bits: 4, doubleQuant: true });
        const l = new LoraLinear(base, { r: 4, alpha: 8, seed: 1, dropout: 0.1 });
        const x = tf.randomNormal([6, IN], 0, 1, "float32", 14);
        const opt = tf.train.sgd(0.1);
        const step = () => opt.minimize(() => tf.mean(tf.square(l.forward(x, training(5)))) as tf.Scalar, false, [l.loraA, l.loraB]);
        step();
        const n0 = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) step();
        assert.equal(tf.memory().numTensors, n0);
        assert.ok(l.loraB.dataSync().some((v) => v !== 0));
        tf.dispose([x]);
        opt.dispose();
        l.dispose();
        if (base instanceof QuantLinear) base.dispose();
        tf.dispose([f.weight, f.bias!]);
      });
    }

    test("merge on a quantized base is refused with the reason", () => {
      const f = linear(15);
      const q = QuantLinear.fromLinear(f, { bits: 4 });
      const l = new LoraLinear(q, { r: 2, alpha: 2 });
      assert.throws(() => l.merge(), /base layer is a QuantLinear; only a float Linear can be merged in place/);
      l.dispose();
      q.dispose();
      tf.dispose([f.weight, f.bias!]);
    });
  });
}
