/**
 * The fused AdamW update (one WebAssembly SIMD pass per parameter, src/train/adamw-wasm.ts) against the op-by-op
 * update it replaces, bit for bit, on every backend present: odd sizes (the f32x4 loop's padded tail), decayed and
 * undecayed parameters, a clipping scale, gradients from 1 down to 1e-6, and a state saved by one path restored into
 * the other. (The op path itself is checked against torch.optim.AdamW in optim.test.ts.)
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { AdamW, type AdamWState } from "../../src/train/adamw.js";
import { FusedAdamWMemory } from "../../src/train/adamw-wasm.js";
import { presentBackends, useBackend } from "../helpers/backends.js";
import { traitsOf } from "../../src/backend/traits.js";

const backends = await presentBackends();

/** name → shape: one row per case the loop must handle. */
const SHAPES: [string, number[]][] = [
  ["one.weight", [1]], // a single value: 3 padded lanes
  ["odd.bias", [7]], // not decayed (decayParameter), 7 = one f32x4 + 3
  ["mat.weight", [33, 17]], // 561 values
  ["block.layer_norm1.weight", [64]], // a norm weight: not decayed
  ["wide.weight", [5, 4099]],
  ["big.weight", [513, 1031]], // 528,903 values: three chunks of the 2¹⁸-value scratch, the last one ragged
];

function params(seed: number): Map<string, tf.Variable> {
  return new Map(SHAPES.map(([name, shape], i) => [name, tf.variable(tf.randomNormal(shape, 0, 0.5, "float32", seed + i))]));
}

/** Gradients of step k: scale 10^-k (1 … 1e-4), some exactly zero. */
function grads(k: number): Map<string, tf.Tensor> {
  return new Map(SHAPES.map(([name, shape], i) => [name, tf.tidy(() => tf.mul(tf.relu(tf.randomNormal(shape, 0, 1, "float32", 100 * k + i)), 10 ** -k))]));
}

function differing(a: Map<string, tf.Variable>, b: Map<string, tf.Variable>): string[] {
  const out: string[] = [];
  for (const [name, v] of a) {
    const x = v.dataSync();
    const y = b.get(name)!.dataSync();
    const bad = x.findIndex((value, i) => !Object.is(value, y[i]));
    if (bad >= 0) out.push(`${name}[${bad}]: ${x[bad]} vs ${y[bad]}`);
  }
  return out;
}

function sameState(a: AdamWState, b: AdamWState): void {
  assert.equal(a.step, b.step);
  for (const which of ["expAvg", "expAvgSq"] as const) {
    for (const [name, h] of a[which]) {
      const o = b[which].get(name)!;
      assert.deepEqual(o.shape, h.shape, `${which} ${name} shape`);
      assert.ok(h.data.every((x, i) => Object.is(x, o.data[i])), `${which} ${name}: same bits`);
    }
  }
}

for (const backend of backends) {
  describe(`fused AdamW = op-by-op AdamW, bit for bit (${backend})`, () => {
    test("5 steps: weight decay, a clipping scale on step 3, a changing learning rate; moments too", async () => {
      await useBackend(backend);
      const [pa, pb] = [params(1), params(1)];
      const ops = new AdamW(pa, { weightDecay: 0.1, kernel: "ops" });
      const fused = new AdamW(pb, { weightDecay: 0.1, kernel: "fused" });
      assert.equal(ops.kernel, "ops");
      assert.equal(fused.kernel, "fused");
      const before = tf.memory().numTensors;
      for (let k = 0; k < 5; k++) {
        const g = grads(k);
        const scale = k === 2 ? 0.37 : 1;
        ops.step(g, 3e-2 / (k + 1), scale);
        fused.step(g, 3e-2 / (k + 1), scale);
        tf.dispose([...g.values()]);
        assert.deepEqual(differing(pa, pb), [], `step ${k + 1}`);
      }
      assert.equal(tf.memory().numTensors, before, "the fused step leaks no tensors");
      sameState(await ops.getState(), await fused.getState());
      ops.dispose();
      fused.dispose();
      tf.dispose([...pa.values(), ...pb.values()]);
    });

    test("a state saved by either path continues identically in the other (the checkpoint format is shared)", async () => {
      await useBackend(backend);
      const [pa, pb] = [params(7), params(7)];
      const first = new AdamW(pa, { weightDecay: 0.01, kernel: "fused" });
      const g0 = grads(0);
      first.step(g0, 1e-2);
      for (const [name, v] of pa) pb.get(name)!.assign(v);
      const second = new AdamW(pb, { weightDecay: 0.01, kernel: "ops" });
      second.setState(await first.getState());
      sameState(await first.getState(), await second.getState());
      const g1 = grads(1);
      first.step(g1, 5e-3);
      second.step(g1, 5e-3);
      assert.deepEqual(differing(pa, pb), []);
      const third = new AdamW(params(7), { weightDecay: 0.01, kernel: "fused" });
      third.setState(await second.getState());
      sameState(await second.getState(), await third.getState());
      tf.dispose([...g0.values(), ...g1.values(), ...pa.values(), ...pb.values()]);
      [first, second, third].forEach((o) => o.dispose());
    });

    test(`the default ("auto") is ${traitsOf(backend).memory === "host" ? "fused: tensors live in host memory" : "op by op: tensors live on a device"}`, async () => {
      await useBackend(backend);
      const p = params(5);
      const opt = new AdamW(p);
      assert.equal(opt.kernel, traitsOf(backend).memory === "host" ? "fused" : "ops");
      opt.dispose();
      tf.dispose([...p.values()]);
    });

    test("a wrong gradient shape or a missing moment is refused before anything changes", async () => {
      await useBackend(backend);
      const p = params(3);
      const opt = new AdamW(p, { kernel: "fused" });
      const g = grads(0);
      const wrong = new Map(g);
      wrong.set("mat.weight", tf.zeros([17, 33]));
      assert.throws(() => opt.step(wrong, 1e-3), /gradient of mat\.weight is \[17,33\], parameter is \[33,17\]/);
      assert.equal(opt.stepCount, 0);
      const state = await opt.getState();
      state.expAvgSq.delete("odd.bias");
      assert.throws(() => opt.setState(state), /no exp_avg_sq for odd\.bias/);
      tf.dispose([...g.values(), wrong.get("mat.weight")!, ...p.values()]);
      opt.dispose();
    });
  });
}

describe("FusedAdamWMemory", () => {
  test("refuses moments beyond WebAssembly's 4 GiB (AdamW then runs op by op)", () => {
    assert.equal(FusedAdamWMemory.create([300_000_000, 300_000_000]), null); // 2 × 2 × 1.2 GB of moments
    assert.throws(() => new AdamW(new Map([["w", tf.variable(tf.zeros([2]))]]), { kernel: "nope" as "ops" }), /kernel: got "nope"; use "auto", "ops" or "fused"/);
  });
});
