/**
 * The main job's code path (what `npm start` runs) with tiny counts: manifests (2 train documents × 2 photos, 2
 * valid, 2 test; seed 6011, used nowhere else) and the tiny checkpoint instead of nano, 2 LoRA steps, 2 beams. The
 * run directory has the adapter, run.json, report.json (config, curves, metrics before/after, per-sample
 * predictions) and a self-contained report.html; maxNewTokens and minNewTokens come from the tokenized train suffixes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runMainJob, defaultRunDir, MAIN_JOB_LORA } from "../../src/jobs/main-job.js";
import { suffixLengths, maxNewTokensFor } from "../../src/jobs/generation-length.js";
import { getTask } from "../../src/jobs/tasks.js";
import type { ProgressEvent } from "../../src/events/progress.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { useBackend } from "../helpers/backends.js";
import { writeTinyCheckpoint } from "../helpers/tiny-checkpoint.js";

await useBackend("wasm");

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => (tmp = await makeTmpDir("main-job-")));
after(() => tmp.cleanup());

test("the main job end to end with tiny counts", async () => {
  const model = await writeTinyCheckpoint(join(tmp.path, "tiny"), 3);
  const out = join(tmp.path, "run");
  const events: ProgressEvent[] = [];
  const lines: string[] = [];
  const report = await runMainJob({
    task: "json", out, model, seed: 6011, counts: { train: 2, valid: 2, test: 2 }, trainVariants: 2, numBeams: 2, backend: "wasm",
    trainingArguments: { maxSteps: 2, evalSteps: 1, saveSteps: 2, perDeviceTrainBatchSize: 2, perDeviceEvalBatchSize: 2, loggingSteps: 1 },
    onProgress: (e) => events.push(e), logger: { info: (l) => lines.push(l), warn: (l) => lines.push(l) }, say: (l) => lines.push(l),
  });
  for (const f of ["run.json", "adapter/adapter_config.json", "adapter/adapter_model.safetensors", "report.json", "report.html", "data/train/annotations.jsonl"]) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const saved = JSON.parse(await readFile(join(out, "report.json"), "utf-8"));
  assert.deepEqual(saved.metrics, report.metrics);
  const keys = ["json_parse_rate", "json_field_f1", "json_ted_accuracy", "bleu"];
  for (const side of ["before", "after"] as const) assert.deepEqual(Object.keys(report.metrics[side]!), keys);
  assert.equal(report.data["train"], 4);
  assert.equal(report.predictions.length, 2);
  assert.ok(report.predictions.every((p) => typeof p.before === "string" && typeof p.after === "string"));
  assert.equal(report.config.strategy, "lora");
  assert.equal(report.config.lora!["r"], 8);
  assert.deepEqual([...(report.config.lora!["target_modules"] as string[])].sort(), ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
  assert.equal(report.config.generation.numBeams, 2);
  assert.equal(report.config.lora!["lora_dropout"], MAIN_JOB_LORA["json"]!.loraDropout, "the job's LoRA settings reach the run");
  assert.equal(report.config.trainingArguments.evalImageGap, true, "the health signal is on in the main job");
  assert.equal(report.curves["eval_image_gap"]!.length, 2);
  assert.equal(report.curves["loss"]!.length, 2);
  assert.ok(["synth", "load", "before", "train", "after"].every((k) => report.timings![k]! >= 0));
  // maxNewTokens from the data
  const suffixes = (await readFile(join(out, "data", "train", "annotations.jsonl"), "utf-8")).trim().split("\n").map((l) => JSON.parse(l).suffix as string);
  const { PaliGemmaProcessor } = await import("../../src/data/processor.js");
  const tok = (await PaliGemmaProcessor.fromPretrained(model)).tokenizer;
  assert.equal(report.config.generation.maxNewTokens, maxNewTokensFor(tok, suffixes));
  assert.equal(report.config.generation.minNewTokens, suffixLengths(tok, suffixes).minNewTokens);
  assert.equal(report.suffixTokens!.max, suffixLengths(tok, suffixes).max);
  // progress for generation (before, after), training and evaluation
  const tasks = new Set(events.filter((e) => e.phase === "end").map((e) => e.task));
  assert.deepEqual([...tasks].sort(), ["evaluate", "generate", "train"]);
  assert.ok(lines.some((l) => l.startsWith("{'loss': ")), "HF-style log lines");
  const html = await readFile(join(out, "report.html"), "utf-8");
  assert.match(html, /json_field_f1/);
  assert.doesNotMatch(html, /<script|src="http/i);
});

test("the task registry and the run directory name", () => {
  assert.throws(() => getTask("jsno"), /did you mean "json"/);
  assert.deepEqual(getTask("detection").headline({ aggregates: { map: { value: 0.4, higherIsBetter: true, details: { map50: 0.7 } } } }), { map: 0.4, map50: 0.7 });
  assert.equal(defaultRunDir(new Date("2026-12-03T10:00:00.123Z")), join("runs", "2026-12-03T10-00-00-123"));
});

test("maxNewTokens: longest suffix + <eos> + 5 %; minNewTokens: 95 % of the shortest (without <eos>)", () => {
  const tok = { encode: (s: string) => [...s].map((c) => c.charCodeAt(0)) };
  assert.deepEqual(suffixLengths(tok, ["ab", "abcdefghijklmnopqrs"]), { max: 20, min: 3, mean: 11.5, maxNewTokens: 21, minNewTokens: 1 });
  const twenty = "abcdefghijklmnopqrst";
  assert.equal(suffixLengths(tok, [twenty, twenty + twenty]).minNewTokens, 19); // floor(0.95 · 20)
  assert.throws(() => suffixLengths(tok, []), /no suffixes/);
});
