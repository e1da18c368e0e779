/**
 * The Trainer's console lines, progress events and image-use health signal, on a tiny random checkpoint
 * (test/helpers/tiny-checkpoint.ts) and four solid-colour images:
 * - eval_image_gap equals (loss with each image replaced by the next example's) − (true loss), computed by hand
 *   from model.forward one example at a time;
 * - a model that cannot see the image (projector zeroed and frozen) gets gap 0 and the warning;
 * - HF-style `{'loss': …}` lines by default, none with logLevel "error"; progress events begin → update → end.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import type { Example, ExampleDataset } from "../../src/data/types.js";
import { freeze } from "../../src/lora/freeze.js";
import { Trainer } from "../../src/train/trainer.js";
import { formatLogDict, pyFloat } from "../../src/train/log-lines.js";
import { imageGapWarning, IMAGE_GAP_WARN_BELOW } from "../../src/train/image-gap.js";
import type { ProgressEvent } from "../../src/events/progress.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { useBackend } from "../helpers/backends.js";
import { writeTinyCheckpoint } from "../helpers/tiny-checkpoint.js";

await useBackend("wasm");

const COLOURS = [[250, 20, 20], [20, 250, 20], [20, 20, 250], [240, 240, 20]] as const;

describe("Trainer health signal and logging", () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let ckpt: string;
  let processor: PaliGemmaProcessor;
  let data: ExampleDataset;
  const examples: Example[] = [];
  before(async () => {
    tmp = await makeTmpDir("health-");
    ckpt = await writeTinyCheckpoint(join(tmp.path, "tiny"), 5);
    processor = await PaliGemmaProcessor.fromPretrained(ckpt);
    for (const [i, [r, g, b]] of COLOURS.entries()) {
      const image = join(tmp.path, `c${i}.png`);
      await sharp({ create: { width: 28, height: 28, channels: 3, background: { r, g, b } } }).png().toFile(image);
      examples.push({ image, prefix: "caption en", suffix: ["red", "green", "blue", "yellow"][i]! });
    }
    data = { length: examples.length, get: async (i) => examples[i]! };
  });
  after(() => tmp.cleanup());

  const lossOf = async (model: PaliGemmaForConditionalGeneration, ex: Example) => {
    const batch = await processor.collate([ex]);
    const out = model.forward(batch);
    const v = (await out.loss!.data())[0]!;
    tf.dispose([out.logits, out.loss!, batch.pixelValues, batch.inputIds, batch.attentionMask, batch.tokenTypeIds, batch.labels!]);
    return v;
  };

  test("eval_image_gap = shuffled-image loss − true loss, computed by hand", async () => {
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(ckpt, { backend: "wasm" });
    const trainer = new Trainer({ model, processor, evalDataset: data, logger: { info() {}, warn() {} },
      args: { outputDir: join(tmp.path, "a"), perDeviceEvalBatchSize: 1, evalImageGap: true } });
    const m = await trainer.evaluate();
    let own = 0;
    let other = 0;
    for (let i = 0; i < examples.length; i++) {
      own += await lossOf(model, examples[i]!);
      other += await lossOf(model, { ...examples[i]!, image: examples[(i + 1) % examples.length]!.image });
    }
    own /= examples.length;
    other /= examples.length;
    assert.ok(Math.abs(m["eval_loss"]! - own) < 1e-5, `eval_loss ${m["eval_loss"]} vs ${own}`);
    assert.ok(Math.abs(m["eval_shuffled_image_loss"]! - other) < 1e-5);
    assert.ok(Math.abs(m["eval_image_gap"]! - (other - own)) < 1e-5, `gap ${m["eval_image_gap"]} vs ${other - own}`);
    assert.notEqual(m["eval_image_gap"], 0, "a random model's loss still depends on the image");
    model.dispose();
  });

  test("a model that cannot see the image: gap 0 and a warning after warm-up", async () => {
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(ckpt, { backend: "wasm" });
    for (const [name, v] of model.namedParameters()) if (name.startsWith("multi_modal_projector.")) v.assign(tf.zerosLike(v));
    freeze(model, { visionTower: true, multiModalProjector: true });
    const warnings: string[] = [];
    const trainer = new Trainer({ model, processor, trainDataset: data, evalDataset: data, logger: { info() {}, warn: (l) => warnings.push(l) },
      args: { outputDir: join(tmp.path, "b"), maxSteps: 2, perDeviceTrainBatchSize: 2, perDeviceEvalBatchSize: 2, learningRate: 1e-3,
        evalStrategy: "steps", evalSteps: 1, saveStrategy: "no", evalImageGap: true } });
    await trainer.train();
    const evals = trainer.trainerState!.logHistory.filter((h) => "eval_image_gap" in h);
    assert.equal(evals.length, 2);
    for (const h of evals) assert.equal(h["eval_image_gap"], 0);
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.match(warnings[0]!, /not using the image/);
    model.dispose();
  });

  test("imageGapWarning: only after warm-up and only for a gap near 0", () => {
    // [gap, step, warmupSteps, warns]
    const rows: [number, number, number, boolean][] = [
      [0, 1, 0, true], // no warm-up: from the first step
      [0, 2, 5, false], // still warming up
      [0, 5, 5, true],
      [-IMAGE_GAP_WARN_BELOW / 2, 9, 0, true], // tiny negative gaps too
      [IMAGE_GAP_WARN_BELOW * 3, 9, 0, false], // the image helps
      [0.5, 9, 0, false],
    ];
    for (const [gap, step, warm, warns] of rows) assert.equal(imageGapWarning(gap, step, warm) !== null, warns, `${gap} ${step} ${warm}`);
  });

  test("HF-style log lines by default, silence with logLevel error; progress events begin → update → end", async () => {
    const run = async (logLevel: "passive" | "error", disableTqdm = false) => {
      const model = await PaliGemmaForConditionalGeneration.fromPretrained(ckpt, { backend: "wasm" });
      const lines: string[] = [];
      const events: ProgressEvent[] = [];
      await new Trainer({ model, processor, trainDataset: data, logger: { info: (l) => lines.push(l), warn: (l) => lines.push(l) },
        onProgress: (e) => events.push(e),
        args: { outputDir: join(tmp.path, "c"), maxSteps: 2, perDeviceTrainBatchSize: 2, loggingSteps: 1, saveStrategy: "no", logLevel, disableTqdm } }).train();
      model.dispose();
      return { lines, events };
    };
    const loud = await run("passive");
    assert.equal(loud.lines.length, 3, loud.lines.join("\n")); // two logs + the train summary
    assert.match(loud.lines[0]!, /^\{'loss': \d+\.\d+, 'grad_norm': [-\d.e]+, 'learning_rate': [-\d.e]+, 'epoch': 0\.5\}$/);
    assert.match(loud.lines[2]!, /^\{'train_runtime': .*'train_loss': .*'epoch': 1\.0\}$/);
    const train = loud.events.filter((e) => e.task === "train");
    assert.deepEqual(train.map((e) => [e.phase, e.done]), [["begin", 0], ["update", 1], ["update", 2], ["end", 2]]);
    assert.equal(train[0]!.total, 2);
    assert.ok(Number.isFinite(train[1]!.metrics!["loss"]) && train[1]!.metrics!["samplesPerSecond"]! > 0);
    const quiet = await run("error", true);
    assert.deepEqual(quiet.lines, []);
    assert.deepEqual(quiet.events, [], "disableTqdm: no progress events");
  });

  test("Python float repr in the log lines", () => {
    assert.equal(formatLogDict({ loss: 2.1235, grad_norm: 0.5, learning_rate: 4.5e-5, epoch: 1 }), "{'loss': 2.1235, 'grad_norm': 0.5, 'learning_rate': 4.5e-05, 'epoch': 1.0}");
    assert.deepEqual([1e-4, 1.5e20, NaN, -Infinity, 0].map(pyFloat), ["0.0001", "1.5e+20", "nan", "-inf", "0.0"]);
  });
});
