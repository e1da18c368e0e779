/**
 * The nano pretrainer on a tiny model with the nano tokenizer and image geometry (224 px / patch 16): a step lowers
 * the loss on its own batch, the image gap is measured on finite losses, and a run saved and resumed continues
 * bit-exactly (same parameters after step 3 as an uninterrupted run): the property that lets pretraining span sittings.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { NANO_DIR as DIR, tinyNanoConfig } from "../helpers/nano.js";
import { withTmpDir } from "../helpers/tmp.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { DEFAULT_PRETRAIN, NanoPretrainer } from "../../src/nano/pretrain.js";

const config = { ...DEFAULT_PRETRAIN, batchSize: 2, warmupSteps: 1, learningRate: 3e-3, curriculumSteps: 10, maxChars: 2 };

async function params(t: NanoPretrainer): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [n, v] of t.parameters()) out.set(n, (await v.data()) as Float32Array);
  return out;
}

describe("NanoPretrainer", () => {
  it("resumes bit-exactly: 2 steps + save + restore + 1 step equals 3 steps", async () => {
    const processor = await PaliGemmaProcessor.fromPretrained(DIR);
    const a = new NanoPretrainer(await PaliGemmaForConditionalGeneration.fromConfig(tinyNanoConfig(), { seed: 1 }), processor, config);
    const first = await a.trainStep();
    assert.ok(Number.isFinite(first.loss) && first.textLoss > 0 && first.patchLoss > 0 && first.orderLoss! > 0);
    assert.ok(a.parameters().has("order_head.weight") && a.parameters().has("patch_head.weight"));
    await a.trainStep();
    await withTmpDir(async (run) => {
      await a.save(run);
      const before = tf.memory().numTensors;
      await a.trainStep();
      assert.equal(tf.memory().numTensors, before, "a step leaves no tensors behind");
      const b = new NanoPretrainer(await PaliGemmaForConditionalGeneration.fromPretrained(join(run, "state")), processor, config);
      await b.restore(run);
      assert.equal(b.step, 2);
      await b.trainStep();
      const [pa, pb] = [await params(a), await params(b)];
      assert.deepEqual([...pb.keys()].sort(), [...pa.keys()].sort());
      for (const [n, x] of pa) assert.deepEqual(pb.get(n), x, n);
      const gap = await b.imageGap(2);
      assert.ok(Number.isFinite(gap.trueLoss) && Number.isFinite(gap.shuffledLoss));
      b.dispose();
      b.model.dispose();
      // a state saved by the recipe before the order head (config without orderWeight) resumes without one…
      const old = { ...config, orderWeight: undefined };
      const c = new NanoPretrainer(await PaliGemmaForConditionalGeneration.fromPretrained(join(run, "state")), processor, old);
      assert.ok(!c.parameters().has("order_head.weight"));
      const r = await c.trainStep();
      assert.equal(r.orderLoss, undefined);
      await withTmpDir(async (run2) => {
        await c.save(run2);
        // …and a recipe with the head refuses that state with the way out, instead of a half-restored head
        const d = new NanoPretrainer(await PaliGemmaForConditionalGeneration.fromPretrained(join(run2, "state")), processor, config);
        await assert.rejects(d.restore(run2), /no order_head.weight .*start a new run with --from/);
        d.dispose();
        d.model.dispose();
      });
      c.dispose();
      c.model.dispose();
    });
    a.dispose();
    a.model.dispose();
  });
});
