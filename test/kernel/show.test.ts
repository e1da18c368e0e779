import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { toBundle, show, liveTraining, setTransport, MIME, TrainingProgress } from "../../kernel/index.js";
import type { MimeBundle } from "../../src/display/bundle.js";
import type { AnnotationsPayload, JsonDiffPayload, ReportPayload, DatasetPayload, TrainingPayload } from "../../src/display/protocol.js";
import { withTmpDir } from "../helpers/tmp.js";
import { join } from "node:path";

const raw = { data: new Uint8Array(100 * 50 * 3).fill(60), width: 100, height: 50, channels: 3 as const };
const det = "<loc0102><loc0205><loc0511><loc0716> cat ; <loc0000><loc0000><loc0300><loc0300> dog";
const keys = (b: MimeBundle) => Object.keys(b.data).sort();

test("show dispatch: samples, predictions, detections, JSON pairs, reports, datasets, histories, payloads", async () => {
  await withTmpDir(async (dir) => {
    const file = join(dir, "a.png");
    await sharp(raw.data, { raw: { width: 100, height: 50, channels: 3 } }).png().toFile(file);
    const bytes = new Uint8Array(await sharp(file).jpeg().toBuffer());
    // [what, input, options, expected vendor MIME, check]
    const rows: [string, unknown, object, string, (b: MimeBundle) => void][] = [
      ["sample with a file path + <loc> suffix", { image: file, prefix: "detect cat ; dog", suffix: det }, {}, MIME.annotations, (b) => {
        const p = b.data[MIME.annotations] as AnnotationsPayload;
        assert.deepEqual(p.layers.map((l) => [l.role, l.boxes.length]), [["truth", 2]]);
        assert.match(p.caption!, /detect cat ; dog/);
        assert.ok(keys(b).includes("image/png"));
      }],
      ["sample with bytes + JSON suffix", { image: bytes, prefix: "extract", suffix: '{"a": 1}' }, {}, MIME.annotations, (b) => assert.match((b.data[MIME.annotations] as AnnotationsPayload).caption!, /"a": 1/)],
      ["prediction vs target (detection)", { image: raw, prefix: "detect cat", suffix: det }, { prediction: "<loc0102><loc0205><loc0511><loc0716> cat" }, MIME.annotations, (b) => {
        assert.deepEqual((b.data[MIME.annotations] as AnnotationsPayload).layers.map((l) => l.boxes.length), [2, 1]);
      }],
      ["prediction vs target (JSON)", { image: raw, prefix: "extract", suffix: '{"a": 1, "b": 2}' }, { prediction: '{"a": 1, "b": 3}' }, MIME.jsonDiff, (b) => assert.equal((b.data[MIME.jsonDiff] as JsonDiffPayload).counts.changed, 1)],
      ["{ image, prediction, truth } detections", { image: raw, prediction: { xyxy: [[1, 2, 30, 40]], className: ["x"] }, truth: [] }, { layout: "side-by-side" }, MIME.annotations, (b) => assert.equal((b.data[MIME.annotations] as AnnotationsPayload).options.layout, "side-by-side")],
      ["Detections + options.image", { xyxy: [1, 2, 30, 40], className: ["x"], confidence: [0.5] }, { image: raw }, MIME.annotations, (b) => assert.equal((b.data[MIME.annotations] as AnnotationsPayload).layers[0].boxes[0].confidence, 0.5)],
      ["{ expected, actual }", { expected: { a: 1 }, actual: '{"a": 2}' }, {}, MIME.jsonDiff, (b) => assert.equal((b.data[MIME.jsonDiff] as JsonDiffPayload).counts.changed, 1)],
      ["many pairs", [{ expected: { a: 1 }, actual: { a: 1 } }, { expected: { a: 1 }, actual: { a: 2 } }], {}, MIME.jsonDiff, (b) => assert.equal((b.data[MIME.jsonDiff] as JsonDiffPayload).samples, 2)],
      ["evaluation report", { rows: [{ prefix: "p", target: "t", prediction: "x", scores: { s: 0.9 } }, { prefix: "p", target: "t", prediction: "y", scores: { s: 0.1 } }], aggregates: { s: 0.5 } }, {}, MIME.report, (b) => {
        assert.deepEqual((b.data[MIME.report] as ReportPayload).rows.map((r) => r.index), [1, 0], "worst first");
      }],
      ["dataset-like", { length: 3, get: async () => ({ image: raw, prefix: "detect cat", suffix: det }), describe: () => ({ examples: 3, skipped: 1 }) }, {}, MIME.dataset, (b) => {
        const p = b.data[MIME.dataset] as DatasetPayload;
        assert.equal(p.items.length, 3);
        assert.deepEqual(p.counts, { examples: 3, skipped: 1, "classes (shown)": 2 });
        assert.equal(p.items[0].label, "cat, dog");
      }],
      ["log history", [{ step: 1, loss: 2 }, { step: 2, loss: 1 }], {}, MIME.training, (b) => assert.equal((b.data[MIME.training] as TrainingPayload).status, "done")],
      ["a TrainingProgress", new TrainingProgress({ totalSteps: 3 }), {}, MIME.training, (b) => assert.equal((b.data[MIME.training] as TrainingPayload).totalSteps, 3)],
    ];
    for (const [what, x, options, mime, check] of rows) {
      const b = await toBundle(x, options);
      assert.ok(mime in b.data, `${what}: ${keys(b)}`);
      assert.equal(typeof b.data["text/plain"], "string", what);
      check(b);
    }
    assert.deepEqual(keys(await toBundle({ any: "thing" })), ["text/plain"]);
    await assert.rejects(toBundle({ xyxy: [1, 2, 3, 4] }), /show\(detections, \{ image \}\)/);
  });
});

test("show and liveTraining: one output per show; the dashboard is one output updated in place, ≤ 2 updates/s, final state last", async () => {
  const sent: [MimeBundle, { displayId?: string; update: boolean }][] = [];
  setTransport((b, t) => sent.push([b, t]));
  try {
    await show({ expected: { a: 1 }, actual: { a: 1 } });
    assert.equal(sent.length, 1);
    let t = 0;
    const live = liveTraining({ totalSteps: 40, now: () => t });
    for (let s = 1; s <= 40; s++) {
      t += 50; // 20 steps/s for 2 s
      live.onLog({ step: s, loss: 1 / s, learningRate: 1e-3 });
    }
    live.onTrainEnd({});
    const updates = sent.slice(1);
    assert.ok(new Set(updates.map(([, x]) => x.displayId)).size === 1, "one display id");
    assert.deepEqual(updates.map(([, x]) => x.update), [false, ...Array(updates.length - 1).fill(true)]);
    assert.ok(updates.length <= 2 + 2 * 2, `${updates.length} updates in 2 s (initial + ≤ 2/s + final)`);
    const last = updates.at(-1)![0].data[MIME.training] as TrainingPayload;
    assert.equal(last.status, "done");
    assert.equal(last.step, 40);
    assert.equal(last.series[0].points.length, 40, "throttling drops renders, not data");
  } finally {
    setTransport(null);
  }
});

test("plot: inline SVG lines (no script), text summary", async () => {
  const { plotBundle } = await import("../../kernel/plot.js");
  const b = plotBundle({ "<b>loss</b>": [3, 2, 1], lr: [[0, 1], [10, 0.5]] }, { title: "curves" });
  assert.equal((b.data["text/html"].match(/<polyline /g) ?? []).length, 2);
  assert.ok(b.data["text/html"].includes("&lt;b&gt;loss&lt;/b&gt;"));
  assert.doesNotMatch(b.data["text/html"], /<script|<b>/);
  assert.equal(b.data["text/plain"], "<b>loss</b>: 3 points, last 1\nlr: 2 points, last 0.5");
});

test("LiveTraining is a Trainer callback: the Trainer's events (src/train/events.ts) drive the dashboard", async () => {
  const { liveTraining: live } = await import("../../kernel/live.js");
  type Callback = import("../../src/train/events.js").TrainerCallback;
  const sent: MimeBundle[] = [];
  setTransport((b) => sent.push(b));
  try {
    const l = live({ intervalMs: 0 });
    const cb: Callback = l; // compile-time: assignable to the Trainer's callback type
    const control = { shouldTrainingStop: false };
    await cb.onTrainBegin?.({ maxSteps: 4, numEpochs: 1, globalStep: 0, trainableParameters: 10, resumedFrom: null }, control);
    await cb.onLog?.({ step: 2, epoch: 0.5, loss: 1.5, learningRate: 1e-4, gradNorm: 0.7, samplesPerSecond: 3 }, control);
    await cb.onEvaluate?.({ step: 2, epoch: 0.5, metrics: { eval_loss: 1.2 } }, control);
    await cb.onSave?.({ step: 2, checkpoint: "out/checkpoint-2" }, control);
    await cb.onTrainEnd?.({ globalStep: 4, metrics: { trainRuntime: 1, trainSamplesPerSecond: 3, trainStepsPerSecond: 1, trainLoss: 1.4, epoch: 1 }, bestModelCheckpoint: null }, control);
    const p = sent.at(-1)!.data[MIME.training] as TrainingPayload;
    assert.deepEqual([p.totalSteps, p.step, p.status, p.checkpoints[0].path], [4, 4, "done", "out/checkpoint-2"]);
    assert.deepEqual(p.series.map((s) => s.name), ["loss", "learningRate", "gradNorm", "evalLoss"]);
  } finally {
    setTransport(null);
  }
});
