/**
 * The `paligemma-ts` fine-tuning commands as a user runs them (a child process per call, real exit codes):
 * train → evaluate → predict → report on a synthetic shapes folder made with seed 6007 (no other test uses it),
 * with the tiny HF-layout checkpoint (test/helpers/tiny-checkpoint.ts); `--help`/`-h` at every level; usage errors.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { synthDetection } from "../../src/data/synth/shapes.js";
import { loadDataset } from "../../src/data/dataset.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { maxNewTokensFor } from "../../src/jobs/generation-length.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { repoRoot } from "../helpers/paths.js";
import { writeTinyCheckpoint } from "../helpers/tiny-checkpoint.js";

const MAIN = join(repoRoot(), "dist", "src", "cli", "main.js");
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf-8", timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe("paligemma-ts train / evaluate / predict / report", () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let data: string;
  let model: string;
  let run: string;
  before(async () => {
    tmp = await makeTmpDir("cli-");
    data = join(tmp.path, "shapes");
    await synthDetection({ out: data, seed: 6007, counts: { train: 4, valid: 2, test: 2 }, width: 96, height: 64, maxObjects: 2 });
    model = await writeTinyCheckpoint(join(tmp.path, "tiny"), 11);
    run = join(tmp.path, "run");
  });
  after(() => tmp.cleanup());

  test("train writes a complete run directory", async () => {
    const r = cli("train", data, "--out", run, "--model", model, "--max-steps", "2", "--per-device-train-batch-size", "2",
      "--eval-steps", "1", "--save-steps", "2", "--logging-steps", "1", "--learning_rate", "1e-3", "--r", "4", "--lora-alpha", "8", "--eval-image-gap");
    assert.equal(r.code, 0, r.err);
    for (const f of ["run.json", "adapter/adapter_config.json", "adapter/adapter_model.safetensors", "checkpoints/checkpoint-2/trainer_state.json", "report.json", "report.html"]) {
      assert.ok(existsSync(join(run, f)), `${f} in the run directory`);
    }
    const cfg = JSON.parse(await readFile(join(run, "run.json"), "utf-8"));
    assert.equal(cfg.strategy, "lora");
    assert.equal(cfg.trainingArguments.learningRate, 1e-3);
    assert.equal(cfg.lora.r, 4);
    assert.equal(cfg.lora.lora_alpha, 8);
    // maxNewTokens is the one computed from the tokenized train suffixes
    const { train } = await loadDataset(data);
    const suffixes = await Promise.all(Array.from({ length: train!.length }, async (_, i) => (await train!.get(i)).suffix));
    assert.equal(cfg.generation.maxNewTokens, maxNewTokensFor((await PaliGemmaProcessor.fromPretrained(model)).tokenizer, suffixes));
    // HF-style lines on stdout/stderr and the image gap among the eval metrics
    assert.match(r.out + r.err, /\{'loss': [\d.]+, 'grad_norm': /);
    assert.match(r.out + r.err, /'eval_image_gap': /);
    // the memory plan of this run, printed before loading
    assert.match(r.out + r.err, /memory plan: lora, B=2[^\n]*\n[\s\S]*limit\s+[\d.]+ [GM]B\s+(?:RAM|WASM heap) of backend \w+: fits/);
    const report = JSON.parse(await readFile(join(run, "report.json"), "utf-8"));
    assert.equal(report.curves.loss.length, 2);
    assert.equal(report.curves.eval_image_gap.length, 2);
  });

  test("evaluate scores the test split and records it in the run's report", async () => {
    const out = join(tmp.path, "eval.json");
    const r = cli("evaluate", run, "--data", data, "--split", "test", "--json", out, "--num-beams", "2", "--max-new-tokens", "6");
    assert.equal(r.code, 0, r.err);
    const e = JSON.parse(await readFile(out, "utf-8"));
    assert.equal(e.count, 2);
    assert.equal(e.task, "detection");
    assert.ok(Number.isFinite(e.headline.map) && Number.isFinite(e.headline.map50));
    assert.match(r.out, /test \(2 examples\): map /);
    const report = JSON.parse(await readFile(join(run, "report.json"), "utf-8"));
    assert.deepEqual(report.metrics.after, e.headline);
    assert.equal(report.predictions.length, 2);
  });

  test("predict prints one JSON line per image", async () => {
    const { test: t } = await loadDataset(data);
    const images = [(await t!.get(0)).image as string, (await t!.get(1)).image as string];
    const r = cli("predict", run, ...images, "--json", "--max-new-tokens", "4", "--quiet");
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.equal(lines[0].image, images[0]);
    assert.match(lines[0].prompt, /^detect /); // the run's prompt
    assert.equal(typeof lines[0].prediction, "string");
    const noPrompt = cli("predict", model, images[0]!);
    assert.equal(noPrompt.code, 2, "a bare model needs --prompt");
    assert.match(noPrompt.err, /--prompt/);
  });

  test("report rewrites a self-contained report.html", async () => {
    await writeFile(join(run, "report.html"), "stale");
    const r = cli("report", run);
    assert.equal(r.code, 0, r.err);
    const html = await readFile(join(run, "report.html"), "utf-8");
    assert.match(html, /<svg/);
    assert.match(html, /eval_image_gap/);
    assert.match(html, /data:image\//, "thumbnails inline");
    assert.doesNotMatch(html, /<script|<link|src="http|href="http/i, "no script, no network");
  });

  test("train --strategy qlora prints the qlora plan and quantizes while loading", () => {
    const r = cli("train", data, "--out", join(tmp.path, "qlora-run"), "--model", model, "--strategy", "qlora", "--max-steps", "1",
      "--per-device-train-batch-size", "1", "--log-level", "error");
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /memory plan: qlora, B=1/);
    assert.match(r.err, /weights while loading\s+[\d.]+ [kMG]B\s+quantized while reading/);
    assert.match(r.out, /trained 1 steps/);
  });

  test("resume continues from the last checkpoint", () => {
    const r = cli("train", data, "--out", run, "--model", model, "--max-steps", "3", "--per-device-train-batch-size", "2", "--resume", "--log-level", "error");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /trained 3 steps/);
  });
});

describe("paligemma-ts help and usage errors", () => {
  for (const cmd of [[], ["job"], ["train"], ["predict"], ["evaluate"], ["report"], ["plan"], ["data"], ["smoke"]]) {
    for (const h of ["--help", "-h"]) {
      test(`${["paligemma-ts", ...cmd, h].join(" ")}`, () => {
        const r = cli(...cmd, h);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /usage: paligemma-ts/);
        assert.match(r.out, /example:/);
      });
    }
  }

  test("usage errors exit 2 with a suggestion", () => {
    const rows: [string[], RegExp][] = [
      [[], /usage: paligemma-ts <command>/], // no command
      [["trian"], /did you mean "train"/],
      [["train", "d", "--out", "r", "--learning_rat", "1"], /did you mean --learning-rate/],
      [["train", "d", "--out", "r", "--lora-alpah", "1"], /did you mean --lora-alpha/],
      [["train", "d"], /--out RUN_DIR/],
      [["train", "d", "--out", "r", "--max-steps", "many"], /--max-steps: expected a number/],
      [["evaluate", "r"], /--data DATA_DIR/],
      [["train", "d", "--out", "r", "--strategy", "lroa"], /did you mean "lora"/],
      [["job", "--task", "segmentatoin"], /unknown task/],
      [["report"], /exactly one RUN_DIR/],
      [["plan"], /exactly one MODEL_DIR/],
      [["plan", "m", "--strategy", "qlroa"], /did you mean "qlora"/],
    ];
    for (const [args, want] of rows) {
      const r = cli(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, want, args.join(" "));
    }
  });
});

describe("paligemma-ts plan", () => {
  const REAL_3B = join(repoRoot(), "test", "fixtures", "memory", "paligemma2-3b-pt-224");
  test("the real 3B config on WASM: QLoRA loads at 4.82 GB without a float32 model, and does not fit the 4 GiB heap", () => {
    const r = cli("plan", REAL_3B, "--strategy", "qlora", "--backend", "wasm", "--batch", "2", "--gradient-checkpointing");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^memory plan: qlora, B=2, T=384, gradient checkpointing$/m);
    assert.match(r.out, /weights while loading\s+4\.82 GB\s+quantized while reading \+ one tensor in transit/);
    assert.match(r.out, /limit\s+4\.29 GB\s+WASM heap of backend wasm: DOES NOT FIT/);
  });

  test("full fine-tuning plans float32 loading and AdamW over every parameter", () => {
    const r = cli("plan", REAL_3B, "--strategy", "full", "--backend", "cpu");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /weights while loading\s+13\.31 GB\s+float32, all resident/);
    assert.match(r.out, /AdamW moments\s+24\.26 GB/); // 2 × 3.03B × 4 bytes
  });
});
