/**
 * Issue 13.12: resident memory over long loops on the golden tiny model (cpu backend, where the growth was seen).
 * `numTensors` staying flat (memory.test.ts) does not rule out growth outside TF.js's bookkeeping, so this measures
 * RSS itself, after a forced full GC (without one, V8 grows its heap lazily and garbage reads as growth: that was
 * most of the 115 → 141 MB in the issue). Bounds, with what was measured when they were set (scripts/memory/rss-loop.mjs):
 *
 *   forward   100 calls         ≤ 24 MB  (measured ≤ 0 MB here; +2.4 MB over 200 calls in rss-loop.mjs; 115 → 141 MB
 *                                         without GC)
 *   generate   40 calls         ≤ 24 MB  (measured 0 MB here; +3.5 MB over 100 calls in rss-loop.mjs)
 *   train      40 Trainer steps ≤ 48 MB  (measured +7..11 MB, flat after 10 steps; TF.js's own tf.train.adam loop in
 *                                         rss-loop.mjs: +36..43 MB over 100 steps with a flat JS heap and flat tensors,
 *                                         i.e. freed typed arrays the native allocator keeps, not live objects)
 *
 * A leak of one logits tensor per step would also show in memory.test.ts; these bounds catch leaks outside TF.js
 * (host arrays, caches, closures) that grow linearly with the number of calls.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { tf } from "../src/tf.js";
import { PaliGemmaForConditionalGeneration, type ForwardInputs } from "../src/model/paligemma.js";
import { Trainer } from "../src/train/trainer.js";
import { Golden, TINY } from "./helpers/golden.js";
import { useBackend } from "./helpers/backends.js";
import { GoldenCollator, variedDataset } from "./train/golden-data.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const MB = 1024 * 1024;

/** RSS after two full collections, in bytes. */
function settledRss(): number {
  gc();
  gc();
  return process.memoryUsage().rss;
}

/** Warm up with `warm` calls, then run `n` more; returns RSS growth (max over quarters − start) and tensor counts. */
async function growth(fn: () => Promise<void>, n: number, warm = 3): Promise<{ grew: number; tensors: [number, number]; trace: number[] }> {
  for (let i = 0; i < warm; i++) await fn();
  const start = settledRss();
  const t0 = tf.memory().numTensors;
  const trace: number[] = [];
  for (let i = 1; i <= n; i++) {
    await fn();
    if (i % Math.ceil(n / 4) === 0 || i === n) trace.push(settledRss());
  }
  return { grew: Math.max(...trace) - start, tensors: [t0, tf.memory().numTensors], trace: trace.map((r) => Math.round((r - start) / MB)) };
}

describe("resident memory stays bounded over long loops (cpu backend)", () => {
  let g: Golden;
  let model: PaliGemmaForConditionalGeneration;
  let inputs: ForwardInputs;

  before(async () => {
    await useBackend("cpu");
    g = await Golden.open();
    model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
    const [pixelValues, inputIds, attentionMask, tokenTypeIds, labels] = await Promise.all(
      ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"].map((k) => g.tensor(`inputs.${k}`)),
    );
    inputs = { pixelValues, inputIds, attentionMask, tokenTypeIds, labels };
  });
  after(async () => {
    tf.dispose(Object.values(inputs) as tf.Tensor[]);
    model.dispose();
    await g.close();
  });

  test("forward: 100 calls within 24 MB", async (t) => {
    const r = await growth(async () => {
      const out = model.forward(inputs);
      await out.logits.data();
      tf.dispose([out.logits, out.loss!]);
    }, 100);
    t.diagnostic(`RSS growth by quarter: ${r.trace.join(", ")} MB`);
    assert.equal(r.tensors[1], r.tensors[0]);
    assert.ok(r.grew <= 24 * MB, `RSS grew ${(r.grew / MB).toFixed(1)} MB (quarters: ${r.trace.join(", ")} MB)`);
  });

  test("generate: 40 calls within 24 MB", async (t) => {
    const px = tf.slice(inputs.pixelValues!, [0, 0, 0, 0], [1, -1, -1, -1]);
    const prompt = await g.tensor("gen.s0.prompt_ids");
    const r = await growth(async () => void (await model.generate({ pixelValues: px, inputIds: prompt }, { maxNewTokens: 8 })), 40);
    tf.dispose([px, prompt]);
    t.diagnostic(`RSS growth by quarter: ${r.trace.join(", ")} MB`);
    assert.equal(r.tensors[1], r.tensors[0]);
    assert.ok(r.grew <= 24 * MB, `RSS grew ${(r.grew / MB).toFixed(1)} MB (quarters: ${r.trace.join(", ")} MB)`);
  });

  test("train: 40 Trainer steps within 48 MB", async (tt) => {
    const collator = await GoldenCollator.load();
    const trace: number[] = [];
    let start = 0;
    const t = new Trainer({
      model, collator, trainDataset: variedDataset(4),
      args: { outputDir: "unused-no-save", saveStrategy: "no", learningRate: 1e-6, perDeviceTrainBatchSize: 2, maxSteps: 43 },
      callbacks: [{
        onStepEnd: (e) => {
          if (e.step === 3) start = settledRss(); // after a warm-up of 3 steps
          else if (e.step > 3 && (e.step - 3) % 10 === 0) trace.push(settledRss());
        },
      }],
    });
    const before = tf.memory().numTensors;
    await t.train();
    assert.equal(tf.memory().numTensors, before, "no tensor left behind by the run");
    collator.dispose();
    const grew = Math.max(...trace) - start;
    tt.diagnostic(`RSS growth every 10 steps: ${trace.map((r) => Math.round((r - start) / MB)).join(", ")} MB`);
    assert.equal(trace.length, 4);
    assert.ok(grew <= 48 * MB, `RSS grew ${(grew / MB).toFixed(1)} MB (every 10 steps: ${trace.map((r) => Math.round((r - start) / MB)).join(", ")} MB)`);
  });
});
