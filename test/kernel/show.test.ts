import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { toBundle, show, showArguments, liveTraining, setTransport, MIME, TrainingProgress } from "../../kernel/index.js";
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
      ["sample with bytes + JSON suffix", { image: bytes, prefix: "extract", suffix: '{"a": 1}' }, {}, MIME.annotations, (b) => {
        const p = b.data[MIME.annotations] as AnnotationsPayload;
        assert.match(p.caption!, /"a": 1/);
        assert.deepEqual(p.layers, [], "no box layer for a JSON suffix");
        assert.doesNotMatch(b.data["text/plain"] as string, /boxes/);
        assert.match(b.data["text/plain"] as string, /"a": 1/, "the text form shows the JSON");
      }],
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
      ["a TrainingProgress", new TrainingProgress({ maxSteps: 3 }), {}, MIME.training, (b) => assert.equal((b.data[MIME.training] as TrainingPayload).maxSteps, 3)],
    ];
    for (const [what, x, options, mime, check] of rows) {
      const b = await toBundle(x, options);
      assert.ok(mime in b.data, `${what}: ${keys(b)}`);
      assert.equal(typeof b.data["text/plain"], "string", what);
      check(b);
    }
    assert.deepEqual(keys(await toBundle({ any: "thing" })), ["text/plain"]);
    // A built payload is dispatched by its view tag, not by its keys: a dataset payload whose keys look like a report's.
    const ds = (await toBundle([{ image: raw, prefix: "p", suffix: det }])).data[MIME.dataset] as DatasetPayload;
    assert.ok(MIME.dataset in (await toBundle({ ...ds, rows: [], sortKey: null })).data);
    // options.view: no guessing; a wrong shape says what the view needs.
    assert.ok(MIME.jsonDiff in (await toBundle({ expected: 1, actual: 2, extra: 3, more: 4 }, { view: "jsonDiff" })).data);
    await assert.rejects(toBundle({ a: 1 }, { view: "report" }), /view "report" needs \{ rows/);
    await assert.rejects(toBundle({ xyxy: [1, 2, 3, 4] }), /show\(detections, \{ image \}\)/);
  });
});

test("show(report) on evaluateModel's report renders every value (no −∞), in HTML and text", async () => {
  // The shape src/generate/evaluate.ts returns: aggregates are { value, higherIsBetter, details }.
  const report = {
    metrics: ["map", "f1"], count: 2, sortedBy: "f1",
    aggregates: { map: { value: 0.42, higherIsBetter: true, details: { precision50: 0.5, perClass: { cat: 0.4 } } }, f1: { value: 0.61, higherIsBetter: true, details: {} } },
    rows: [
      { index: 0, image: "<1234 bytes>", prefix: "detect cat", target: det, prediction: det, scores: { f1: 1 } },
      { index: 1, image: "/nonexistent/gone.jpg", prefix: "detect cat", target: det, prediction: "", scores: { f1: 0 } },
    ],
    generation: { maxNewTokens: 8 }, durationMs: 10,
  };
  const b = await toBundle(report, { title: "evaluation" });
  const p = b.data[MIME.report] as ReportPayload;
  assert.equal(p.title, "evaluation");
  assert.deepEqual(p.aggregates, { map: 0.42, "map.precision50": 0.5, f1: 0.61 });
  assert.deepEqual(p.higherIsBetter, { map: true, f1: true });
  assert.deepEqual(p.rows.map((r) => r.index), [1, 0], "sorted by sortedBy, worst first");
  for (const mime of ["text/html", "text/plain"]) {
    const t = b.data[mime] as string;
    assert.doesNotMatch(t, /−∞|NaN/, mime);
    assert.match(t, /0\.42/, mime);
    assert.match(t, /0\.61/, mime);
  }
});

test("liveProgress: ProgressEvents (and (done, total) pairs) as one output updated in place, final state always sent", async () => {
  const { liveProgress } = await import("../../kernel/index.js");
  const sent: [MimeBundle, { displayId?: string; update: boolean }][] = [];
  setTransport((b, t) => sent.push([b, t]));
  try {
    let t = 0;
    const onProgress = liveProgress({ now: () => t, intervalMs: 250 });
    onProgress({ task: "evaluate", phase: "begin", done: 0, total: 20, unit: "sample", elapsedMs: 0 });
    for (let i = 1; i < 20; i++) {
      t += 50;
      onProgress({ task: "evaluate", phase: "update", done: i, total: 20, unit: "sample", elapsedMs: t, metrics: { loss: 1 / i } });
    }
    onProgress({ task: "evaluate", phase: "end", done: 20, total: 20, unit: "sample", elapsedMs: t + 50 });
    assert.equal(new Set(sent.map(([, x]) => x.displayId)).size, 1, "one output");
    assert.ok(sent.length >= 3 && sent.length <= 2 + Math.ceil(1000 / 250) + 1, `${sent.length} updates`);
    const last = sent.at(-1)![0];
    const p = last.data[MIME.progress] as import("../../src/display/protocol.js").ProgressPayload;
    assert.deepEqual([p.view, p.status, p.done, p.total], ["progress", "done", 20, 20]);
    assert.equal(p.metrics.loss, 1 / 19, "metrics persist past events that omit them");
    assert.match(last.data["text/plain"] as string, /^evaluate 100% 20\/20 samples · 20 samples\/s · done in 1s · loss 0\.05263$/);
    assert.match(last.data["text/html"] as string, /aria-valuenow="20"/);
    // The (done, total) form, as evaluateModel's onProgress calls it today.
    sent.length = 0;
    const pairs = liveProgress({ intervalMs: 0 });
    pairs(1, 2);
    pairs(2, 2);
    const q = sent.at(-1)![0].data[MIME.progress] as import("../../src/display/protocol.js").ProgressPayload;
    assert.deepEqual([q.task, q.status, q.done, q.total, q.unit], ["evaluate", "done", 2, 2, "sample"]);
  } finally {
    setTransport(null);
  }
});

test("show and liveTraining: one output per show; the dashboard is one output updated in place, ≤ 2 updates/s, final state last", async () => {
  const sent: [MimeBundle, { displayId?: string; update: boolean }][] = [];
  setTransport((b, t) => sent.push([b, t]));
  try {
    await show({ expected: { a: 1 }, actual: { a: 1 } });
    assert.equal(sent.length, 1);
    let t = 0;
    const live = liveTraining({ maxSteps: 40, now: () => t });
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

test("LiveTraining is a Trainer callback: the Trainer's events (src/events/trainer.ts) drive the dashboard", async () => {
  const { liveTraining: live } = await import("../../kernel/live.js");
  type Callback = import("../../src/events/trainer.js").TrainerCallback;
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
    assert.deepEqual([p.maxSteps, p.step, p.status, p.checkpoints[0].path], [4, 4, "done", "out/checkpoint-2"]);
    assert.deepEqual(p.series.map((s) => s.name), ["loss", "learningRate", "gradNorm", "samplesPerSecond"], "every logged scalar is a curve");
    assert.deepEqual(p.evaluations, [{ step: 2, metrics: { eval_loss: 1.2 } }]);
  } finally {
    setTransport(null);
  }
});

test("show's positional forms equal their option forms; mismatched pairs say which form to use", async () => {
  const sample = { image: raw, prefix: "detect cat", suffix: det };
  const prediction = "<loc0102><loc0205><loc0511><loc0716> cat";
  const boxes = { xyxy: [[1, 2, 30, 40]], className: ["x"] };
  const sent: MimeBundle[] = [];
  setTransport((b) => sent.push(b));
  try {
    await show(sample, prediction);
    await show(sample, { prediction: prediction });
    await show(raw, boxes, { maskOpacity: 0.2 });
    await show(boxes, { image: raw, maskOpacity: 0.2 });
    assert.equal(sent.length, 4);
    const layers = (b: MimeBundle) => (b.data[MIME.annotations] as AnnotationsPayload).layers.map((l) => [l.role, l.boxes.length]);
    assert.deepEqual(layers(sent[0]), [["truth", 2], ["prediction", 1]]);
    assert.deepEqual(sent[0].data, sent[1].data, "show(sample, text) = show(sample, { prediction })");
    assert.deepEqual(layers(sent[2]), [["prediction", 1]]);
    assert.deepEqual(sent[2].data, sent[3].data, "show(image, detections) = show(detections, { image })");
  } finally {
    setTransport(null);
  }
  assert.deepEqual(showArguments(sample, undefined, { title: "t" }), [sample, { title: "t" }]);
  assert.throws(() => showArguments({ a: 1 }, "text"), /prediction text goes beside a sample/);
  assert.throws(() => showArguments(sample, boxes), /detections go beside the image/);
  assert.throws(() => showArguments(sample, { title: "t" }, { title: "u" }), /third argument/);
});
