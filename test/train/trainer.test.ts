/**
 * Trainer behaviour on the golden tiny model (cpu backend): the event stream, tensor memory across 20 steps,
 * checkpoints (layout, rotation, HF-loadable weights), NaN/Inf stops, freezing, gradient accumulation semantics,
 * evaluation, best model and early stopping. Parity of the numbers with HF is in parity.test.ts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { Trainer, type TrainerInit } from "../../src/train/trainer.js";
import type { TrainerEvent } from "../../src/train/events.js";
import { NonFiniteLossError } from "../../src/train/errors.js";
import { listCheckpoints, partialCheckpoints } from "../../src/train/checkpoint.js";
import { Golden, TINY } from "../helpers/golden.js";
import type { EvalPrediction } from "../../src/train/evaluate.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { useBackend } from "../helpers/backends.js";
import { GoldenCollator, goldenDataset, variedDataset } from "./golden-data.js";

await useBackend("wasm"); // the fastest backend always present (cpu is covered by parity.test.ts)
const collator = await GoldenCollator.load();
const load = () => PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "wasm" });
const snapshot = async (m: PaliGemmaForConditionalGeneration) => new Map([...(await m.stateDict())].map(([k, v]) => [k, v.data]));
function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => (tmp = await makeTmpDir("trainer-test-")));
after(async () => {
  await tmp.cleanup();
  collator.dispose();
});
let runId = 0;
const outDir = () => join(tmp.path, `run-${runId++}`);

function trainer(model: PaliGemmaForConditionalGeneration, o: Partial<TrainerInit> & { args?: TrainerInit["args"] }): Trainer {
  return new Trainer({ model, collator, trainDataset: variedDataset(6), ...o, args: { outputDir: outDir(), saveStrategy: "no", learningRate: 1e-3, perDeviceTrainBatchSize: 2, ...(o.args as object) } });
}

describe("Trainer events", () => {
  test("fixed vocabulary in order, to callbacks and to the async iterator alike", async () => {
    const model = await load();
    const seen: string[] = [];
    const logs: Record<string, number>[] = [];
    const t = trainer(model, {
      args: { maxSteps: 4, gradientAccumulationSteps: 1, loggingSteps: 2, saveStrategy: "steps", saveSteps: 4 },
      callbacks: [{
        onTrainBegin: () => void seen.push("trainBegin"), onEpochBegin: () => void seen.push("epochBegin"),
        onStepBegin: () => void seen.push("stepBegin"), onStepEnd: () => void seen.push("stepEnd"),
        onLog: (e) => void (seen.push("log"), logs.push({ ...e })), onSave: () => void seen.push("save"),
        onEpochEnd: () => void seen.push("epochEnd"), onTrainEnd: () => void seen.push("trainEnd"),
      }],
    });
    const iterated: TrainerEvent[] = [];
    const consumer = (async () => { for await (const e of t.events()) iterated.push(e); })();
    const out = await t.train();
    await consumer;
    // 6 examples / batch 2 = 3 steps per epoch; maxSteps 4 ends in epoch 2
    assert.deepEqual(seen, [
      "trainBegin", "epochBegin", "stepBegin", "stepEnd", "stepBegin", "stepEnd", "log", "stepBegin", "stepEnd", "epochEnd",
      "epochBegin", "stepBegin", "stepEnd", "log", "save", "epochEnd", "trainEnd",
    ]);
    assert.deepEqual(iterated.map((e) => e.type), seen);
    assert.equal(out.globalStep, 4);
    assert.deepEqual(logs.map((l) => l["step"]), [2, 4]);
    for (const l of logs) {
      for (const k of ["loss", "learningRate", "gradNorm", "epoch", "step", "samplesPerSecond"]) assert.ok(Number.isFinite(l[k]), `log.${k} = ${l[k]}`);
    }
    assert.ok(Math.abs(logs[1]!["epoch"]! - 4 / 3) < 1e-12, "fractional epoch as HF");
    // learningRate in logs = the scheduler's rate after the step (HF `_get_learning_rate`): linear, no warmup
    assert.ok(Math.abs(logs[0]!["learningRate"]! - 1e-3 * (4 - 2) / 4) < 1e-15);
    model.dispose();
  });

  test("control.shouldEvaluate / shouldSave set in onStepEnd evaluate and save after that step only (HF should_evaluate / should_save)", async () => {
    const model = await load();
    const dir = outDir();
    const evaluatedAt: number[] = [];
    const t = trainer(model, {
      evalDataset: variedDataset(2),
      args: { outputDir: dir, maxSteps: 5, perDeviceEvalBatchSize: 2, evalStrategy: "steps", evalSteps: 5, saveStrategy: "steps", saveSteps: 5, loggingSteps: 5 },
      callbacks: [{
        onStepEnd: (e, control) => void (e.step === 2 && (control.shouldEvaluate = control.shouldSave = true)),
        onEvaluate: (e) => void evaluatedAt.push(e.step),
      }],
    });
    await t.train();
    assert.deepEqual(evaluatedAt, [2, 5], "the flag at step 2, the strategy at step 5; cleared after acting");
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.step), [2, 5]);
    model.dispose();
  });

  test("a callback key that is not an event is rejected with the valid names", async () => {
    const model = await load();
    assert.throws(() => trainer(model, { callbacks: [{ onStep: () => {} } as never] }), /callbacks\[0\]\.onStep: not a Trainer event; use one of onTrainBegin/);
    model.dispose();
  });
});

describe("Trainer memory", () => {
  test("tf.memory().numTensors is flat across 20 training steps and back to the start after train()", async () => {
    const model = await load();
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const t = trainer(model, {
      trainDataset: variedDataset(5),
      args: { maxSteps: 20, perDeviceTrainBatchSize: 1, gradientAccumulationSteps: 2, loggingSteps: 3, weightDecay: 0.01, maxGradNorm: 0.5 },
      callbacks: [{ onStepEnd: () => void counts.push(tf.memory().numTensors) }],
    });
    await t.train();
    assert.equal(counts.length, 20);
    assert.deepEqual(counts, new Array(20).fill(counts[0]), `numTensors per step: ${counts.join(" ")}`);
    assert.equal(tf.memory().numTensors, before, "optimizer state freed after train()");
    model.dispose();
  });
});

describe("Trainer checkpoints", () => {
  test("checkpoint-N layout, HF trainer_state.json, rotation by saveTotalLimit, weights loadable by fromPretrained", async () => {
    const model = await load();
    const dir = outDir();
    const t = trainer(model, { args: { outputDir: dir, maxSteps: 5, saveStrategy: "steps", saveSteps: 2, saveTotalLimit: 2, loggingSteps: 1 } });
    await t.train();
    const cks = await listCheckpoints(dir);
    assert.deepEqual(cks.map((c) => c.step), [4, 5], "limit 2 keeps the newest two; the final step is saved (HF)");
    assert.deepEqual(await partialCheckpoints(dir), []);
    const files = (await readdir(cks[1]!.path)).sort();
    for (const f of ["config.json", "model.safetensors", "optimizer.safetensors", "rng_state.json", "scheduler.json", "trainer_state.json", "training_args.json"]) {
      assert.ok(files.includes(f), `${f} in ${files.join(", ")}`);
    }
    const state = JSON.parse(await readFile(join(cks[1]!.path, "trainer_state.json"), "utf-8"));
    assert.equal(state.global_step, 5);
    assert.equal(state.max_steps, 5);
    assert.deepEqual(state.log_history.filter((l: Record<string, number>) => "loss" in l).map((l: Record<string, number>) => l.step), [1, 2, 3, 4, 5]);
    const reloaded = await PaliGemmaForConditionalGeneration.fromPretrained(cks[1]!.path, { backend: "wasm" });
    const [a, b] = [await snapshot(model), await snapshot(reloaded)];
    for (const [k, v] of a) assert.equal(maxDiff(v, b.get(k)!), 0, k);
    reloaded.dispose();
    model.dispose();
  });

  test("NaN loss: stops naming the step and the last good checkpoint, which is kept", async () => {
    const model = await load();
    const dir = outDir();
    // sequential order, batch 1: example 4 is poisoned → step 5
    const ds = goldenDataset([{ row: 0 }, { row: 1 }, { row: 0, scale: 0.5 }, { row: 1, scale: 0.5 }, { row: 0, scale: "nan" }, { row: 1 }]);
    const t = trainer(model, { trainDataset: ds, trainDataOrder: "sequential", args: { outputDir: dir, perDeviceTrainBatchSize: 1, maxSteps: 6, saveStrategy: "steps", saveSteps: 2 } });
    const before = await snapshot(model);
    let ended = false;
    let lastEvent: TrainerEvent | undefined;
    const consumer = (async () => { try { for await (const e of t.events()) lastEvent = e; } catch (e) { ended = e instanceof NonFiniteLossError; } })();
    await assert.rejects(t.train(), (e: unknown) => {
      assert.ok(e instanceof NonFiniteLossError, String(e));
      assert.equal(e.step, 5);
      assert.equal(e.lastCheckpoint, join(dir, "checkpoint-4"));
      assert.match(e.message, /training stopped at step 5: the loss is NaN .*Last good checkpoint: .*checkpoint-4 \(kept\)/);
      return true;
    });
    await consumer;
    assert.ok(ended, "the event iterator ends with the error");
    assert.equal(lastEvent?.type, "trainEnd");
    assert.equal(lastEvent?.type === "trainEnd" && lastEvent.status, "failed", "trainEnd says the run failed");
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.step), [2, 4]);
    const after = await snapshot(model);
    const ck = await PaliGemmaForConditionalGeneration.fromPretrained(join(dir, "checkpoint-4"), { backend: "wasm" });
    const saved = await snapshot(ck);
    for (const [k, v] of after) {
      assert.ok(v.every(Number.isFinite), `${k} stays finite: the bad update was not applied`);
      assert.equal(maxDiff(v, saved.get(k)!), 0, `${k}: weights = checkpoint-4 (step 5 was not applied)`);
    }
    assert.ok(maxDiff(after.get("multi_modal_projector.linear.weight")!, before.get("multi_modal_projector.linear.weight")!) > 0);
    ck.dispose();
    model.dispose();
  });
});

describe("Trainer semantics", () => {
  test("freezing: variables with trainable=false stay bit-identical; the rest move", async () => {
    const model = await load();
    for (const [name, v] of model.namedParameters()) if (name.startsWith("vision_tower.")) v.trainable = false;
    const before = await snapshot(model);
    await trainer(model, { args: { maxSteps: 2, weightDecay: 0.1 } }).train();
    const after = await snapshot(model);
    for (const [k, v] of after) {
      if (k.startsWith("vision_tower.")) assert.equal(maxDiff(v, before.get(k)!), 0, `${k} frozen`);
      else if (!k.endsWith("k_proj.bias")) assert.ok(maxDiff(v, before.get(k)!) > 0, `${k} trained`);
    }
    model.dispose();
  });

  test("accumulation 2 × batch 1 = one batch of 2 when micro-batches hold equal label counts; ≠ when they do not", async () => {
    const run = async (rows: (0 | 1)[], bs: number, ga: number) => {
      const model = await load();
      await trainer(model, { trainDataset: goldenDataset(rows.map((row) => ({ row }))), trainDataOrder: "sequential",
        args: { perDeviceTrainBatchSize: bs, gradientAccumulationSteps: ga, maxSteps: 2, learningRate: 1e-2, adamEpsilon: 1e-4, maxGradNorm: 0 } }).train();
      const w = await snapshot(model);
      model.dispose();
      return w;
    };
    const worst = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => Math.max(...[...a].map(([k, v]) => maxDiff(v, b.get(k)!)));
    // rows 0 and 0.9-scaled... same row twice: equal label-token counts
    const same = worst(await run([0, 0, 0, 0], 1, 2), await run([0, 0, 0, 0], 2, 1));
    assert.ok(same <= 2e-6, `equal counts: max |Δ| ${same}`);
    // row 0 has 5 label tokens, row 1 has 3 (4 pads): the mean of micro-batch means ≠ the token mean of the pair
    const diff = worst(await run([0, 1, 0, 1], 1, 2), await run([0, 1, 0, 1], 2, 1));
    assert.ok(diff > 1e-4, `unequal counts differ (HF semantics: mean of micro-batch means): ${diff}`);
  });

  test("evaluate: eval_loss = batch-size-weighted mean of batch losses; computeMetrics gets generations and targets", async () => {
    const model = await load();
    const specs = [{ row: 0 as const }, { row: 1 as const }, { row: 1 as const, scale: 0.7 }];
    const evalDataset = goldenDataset(specs);
    const seen: { p?: EvalPrediction } = {};
    const t = trainer(model, { evalDataset, args: { perDeviceEvalBatchSize: 2, generationMaxNewTokens: 3 },
      computeMetrics: (p) => ((seen.p = p), { answers: p.predictions.length }) });
    const m = await t.evaluate();
    const lossOf = async (rows: typeof specs) => {
      const ds = goldenDataset(rows);
      const b = await collator.collate(await Promise.all(rows.map((_, i) => ds.get(i))));
      const out = model.forward(b);
      const v = out.loss!.dataSync()[0]!;
      tf.dispose([out.logits, out.loss!, b.pixelValues, b.inputIds, b.attentionMask, b.tokenTypeIds, b.labels!]);
      return v;
    };
    const expected = (2 * (await lossOf(specs.slice(0, 2))) + (await lossOf(specs.slice(2)))) / 3;
    assert.ok(Math.abs(m["eval_loss"]! - expected) < 1e-6, `${m["eval_loss"]} vs ${expected}`);
    assert.equal(m["eval_answers"], 3);
    assert.deepEqual(seen.p!.predictions.map((p) => p.length), [3, 3, 3]);
    // targets = the golden labels that are not −100 (suffix + eos), per example
    const g = await Golden.open();
    const labels = await g.array("inputs.labels");
    const L = labels.length / 2;
    await g.close();
    const target = (r: number) => labels.slice(r * L, (r + 1) * L).filter((y) => y !== -100);
    assert.deepEqual(seen.p!.labelIds, [target(0), target(1), target(1)]);
    model.dispose();
  });

  test("loadBestModelAtEnd restores the best checkpoint; early stopping stops after `patience` evaluations without improvement", async () => {
    const model = await load();
    const dir = outDir();
    const scores = [1, 3, 2.5, 2.9, 5, 6]; // best at evaluation 2; 2 evaluations without improvement → stop after 4
    let evals = 0;
    const t = trainer(model, {
      evalDataset: goldenDataset([{ row: 0 }]),
      computeMetrics: () => ({ score: scores[evals++]! }),
      args: { outputDir: dir, maxSteps: 6, evalStrategy: "steps", evalSteps: 1, saveStrategy: "steps", saveSteps: 1, generationMaxNewTokens: 1,
        saveTotalLimit: 1, loadBestModelAtEnd: true, metricForBestModel: "score", earlyStoppingPatience: 2, learningRate: 1e-2 },
    });
    let status = "";
    const out = await (async () => { const it = t.events(); const run = t.train(); for await (const e of it) if (e.type === "trainEnd") status = e.status ?? ""; return run; })();
    assert.equal(out.globalStep, 4, "stopped after evaluation 4");
    assert.equal(status, "stopped");
    const st = t.trainerState!;
    assert.equal(st.bestMetric, 3);
    assert.equal(st.bestModelCheckpoint, join(dir, "checkpoint-2"));
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.step), [2, 4], "limit 1 keeps the best and the newest (HF)");
    const best = await PaliGemmaForConditionalGeneration.fromPretrained(join(dir, "checkpoint-2"), { backend: "wasm" });
    const [ours, saved] = [await snapshot(model), await snapshot(best)];
    for (const [k, v] of ours) assert.equal(maxDiff(v, saved.get(k)!), 0, `${k} = checkpoint-2's`);
    const last = await PaliGemmaForConditionalGeneration.fromPretrained(join(dir, "checkpoint-4"), { backend: "wasm" });
    assert.ok(maxDiff((await snapshot(last)).get("multi_modal_projector.linear.weight")!, ours.get("multi_modal_projector.linear.weight")!) > 0);
    best.dispose();
    last.dispose();
    model.dispose();
  });
});
