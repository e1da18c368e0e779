/**
 * The decoding fast paths equal what they replace, on every backend here: RoPE's half-swap form (bit-identical),
 * one-query attention with its masked kv-head blocks over one or two key segments and the power-of-two scale folded
 * into the soft-cap (against HF's eager order written out with repeat_kv), products that read b transposed, and KVCache.derived (computed
 * once per cache, freed with it).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { applyRope, ropeTables, disposeRope } from "../../src/ops/rope.js";
import { cachedAttention } from "../../src/ops/attention.js";
import { matMulT } from "../../src/ops/matmul.js";
import { KVCache } from "../../src/model/kvcache.js";
import { maxAbsDiff } from "../helpers/golden.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

const rnd = (shape: number[], seed: number, scale = 1) => tf.randomNormal(shape, 0, scale, "float32", seed);

/** HF 4.47 eager attention for q [1,H,1,d] over k/v [1,KV,T,d]: repeat_kv, (q·kᵀ)·scale, cap·tanh(·/cap), softmax, ·v. */
function eagerReference(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, cap: number): tf.Tensor {
  return tf.tidy(() => {
    const H = q.shape[1]!;
    const KV = k.shape[1]!;
    const heads = tf.tensor1d(Array.from({ length: H }, (_, h) => Math.floor(h / (H / KV))), "int32");
    const kr = tf.gather(k, heads, 1); // [1,H,T,d]
    const vr = tf.gather(v, heads, 1);
    const s = tf.mul(tf.matMul(q, tf.transpose(kr, [0, 1, 3, 2])), scale);
    const capped = tf.mul(tf.tanh(tf.div(s, cap)), cap);
    return tf.matMul(tf.softmax(capped), vr);
  });
}

describe("decoding fast paths", async () => {
  for (const backend of await presentBackends()) {
    test(`${backend}: RoPE half-swap form equals the split form bit for bit`, async () => {
      await useBackend(backend);
      const x = rnd([2, 3, 1, 8], 1, 4); // two rows, odd head count
      const positions = [[5], [300]];
      const split = ropeTables(positions, 8, 10000);
      const swap = ropeTables(positions, 8, 10000, "halfSwap");
      const a = applyRope(x, split);
      const b = applyRope(x, swap);
      assert.equal(maxAbsDiff(a, b), 0);
      disposeRope(split);
      disposeRope(swap);
      tf.dispose([x, a, b]);
    });

    test(`${backend}: one-query attention equals HF's eager order (folded and unfolded scale)`, async () => {
      await useBackend(backend);
      const H = 6, KV = 2, T = 7, d = 8; // rep 3, odd key count
      const q = rnd([1, H, 1, d], 2, 3);
      const seg = { k: rnd([1, KV, T, d], 3, 3), v: rnd([1, KV, T, d], 4) };
      const before = tf.memory().numTensors;
      for (const scale of [0.125, 0.3]) { // 2^-3 folds into the cap's division; 0.3 does not
        for (const cap of [50, 2]) { // 2: the cap bites
          const ours = cachedAttention(q, [seg], { scale, softcap: cap });
          const ref = eagerReference(q, seg.k, seg.v, scale, cap);
          assert.deepEqual(ours.shape, [1, H, 1, d]);
          assert.ok(maxAbsDiff(ours, ref) < 1e-5, `scale ${scale} cap ${cap}: max |Δ| ${maxAbsDiff(ours, ref)}`);
          // the same keys as two segments (prompt 4 + generated 3), never joined
          const split = (t: tf.Tensor) => tf.split(t, [4, 3], 2);
          const [kp, kg] = split(seg.k);
          const [vp, vg] = split(seg.v);
          const two = cachedAttention(q, [{ k: kp!, v: vp! }, { k: kg!, v: vg! }], { scale, softcap: cap });
          assert.ok(maxAbsDiff(two, ref) < 1e-5, `two segments, scale ${scale} cap ${cap}: max |Δ| ${maxAbsDiff(two, ref)}`);
          tf.dispose([ours, ref, two, kp!, kg!, vp!, vg!]);
        }
      }
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([q, seg.k, seg.v]);
    });

    test(`${backend}: a·bᵀ without a tape equals the explicit transpose`, async () => {
      await useBackend(backend);
      const a = rnd([3, 5], 5);
      const b = rnd([7, 5], 6);
      const ours = matMulT(a, b);
      const ref = tf.matMul(a, tf.transpose(b));
      assert.deepEqual(ours.shape, [3, 7]);
      assert.ok(maxAbsDiff(ours, ref) < 1e-5, `max |Δ| ${maxAbsDiff(ours, ref)}`);
      tf.dispose([a, b, ours, ref]);
    });
  }

  test("KVCache.derived computes once per cache and frees with it; greedy decoding keeps prompt and generated apart", () => {
    const w = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numTensors;
    const cache = new KVCache(1, () => 2); // window 2
    let made = 0;
    const make = () => (made++, tf.add(1, w));
    const first = cache.derived(w, make);
    assert.equal(cache.derived(w, make), first);
    assert.equal(made, 1);
    assert.deepEqual(Array.from(first.dataSync()), [2, 3, 4]);
    const key = (p: number) => tf.tensor4d([p], [1, 1, 1, 1]);
    tf.tidy(() => {
      const k0 = tf.tensor4d([0, 1, 2], [1, 1, 3, 1]);
      cache.updateAndFetch(0, k0, k0); // prefill of 3 keys; window 2 keeps positions 1, 2
      const segs = cache.updateAndFetch(0, key(3), key(3));
      assert.equal(segs.length, 2); // the prompt's keys are not copied to append one
      assert.deepEqual(segs.flatMap((seg) => Array.from(seg.k.dataSync())), [2, 3]); // window 2: positions 2, 3
    });
    cache.dispose();
    assert.equal(tf.memory().numTensors, before);
    w.dispose();
  });
});
