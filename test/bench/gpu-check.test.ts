/**
 * The GPU check's CPU path: `bash bench/gpu/run.sh --cpu` runs the same four steps as on the NVIDIA machine (golden
 * tests, our LoRA Trainer steps, the PyTorch + PEFT peer in float32 and bfloat16, the report) on this machine's CPU
 * with the tiny model, and writes the same files. PyTorch comes from $PYTHON (python3 by default); where it lacks
 * torch, its rows must carry the error instead of numbers (the report still has one row per dtype).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { withTmpDir } from "../helpers/tmp.js";

test("bench/gpu/run.sh --cpu: golden tests, our LoRA steps, the PyTorch rows and the report", () => withTmpDir(async (out) => {
  const r = spawnSync("bash", [join(repoRoot(), "bench", "gpu", "run.sh"), "--cpu", "--out", out, "--budget", "400"], {
    encoding: "utf8",
    // NODE_TEST_CONTEXT would make the script's own `node --test` (the golden step) skip its file as a nested run
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_TEST_CONTEXT")), GPU_CHECK_BACKEND: "cpu", PALIGEMMA_BACKEND: "" },
    timeout: 420_000,
  });
  assert.equal(r.status, 0, r.stderr.slice(-2000));

  const golden = readFileSync(join(out, "golden.txt"), "utf8");
  assert.match(golden, /# pass 11\n/, golden.slice(-1500));
  assert.match(golden, /# fail 0\n/);

  const ours = readFileSync(join(out, "node.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(ours.length, 1);
  assert.equal(ours[0].model, "tiny");
  assert.equal(ours[0].backend, "cpu");
  assert.equal(ours[0].error, undefined);
  assert.equal(ours[0].trainable, 12_800); // LoRA r 8 on q/k/v/o/gate/up/down of the tiny model (PEFT counts the same)
  assert.ok(ours[0].samplesPerSecond > 0 && Number.isFinite(ours[0].loss), JSON.stringify(ours[0]));

  const torch = readFileSync(join(out, "torch.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(torch.map((t) => t.dtype), ["float32", "bfloat16"]);
  for (const t of torch) {
    if (t.error) assert.match(t.error, /\w+Error|exit/, JSON.stringify(t)); // e.g. no torch in $PYTHON
    else {
      assert.equal(t.trainable, 12_800, "PEFT's trainable count equals ours");
      assert.ok(t.samples_per_second > 0, JSON.stringify(t));
    }
  }

  const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  assert.deepEqual(results.golden, { pass: 11, fail: 0 });
  const md = readFileSync(join(out, "results.md"), "utf8");
  assert.match(md, /golden tests on cpu: 11 passed, 0 failed/);
  assert.match(md, /\| tiny \| 1 \| ours \(cpu\) \| float32 \| \d+\.\d{3} \|/);
  assert.equal(md.split("\n").filter((l) => l.startsWith("| tiny |")).length, 3);
}, "gpu-check-"));
