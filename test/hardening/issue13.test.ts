/**
 * Issue 13 (bad-input audit): one table row per numbered case, each a reproduction from the issue that failed
 * before the fix. The rules behind them: paths from data or a checkpoint index are checked on their real path
 * (util/paths.ts); every write goes through util/atomic-write.ts; validate enforces size limits and can decode
 * images fully; the NaN guard names the last checkpoint that was finite and not diverging (train/health.ts); errors
 * name the file and the field. (Case 12, memory, is test/memory-rss.test.ts.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { validateJsonlFile } from "../../src/data/validate.js";
import { loadJsonlDataset } from "../../src/data/dataset.js";
import { writeJsonl } from "../../src/data/jsonl.js";
import { convertCocoFile } from "../../src/data/converters/coco.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { GemmaTokenizer } from "../../src/io/tokenizer.js";
import { SafetensorsCheckpoint } from "../../src/io/safetensors.js";
import { saveSafetensors } from "../../src/io/safetensors-write.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { TrainingArguments } from "../../src/train/arguments.js";
import { Trainer } from "../../src/train/trainer.js";
import { NonFiniteLossError } from "../../src/train/errors.js";
import { listCheckpoints, removePartialCheckpoints } from "../../src/train/checkpoint.js";
import { loadTrainingState } from "../../src/train/state.js";
import { trainingJobJson } from "../../src/train/export.js";
import { runData } from "../../src/cli/data.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { repoRoot } from "../helpers/paths.js";
import { TINY } from "../helpers/golden.js";
import { readGoldenWeights, toWritable } from "../helpers/checkpoints.js";
import { useBackend } from "../helpers/backends.js";
import { writeImage, writeLines } from "../data/util.js";
import { GoldenCollator, goldenDataset, variedDataset } from "../train/golden-data.js";

await useBackend("wasm");
const TOK = join(repoRoot(), "test", "fixtures", "tokenizer");
const PRE = join(repoRoot(), "test", "fixtures", "processor", "preprocessor_config_224.json");
const CLI = join(repoRoot(), "dist", "src", "cli", "main.js");

let tmp: { path: string; cleanup: () => Promise<void> };
let n = 0;
/** A fresh directory for one row. */
const fresh = async (): Promise<string> => {
  const d = join(tmp.path, `case-${n++}`);
  await mkdir(d, { recursive: true });
  return d;
};
const line = (image: string, prefix = "caption en", suffix = "a cat") => ({ image, prefix, suffix });
const collator = await GoldenCollator.load();
before(async () => (tmp = await makeTmpDir("issue13-")));
after(async () => {
  await tmp.cleanup();
  collator.dispose();
});

async function processor(): Promise<PaliGemmaProcessor> {
  const d = await fresh();
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) await copyFile(join(TOK, f), join(d, f));
  await copyFile(PRE, join(d, "preprocessor_config.json"));
  return PaliGemmaProcessor.fromPretrained(d, { onWarning: () => undefined });
}

/** A half-written PNG or JPEG: its header is intact, its pixel data ends early. */
async function truncatedImage(path: string, format: "png" | "jpeg"): Promise<void> {
  const whole = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 40 } } }).toFormat(format).toBuffer();
  await writeFile(path, whole.subarray(0, whole.length >> 1));
}

type Row = { point: number; name: string; run: () => Promise<void> };

const rows: Row[] = [
  // 1. Crash: a 50 MB line
  { point: 1, name: "validate reports a 50 MB line as over the size limit, without holding it", run: async () => {
    const d = await fresh();
    await writeImage(join(d, "a.png"), 8, 8);
    await writeFile(join(d, "x.jsonl"), `${JSON.stringify(line("a.png"))}\n{"image": "a.png", "prefix": "p", "suffix": "${"word ".repeat(10_000_000)}"}\n`);
    const r = await validateJsonlFile(join(d, "x.jsonl"));
    assert.equal(r.entries.length, 1);
    assert.equal(r.problems[0]!.kind, "size");
    assert.match(r.problems[0]!.message, /line is 5000\d+ bytes .* over the limit of 4194304 bytes \(maxLineBytes\)/);
  } },
  { point: 1, name: "processor cuts a 50 MB suffix before tokenizing: same ids as a short text, no heap exhaustion", run: async () => {
    const p = await processor();
    const huge = "word ".repeat(10_000_000);
    const opts = { maxLength: 24, truncation: true, padding: "maxLength" as const };
    const a = p.encodeText(["caption en"], [huge], opts);
    const b = p.encodeText(["caption en"], [huge.slice(0, 2000)], opts);
    assert.deepEqual([...a.inputIds], [...b.inputIds]);
    assert.deepEqual([...a.labels!], [...b.labels!]);
    assert.throws(() => p.encodeText(["caption en"], [huge]), /suffixes\[0\]: 50000000 characters, over 262144 without maxLength; set maxLength/);
  } },
  // 2. Escape through a symlink
  { point: 2, name: "a symlinked file and a symlinked directory pointing outside the root are path problems", run: async () => {
    const outside = await fresh();
    await writeImage(join(outside, "secret.png"), 8, 8);
    const d = await fresh();
    await writeImage(join(d, "ok.png"), 8, 8);
    await symlink(join(outside, "secret.png"), join(d, "link.png"));
    await symlink(outside, join(d, "linkdir"));
    await writeLines(join(d, "x.jsonl"), [line("ok.png"), line("link.png"), line("linkdir/secret.png")]);
    const r = await validateJsonlFile(join(d, "x.jsonl"));
    assert.deepEqual(r.entries.map((e) => e.line), [1]);
    assert.deepEqual(r.problems.map((p) => [p.line, p.kind]), [[2, "path"], [3, "path"]]);
    assert.match(r.problems[0]!.message, /through a symlink.*outside the dataset root/);
    const ds = await loadJsonlDataset(join(d, "x.jsonl"), { onWarning: () => undefined });
    assert.equal(ds.length, 1, "the linked images are never loaded");
  } },
  { point: 2, name: "a converter refuses a source image that is a symlink to outside its image folder", run: async () => {
    const outside = await fresh();
    await writeImage(join(outside, "secret.jpg"), 16, 16, "jpeg");
    const src = await fresh();
    await symlink(join(outside, "secret.jpg"), join(src, "a.jpg"));
    const coco = { images: [{ id: 1, file_name: "a.jpg", width: 16, height: 16 }], categories: [{ id: 1, name: "cat" }], annotations: [] };
    await writeFile(join(src, "_annotations.coco.json"), JSON.stringify(coco));
    const out = join(await fresh(), "out");
    await assert.rejects(convertCocoFile(join(src, "_annotations.coco.json"), out), /image "a\.jpg": resolves to .*secret\.jpg, outside the image folder/);
    assert.deepEqual(await readdir(out).catch(() => []), []);
  } },
  // 3. Escape through the shard index
  { point: 3, name: "a shard name ../../outside.safetensors in the index is refused, naming the entry", run: async () => {
    const top = await fresh();
    const ckpt = join(top, "a", "ckpt");
    await mkdir(ckpt, { recursive: true });
    await saveSafetensors(join(top, "outside.safetensors"), { w: { dtype: "F32", shape: [1], data: new Float32Array([1]) } });
    await writeFile(join(ckpt, "model.safetensors.index.json"), JSON.stringify({ weight_map: { w: "../../outside.safetensors" } }));
    await assert.rejects(SafetensorsCheckpoint.open(ckpt), /field "weight_map\.w": shard "\.\.\/\.\.\/outside\.safetensors" resolves to .*outside the checkpoint directory/);
    // the same through a symlink that looks local
    await symlink(join(top, "outside.safetensors"), join(ckpt, "model-00001-of-00001.safetensors"));
    await writeFile(join(ckpt, "model.safetensors.index.json"), JSON.stringify({ weight_map: { w: "model-00001-of-00001.safetensors" } }));
    await assert.rejects(SafetensorsCheckpoint.open(ckpt), /outside the checkpoint directory/);
  } },
  // 4. Late: truncated images
  { point: 4, name: "truncated PNG and JPEG: header-only validate says so, decode 'full' (--deep) catches them", run: async () => {
    const d = await fresh();
    await truncatedImage(join(d, "t.png"), "png");
    await truncatedImage(join(d, "t.jpg"), "jpeg");
    await writeLines(join(d, "x.jsonl"), [line("t.png"), line("t.jpg")]);
    const quick = await validateJsonlFile(join(d, "x.jsonl"));
    assert.equal(quick.decoded, false, "the result says the pixels were not decoded");
    const deep = await validateJsonlFile(join(d, "x.jsonl"), { decode: "full" });
    assert.equal(deep.decoded, true);
    assert.deepEqual(deep.problems.map((p) => [p.line, p.kind]), [[1, "image-undecodable"], [2, "image-undecodable"]]);
    const out: string[] = [];
    assert.equal(await runData(["validate", join(d, "x.jsonl"), "--deep", "--strict"], { out: (l) => out.push(l), err: (l) => out.push(l) }), 1);
    assert.match(out.join("\n"), /cannot be decoded as an image/);
  } },
  // 5. Misleading NaN guard
  { point: 5, name: "lr 1e30: the checkpoint whose weights blew up is not called good, and the error says what it checked", run: async () => {
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "wasm" });
    const dir = await fresh();
    const t = new Trainer({ model, collator, trainDataset: variedDataset(6), args: { outputDir: dir, learningRate: 1e30, maxGradNorm: 0, perDeviceTrainBatchSize: 2, maxSteps: 6, saveStrategy: "steps", saveSteps: 1, lrSchedulerType: "constant" } });
    await assert.rejects(t.train(), (e: unknown) => {
      assert.ok(e instanceof NonFiniteLossError, String(e));
      assert.equal(e.lastCheckpoint, null, "no checkpoint after the blow-up is good");
      assert.match(e.message, /No good checkpoint was saved \(passed over checkpoint-1 \((max \|w\| [\d.e+]+ > [\d.]+ \(diverging\)|weights are not finite)/);
      return true;
    });
    model.dispose();
  } },
  // 6. Silent
  { point: 6, name: "invalid UTF-8, duplicate keys and an empty file are problems", run: async () => {
    const d = await fresh();
    await writeImage(join(d, "a.png"), 8, 8);
    await writeFile(join(d, "x.jsonl"), Buffer.concat([Buffer.from(`${JSON.stringify(line("a.png"))}\n{"image": "a.png", "prefix": "caf`), Buffer.from([0xe9]), Buffer.from(`", "suffix": "x"}\n{"image": "a.png", "prefix": "p", "prefix": "q", "suffix": "s"}\n`)]));
    const r = await validateJsonlFile(join(d, "x.jsonl"));
    assert.deepEqual(r.problems.map((p) => [p.line, p.kind]), [[2, "encoding"], [3, "json"]]);
    assert.match(r.problems[0]!.message, /not valid UTF-8 \(bad byte 0xe9 at byte 33/);
    assert.match(r.problems[1]!.message, /duplicate key "prefix"/);
    await writeFile(join(d, "empty.jsonl"), "\n\n");
    const out: string[] = [];
    assert.equal(await runData(["validate", join(d, "empty.jsonl"), "--strict"], { out: (l) => out.push(l), err: (l) => out.push(l) }), 1);
    assert.match(out.join("\n"), /has no examples/);
  } },
  { point: 6, name: "a tokenizer.json whose model.vocab is a string is refused", run: async () => {
    const json = JSON.parse(await readFile(join(TOK, "tokenizer.json"), "utf-8"));
    json.model.vocab = "oops";
    assert.throws(() => new GemmaTokenizer(json, {}, "bad/tokenizer.json"), /bad\/tokenizer\.json: field "model\.vocab": expected an object/);
  } },
  { point: 6, name: "NaN weights are refused at load, naming the file and the tensor", run: async () => {
    const d = await fresh();
    const w = await readGoldenWeights();
    const [name, first] = [...w][3]!;
    first.data[5] = NaN;
    await saveSafetensors(join(d, "model.safetensors"), toWritable(w));
    await copyFile(join(TINY, "config.json"), join(d, "config.json"));
    await assert.rejects(PaliGemmaForConditionalGeneration.fromPretrained(d, { backend: "wasm" }), new RegExp(`model\\.safetensors: tensor "${name.replace(/\./g, "\\.")}" holds NaN at flat index 5`));
  } },
  { point: 6, name: "warmupSteps 100 with maxSteps 5 is a ConfigError", run: async () => {
    assert.throws(() => new TrainingArguments({ warmupSteps: 100, maxSteps: 5 }), /warmupSteps.*at most maxSteps \(5\)/);
  } },
  // 7. Lost on replace
  { point: 7, name: "a kill between the two renames of a re-save: the next start restores checkpoint-N", run: async () => {
    for (const leftovers of [["old-checkpoint-2-999", "ready-checkpoint-2-999"], ["old-checkpoint-2-999", "tmp-checkpoint-2-999"], ["ready-checkpoint-2-999"]]) {
      const d = await fresh();
      for (const l of leftovers) {
        await mkdir(join(d, l));
        await writeFile(join(d, l, "trainer_state.json"), JSON.stringify({ from: l }));
      }
      await removePartialCheckpoints(d);
      assert.deepEqual((await readdir(d)).sort(), ["checkpoint-2"], leftovers.join(" + "));
      const from = JSON.parse(await readFile(join(d, "checkpoint-2", "trainer_state.json"), "utf-8")).from;
      assert.notEqual(from.startsWith("tmp-"), true, "an incomplete copy is never promoted");
    }
  } },
  // 8. Partial output
  { point: 8, name: "convert coco failing half-way leaves nothing; writeJsonl failing half-way keeps the old file", run: async () => {
    const src = await fresh();
    await writeImage(join(src, "a.jpg"), 16, 16, "jpeg");
    const coco = { images: [{ id: 1, file_name: "a.jpg", width: 16, height: 16 }, { id: 2, file_name: "missing.jpg", width: 16, height: 16 }],
      categories: [{ id: 1, name: "cat" }], annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 4, 4] }] };
    await writeFile(join(src, "_annotations.coco.json"), JSON.stringify(coco));
    const out = join(await fresh(), "out");
    await assert.rejects(convertCocoFile(join(src, "_annotations.coco.json"), out), /missing\.jpg/);
    assert.deepEqual(await readdir(out).catch(() => []), [], "no image copied, no annotations.jsonl");
    const f = join(await fresh(), "annotations.jsonl");
    await writeJsonl(f, [line("a.png")]);
    async function* failing() {
      yield line("b.png");
      throw new Error("disk on fire");
    }
    await assert.rejects(writeJsonl(f, failing()), /disk on fire/);
    assert.equal(await readFile(f, "utf-8"), JSON.stringify(line("a.png")) + "\n");
    assert.deepEqual(await readdir(join(f, "..")), ["annotations.jsonl"], "no temporary file left");
  } },
  // 9. Context missing
  { point: 9, name: "a bad rng_state.json names the file and the field", run: async () => {
    const d = await fresh();
    await writeFile(join(d, "trainer_state.json"), JSON.stringify({ global_step: 1, paligemma_ts: { data: { epoch: 0, position: 1, dataSeed: 0, datasetLength: 2, batchSize: 1 } } }));
    await writeFile(join(d, "scheduler.json"), "{}");
    await writeFile(join(d, "rng_state.json"), JSON.stringify({ trainer: [1, 2, 3, 4, 5] }));
    await assert.rejects(loadTrainingState(d), /rng_state\.json: field "trainer": expected four uint32 words; got \[1,2,3,4,5\]/);
  } },
  { point: 9, name: "an outputDir under a file and synth --out under a file name the path and the fix", run: async () => {
    const d = await fresh();
    await writeFile(join(d, "file"), "x");
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "wasm" });
    const t = new Trainer({ model, collator, trainDataset: variedDataset(2), args: { outputDir: join(d, "file", "out"), maxSteps: 1, perDeviceTrainBatchSize: 2 } });
    await assert.rejects(t.train(), /file\/out: .*\(ENOTDIR\); a parent of it is a file, not a directory/);
    model.dispose();
    const out: string[] = [];
    assert.equal(await runData(["synth", "detection", "--out", join(d, "file", "synth"), "--train", "1", "--valid", "0", "--test", "0"], { out: (l) => out.push(l), err: (l) => out.push(l) }), 1);
    assert.match(out.join("\n"), /file\/synth\/train: cannot be created as a directory \(ENOTDIR\); a parent of it is a file/);
  } },
  { point: 9, name: "annotations.jsonl that is a directory is named as such", run: async () => {
    const d = await fresh();
    await mkdir(join(d, "train", "annotations.jsonl"), { recursive: true });
    const out: string[] = [];
    assert.equal(await runData(["validate", d], { out: (l) => out.push(l), err: (l) => out.push(l) }), 1);
    assert.match(out.join("\n"), /train\/annotations\.jsonl: is a directory/);
  } },
  { point: 9, name: "a non-string weight_map entry is named", run: async () => {
    const d = await fresh();
    await writeFile(join(d, "model.safetensors.index.json"), JSON.stringify({ weight_map: { "a.weight": "s.safetensors", "b.weight": 7 } }));
    await assert.rejects(SafetensorsCheckpoint.open(d), /field "weight_map\.b\.weight": expected a shard file name \(a non-empty string\); got 7/);
  } },
  { point: 9, name: "smoke --golden with no value is a usage error: exit 2", run: async () => {
    const r = spawnSync(process.execPath, [CLI, "smoke", "--golden"], { encoding: "utf-8" });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--golden needs a value/);
  } },
  // 10. Wrong figure
  { point: 10, name: "trainLoss after a resume is the mean over every step of the run", run: async () => {
    const args = { learningRate: 1e-3, perDeviceTrainBatchSize: 1, maxSteps: 4, saveStrategy: "steps" as const, saveSteps: 2 };
    const ds = goldenDataset([{ row: 0 }, { row: 1 }, { row: 0, scale: 0.5 }, { row: 1, scale: 0.5 }]);
    const whole = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "wasm" });
    const a = await new Trainer({ model: whole, collator, trainDataset: ds, trainDataOrder: "sequential", args: { ...args, outputDir: await fresh() } }).train();
    whole.dispose();
    const dir = await fresh();
    const first = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "wasm" });
    await new Trainer({ model: first, collator, trainDataset: ds, trainDataOrder: "sequential", args: { ...args, outputDir: dir },
      callbacks: [{ onStepEnd: (e, control) => void (e.step === 2 && (control.shouldTrainingStop = true)) }] }).train();
    first.dispose();
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.step), [2]);
    const second = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "wasm" });
    const b = await new Trainer({ model: second, collator, trainDataset: ds, trainDataOrder: "sequential", args: { ...args, outputDir: dir } }).train({ resumeFromCheckpoint: true });
    second.dispose();
    assert.ok(Math.abs(b.metrics.trainLoss - a.metrics.trainLoss) < 1e-6, `resumed ${b.metrics.trainLoss} vs uninterrupted ${a.metrics.trainLoss}`);
  } },
  // 11. Export that fails as exported
  { point: 11, name: "exportTrainingJob with default arguments writes remove_unused_columns False", run: async () => {
    const job = trainingJobJson({ modelId: "google/paligemma2-3b-pt-224", dataset: { train: "train.jsonl" } });
    assert.equal((job.training_arguments as Record<string, unknown>)["remove_unused_columns"], false);
  } },
];

describe("issue 13: bad inputs (one row per case)", () => {
  for (const r of rows) test(`${r.point}. ${r.name}`, r.run);
});
