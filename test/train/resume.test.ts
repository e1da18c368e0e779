/**
 * Crash and resume with a real child process: a run is SIGKILLed mid-training and again in the middle of writing
 * a checkpoint, resumed twice from the newest checkpoint, and must end with exactly the weights and optimizer
 * state of an uninterrupted run. Complete `checkpoint-N` directories are the only ones that ever appear; the
 * temporary directory a killed writer leaves is removed by the next run.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SafetensorsFile } from "../../src/io/safetensors.js";
import { listCheckpoints, partialCheckpoints } from "../../src/train/checkpoint.js";
import { makeTmpDir } from "../helpers/tmp.js";

const SCRIPT = fileURLToPath(new URL("./fixtures/train-run.js", import.meta.url));
const COMPLETE = ["config.json", "model.safetensors", "optimizer.safetensors", "rng_state.json", "scheduler.json", "trainer_state.json", "training_args.json"];

/** Run the fixture; resolve with its stdout lines and exit signal. `killWhen` sees each line and may ask for SIGKILL. */
function run(dir: string, flags: string[], killWhen?: (line: string) => boolean): Promise<{ lines: string[]; code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, dir, ...flags], { stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    let err = "";
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (killWhen?.(line)) child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`train-run exited ${code}: ${err}`));
      else resolve({ lines, code, signal });
    });
  });
}

async function assertOnlyCompleteCheckpoints(dir: string): Promise<number[]> {
  const cks = await listCheckpoints(dir);
  for (const c of cks) {
    const files = await readdir(c.path);
    for (const f of COMPLETE) assert.ok(files.includes(f), `${c.path} is complete: lacks ${f}`);
    JSON.parse(await readFile(join(c.path, "trainer_state.json"), "utf-8"));
  }
  return cks.map((c) => c.step);
}

async function tensors(path: string): Promise<Map<string, Float32Array>> {
  const f = await SafetensorsFile.open(path);
  try {
    const out = new Map<string, Float32Array>();
    for (const k of f.keys()) out.set(k, (await f.read(k)).data as Float32Array);
    return out;
  } finally {
    await f.close();
  }
}

describe("resume after SIGKILL (real child processes)", () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => (tmp = await makeTmpDir("resume-test-")));
  after(async () => tmp.cleanup());

  test("killed mid-training and mid-checkpoint, resumed twice = uninterrupted run, bit for bit", async () => {
    const ref = join(tmp.path, "uninterrupted");
    const crashy = join(tmp.path, "crashy");
    const full = await run(ref, []);
    assert.equal(full.lines.at(-1), "done");

    // 1. SIGKILL as soon as step 3 is reported (wherever the child then is: mid-step 4 or writing checkpoint-4)
    const a = await run(crashy, [], (l) => l === "step 3");
    assert.equal(a.signal, "SIGKILL");
    const afterA = await assertOnlyCompleteCheckpoints(crashy);
    assert.ok(afterA.includes(2), `checkpoint-2 survived: ${afterA}`);

    // 2. resume, then SIGKILL in the middle of writing checkpoint-6 (model written, optimizer state not yet)
    const b = await run(crashy, ["--resume", "--hang-at-save", "6"], (l) => l === "hang 6");
    assert.equal(b.signal, "SIGKILL");
    assert.equal(b.lines[0], `step ${Math.max(...afterA) + 1}`, "the resumed run continues after the newest checkpoint");
    assert.deepEqual(await assertOnlyCompleteCheckpoints(crashy), [2, 4], "no checkpoint-6: its write was killed");
    const leftovers = await partialCheckpoints(crashy);
    assert.equal(leftovers.length, 1, `the killed writer left its temporary directory: ${leftovers}`);
    assert.match(leftovers[0]!, /^tmp-checkpoint-6-/);

    // 3. resume from checkpoint-4 and finish
    const c = await run(crashy, ["--resume"]);
    assert.deepEqual(c.lines, ["step 5", "step 6", "step 7", "step 8", "done"]);
    assert.deepEqual(await partialCheckpoints(crashy), [], "no partial checkpoint directory remains");
    assert.deepEqual(await assertOnlyCompleteCheckpoints(crashy), [6, 8]);
    assert.deepEqual(await assertOnlyCompleteCheckpoints(ref), [6, 8]);

    for (const file of ["model.safetensors", "optimizer.safetensors"]) {
      const [x, y] = [await tensors(join(ref, "checkpoint-8", file)), await tensors(join(crashy, "checkpoint-8", file))];
      assert.deepEqual([...x.keys()].sort(), [...y.keys()].sort());
      for (const [k, v] of x) {
        const w = y.get(k)!;
        let d = 0;
        for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs(v[i]! - w[i]!));
        assert.equal(d, 0, `${file} ${k}: max |Δ| ${d}`);
      }
    }
    const logs = async (d: string) => JSON.parse(await readFile(join(d, "checkpoint-8", "trainer_state.json"), "utf-8"))
      .log_history.filter((l: Record<string, number>) => "loss" in l).map((l: Record<string, number>) => [l.step, l.loss, l.grad_norm]);
    assert.deepEqual(await logs(crashy), await logs(ref), "the same losses and gradient norms at every step");
  });
});
