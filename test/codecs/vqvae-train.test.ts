/**
 * Training the `<seg>` VQ-VAE (src/codecs/vqvae/train.ts) and its pieces: the .npz writer (float32 exact,
 * float16 rounded as numpy rounds), the synthetic instance masks (deterministic, tight boxes, every family),
 * and the trainer (its weights load through `VqVae.fromArrays`, a few steps on one batch lower the loss and
 * raise the IoU, no tensor leaks across steps, dead codes restart).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { encodeNpz, floatToHalf, halfToFloat, parseNpz, writeNpz, readNpz } from "../../src/codecs/vqvae/npz.js";
import { VqVae, vqVaeParamShapes } from "../../src/codecs/vqvae/model.js";
import { VqVaeTrainer, trainVqVae } from "../../src/codecs/vqvae/train.js";
import { cropMask64 } from "../../src/codecs/seg.js";
import { Random } from "../../src/data/random.js";
import { MASK_FAMILIES, heldOutInstanceMasks, synthInstanceMask, trainingMaskBatch } from "../../src/data/synth/masks.js";
import type { ProgressEvent } from "../../src/events/progress.js";
import { useBackend } from "../helpers/backends.js";
import { withTmpDir } from "../helpers/tmp.js";

await useBackend("cpu"); // training needs Conv2DBackpropFilter, which WASM lacks (see the last test)

describe("npz writer", () => {
  // numpy: np.array([...], np.float32).astype(np.float16).view(np.uint16)
  const table: [number, number, string][] = [
    [1, 0x3c00, "one"],
    [-2, 0xc000, "negative"],
    [0.1, 0x2e66, "rounded to nearest"],
    [65504, 0x7bff, "largest half"],
    [65520, 0x7c00, "rounds up to inf"],
    [2 ** -24, 0x0001, "smallest subnormal"],
    [2 ** -26, 0x0000, "underflows to 0"],
    [1 + 2 ** -11, 0x3c00, "tie to even (down)"],
    [1 + 3 * 2 ** -11, 0x3c02, "tie to even (up)"],
    [Infinity, 0x7c00, "inf"],
  ];
  for (const [v, bits, what] of table) {
    test(`float16 of ${v} is 0x${bits.toString(16)} (${what})`, () => assert.equal(floatToHalf(Float32Array.of(v))[0], bits));
  }
  test("float16 bits → float → bits is the identity on every finite half", () => {
    const all = Uint16Array.from({ length: 0x7c00 }, (_, i) => i);
    assert.deepEqual(floatToHalf(halfToFloat(all)), all);
  });
  test("float32 round trip is exact, float16 within half precision; shapes and names kept", async () => {
    const arrays = new Map([
      ["a.weight", { shape: [2, 3], data: Float32Array.of(0.5, -1.25, 3.1415926, 1e-3, -7, 100) }],
      ["_vq_vae._embedding", { shape: [3], data: Float32Array.of(1, 2, 3) }],
    ]);
    await withTmpDir(async (dir) => {
      await writeNpz(join(dir, "w.npz"), arrays);
      const back = await readNpz(join(dir, "w.npz"));
      for (const [k, v] of arrays) {
        assert.deepEqual(back.get(k)!.shape, v.shape);
        assert.deepEqual(back.get(k)!.data, v.data);
        assert.equal(back.get(k)!.descr, "<f4");
      }
    });
    const half = parseNpz(encodeNpz(arrays, { dtype: "float16" }));
    const d = half.get("a.weight")!;
    assert.equal(d.descr, "<f2");
    assert.ok(d.data instanceof Float32Array);
    (d.data as Float32Array).forEach((x, i) => assert.ok(Math.abs(x - arrays.get("a.weight")!.data[i]) <= Math.abs(x) * 2 ** -11, `${x}`));
  });
});

describe("synthetic instance masks", () => {
  test("deterministic by seed, every family drawn, non-empty, tight box unless loosened", () => {
    for (const family of MASK_FAMILIES) {
      for (let s = 0; s < 6; s++) {
        const a = synthInstanceMask(new Random(1000 + s), family);
        const b = synthInstanceMask(new Random(1000 + s), family);
        assert.deepEqual(a.box, b.box);
        assert.deepEqual(a.mask.data, b.mask.data);
        const { width: W, data } = a.mask;
        const [x1, y1, x2, y2] = a.box;
        assert.ok(x2 > x1 && y2 > y1 && x1 >= 0 && y1 >= 0 && x2 <= W && y2 <= a.mask.height, `${family}: box ${a.box}`);
        let [tx1, ty1, tx2, ty2] = [W, W, 0, 0];
        data.forEach((v, p) => {
          if (!v) return;
          const [x, y] = [p % W, Math.floor(p / W)];
          [tx1, ty1, tx2, ty2] = [Math.min(tx1, x), Math.min(ty1, y), Math.max(tx2, x + 1), Math.max(ty2, y + 1)];
        });
        assert.ok(tx1 >= x1 && ty1 >= y1 && tx2 <= x2 && ty2 <= y2, `${family}: every mask pixel is inside the box`);
        const crop = cropMask64(a.mask, a.box);
        assert.ok(crop.some((v) => v > 0.5), `${family}: the 64×64 crop is not empty`);
      }
    }
  });
  test("training batches and held-out masks come from different seed namespaces", () => {
    const held = heldOutInstanceMasks(8).map((o) => cropMask64(o.mask, o.box));
    const train = trainingMaskBatch(0, 0, 8);
    assert.equal(train.length, 8 * 4096);
    for (let i = 0; i < 8; i++) assert.notDeepEqual(held[i], train.subarray(i * 4096, (i + 1) * 4096));
    assert.deepEqual(trainingMaskBatch(0, 3, 2), trainingMaskBatch(0, 3, 2));
  });
});

describe("VqVaeTrainer", () => {
  test("weights in vae-oid names and PyTorch layouts: VqVae.fromArrays encodes like the trainer's codebook", () => {
    const trainer = new VqVaeTrainer({ seed: 3 });
    const arrays = trainer.toArrays();
    assert.deepEqual([...arrays.keys()].sort(), [...vqVaeParamShapes().keys()].sort());
    for (const [k, shape] of vqVaeParamShapes()) assert.deepEqual(arrays.get(k)!.shape, shape, k);
    // a round trip through PyTorch layout gives the same trainer weights back
    const again = new VqVaeTrainer({}, arrays);
    for (const [k, v] of trainer.params) assert.deepEqual(again.params.get(k)!.dataSync(), v.dataSync(), k);
    again.dispose();
    const vae = VqVae.fromArrays(new Map([...arrays].map(([k, v]) => [k, { descr: "<f4", ...v }])));
    const x = tf.tensor4d(trainingMaskBatch(5, 0, 2), [2, 64, 64, 1]);
    const feats = vae.encodeFeatures(x);
    assert.deepEqual(feats.shape, [2, 4, 4, 512]);
    tf.dispose([x, feats]);
    vae.dispose();
    trainer.dispose();
  });

  test("steps on one batch lower the loss and raise the IoU; tensors stay flat; progress events; restarts", async () => {
    // small on purpose: the cpu backend's conv gradients are slow (a 2-mask step is ~1 s of one core)
    const trainer = new VqVaeTrainer({ seed: 1, restartEvery: 2 });
    const batch = trainingMaskBatch(7, 0, 2);
    const events: ProgressEvent[] = [];
    const first = trainer.step(batch, 1e-3);
    const before = tf.memory().numTensors;
    const last = await trainVqVae(trainer, { steps: 5, batch: () => batch, learningRate: 1e-3, warmupSteps: 0, onProgress: (e) => events.push(e) });
    assert.equal(tf.memory().numTensors, before, "no tensor left behind by a step");
    assert.equal(trainer.steps, 5);
    assert.ok(last!.loss < first.loss, `loss ${first.loss} → ${last!.loss}`);
    assert.ok(last!.reconstruction < first.reconstruction);
    assert.ok(last!.iou > first.iou, `iou ${first.iou} → ${last!.iou}`);
    assert.ok(trainer.restarts > 0, "a 2-mask batch uses ≤ 32 codes: the rest are restarted");
    assert.deepEqual(events.map((e) => e.phase), ["begin", ...Array(4).fill("update"), "end"]);
    assert.equal(events.at(-1)!.done, 5);
    trainer.dispose();
  });

  test("on WASM (no Conv2DBackpropFilter) the trainer refuses with the fix, before allocating anything", async () => {
    await useBackend("wasm");
    try {
      const n = tf.memory().numTensors;
      assert.throws(() => new VqVaeTrainer(), /backend "wasm" lacks Conv2DBackpropFilter.*"tensorflow".*"cpu"/);
      assert.equal(tf.memory().numTensors, n);
    } finally {
      await useBackend("cpu");
    }
  });
});
