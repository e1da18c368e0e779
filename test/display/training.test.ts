import { test } from "node:test";
import assert from "node:assert/strict";
import { TrainingProgress, Throttle, TerminalProgress, formatProgressLine, renderProgressLine, dashboardCharts, trainingBundle, lineChartSvg, niceTicks, yRange, smoothSeries } from "../../src/display/index.js";
import type { ProgressEvent } from "../../src/events/progress.js";

function clock(start = 0) {
  let t = start;
  return { now: () => t, tick: (ms: number) => (t += ms) };
}

test("TrainingProgress: series, ETA from the step rate, evaluation, checkpoints, end state", () => {
  const c = clock(1000);
  const p = new TrainingProgress({ maxSteps: 10, numEpochs: 2, now: c.now });
  for (let s = 1; s <= 4; s++) {
    c.tick(500);
    p.onLog({ step: s, epoch: s / 5, loss: 4 / s, learningRate: 1e-4, samplesPerSecond: 8 });
  }
  let x = p.payload();
  assert.equal(x.step, 4);
  assert.equal(x.status, "running");
  assert.deepEqual(x.series.map((s) => s.name), ["loss", "learningRate", "samplesPerSecond"]);
  assert.deepEqual(x.series[0].points.map((q) => q.value), [4, 2, 4 / 3, 1]);
  assert.equal(x.etaSeconds, 3, "6 steps left at 0.5 s/step (measured from the first logged step)");
  assert.equal(x.elapsedSeconds, 2);
  p.onEvaluate({ step: 2, metrics: { eval_loss: 1.1, eval_f1: 0.3 } });
  p.onEvaluate({ step: 4, metrics: { eval_loss: 0.9, eval_f1: 0.5 } });
  p.onSave({ step: 4, checkpoint: "out/checkpoint-4" });
  x = p.payload();
  assert.deepEqual(x.evaluations, [{ step: 2, metrics: { eval_loss: 1.1, eval_f1: 0.3 } }, { step: 4, metrics: { eval_loss: 0.9, eval_f1: 0.5 } }], "the whole history");
  assert.equal(x.checkpoints[0].path, "out/checkpoint-4");
  assert.match(formatProgressLine(x), /^step 4\/10 · epoch 0\.8\/2 · 40% · ETA 3s · 8 samples\/s · loss 1 · lr 1e-4$/);
  p.onTrainEnd({ globalStep: 10 });
  x = p.payload();
  assert.equal(x.status, "done");
  assert.equal(x.etaSeconds, 0);
  assert.throws(() => p.onLog({ step: -1 }), /step/);
});

test("TrainingProgress thins long series instead of growing without bound", () => {
  const p = new TrainingProgress({ maxPoints: 100 });
  for (let s = 0; s < 1000; s++) p.onLog({ step: s, loss: s });
  const pts = p.payload().series[0].points;
  assert.ok(pts.length <= 100, `${pts.length} points`);
  assert.equal(pts.at(-1)!.step, 999, "the latest point is kept");
});

test("Throttle: at most one update per interval, forced updates always pass", () => {
  const c = clock();
  const t = new Throttle(500, c.now);
  let sent = 0;
  for (let i = 0; i < 20; i++) {
    if (t.ready()) sent++;
    c.tick(100); // 10 events/s for 2 s
  }
  assert.equal(sent, 4, "2 s at ≤ 2 updates/s");
  assert.equal(t.ready(true), true);
});

test("dashboard: every logged scalar (gradNorm too) and each eval metric's history get a chart; losses share one", () => {
  const p = new TrainingProgress({ maxSteps: 4 });
  for (let s = 1; s <= 4; s++) p.onLog({ step: s, loss: 2 / s, learningRate: 1e-4, gradNorm: s });
  p.onEvaluate({ step: 2, metrics: { eval_loss: 1.5, eval_f1: 0.2 } });
  p.onEvaluate({ step: 4, metrics: { eval_loss: 1.0, eval_f1: 0.6 } });
  const charts = dashboardCharts(p.payload());
  assert.deepEqual(charts.map((c) => [c.title, c.series.map((s) => s.name)]), [["loss", ["loss", "eval_loss"]], ["learningRate", ["learningRate"]], ["gradNorm", ["gradNorm"]], ["eval_f1", ["eval_f1"]]]);
  assert.deepEqual(charts[3].series[0].points, [{ step: 2, value: 0.2 }, { step: 4, value: 0.6 }]);
  const h = trainingBundle(p.payload()).data["text/html"] as string;
  assert.equal((h.match(/<svg /g) ?? []).length, 4, "one SVG per chart in the fallback");
  assert.match(h, /aria-label="evaluation history"/);
  assert.match(trainingBundle(p.payload()).data["text/plain"] as string, /eval @ 2: eval_loss 1\.5, eval_f1 0\.2\neval @ 4: eval_loss 1, eval_f1 0\.6/);
});

test("charts: round ticks on both axes, a constant series keeps a sane range, smoothing is TensorBoard's debiased EMA", () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 97, 4), [20, 40, 60, 80]);
  assert.deepEqual(yRange([1e-4, 1e-4]), [0.9e-4, 1.1e-4], "constant 1e-4: ±10 %, not −1…1");
  assert.deepEqual(yRange([0, 0]), [-1, 1]);
  const svg = lineChartSvg([{ name: "lr", points: [1, 2, 3].map((s) => ({ step: s, value: 1e-4 })) }], { title: "lr" });
  assert.ok((svg.match(/<line /g) ?? []).length >= 5, "grid lines and x ticks, not only min/max");
  assert.doesNotMatch(svg, />-1</);
  const s = smoothSeries([1, 0, 1, 0], 0.5);
  assert.equal(s[0], 1, "debiased: the first point is itself");
  assert.ok(Math.abs(s[1] - 1 / 3) < 1e-12 && s.every((v) => v >= 0 && v <= 1));
  assert.deepEqual(smoothSeries([1, 5, 2], 0), [1, 5, 2]);
  assert.throws(() => smoothSeries([1], 1), /smoothing/);
});

const ev = (phase: ProgressEvent["phase"], done: number, elapsedMs: number, extra: Partial<ProgressEvent> = {}): ProgressEvent => ({ task: "evaluate", phase, done, total: 20, unit: "sample", elapsedMs, ...extra });

test("renderProgressLine: pure, one line per event (bar, count, rate, ETA, metrics; failure; unknown total)", () => {
  const rows: [ProgressEvent, string][] = [
    [ev("begin", 0, 0), "evaluate   0% |                    | 0/20 samples"],
    [ev("update", 5, 2000, { metrics: { loss: 2.5 } }), "evaluate  25% |█████               | 5/20 samples · 2.5 samples/s · ETA 6s · loss 2.5"],
    [ev("end", 20, 4000, { label: "valid" }), "evaluate valid 100% |████████████████████| 20/20 samples · 5 samples/s · done in 4s"],
    [ev("end", 3, 1000, { error: "out of memory" }), "evaluate  15% |███                 | 3/20 samples · 3 samples/s · failed in 1s · error: out of memory"],
    [{ task: "generate", phase: "update", done: 40, unit: "token", elapsedMs: 2000 }, "generate 40 tokens · 20 tokens/s"],
  ];
  for (const [e, want] of rows) assert.equal(renderProgressLine(e), want.replace(/ {2,}(?=\d)/g, " "));
  assert.throws(() => renderProgressLine({} as ProgressEvent), /ProgressEvent/);
});

test("TerminalProgress: in place with \\r on a TTY (throttled, end always), one line per ~10 % otherwise", () => {
  const c = clock();
  const tty: string[] = [];
  const a = new TerminalProgress({ write: (s: string) => tty.push(s), isTTY: true }, { now: c.now, intervalMs: 100 });
  a.callback(ev("begin", 0, 0));
  for (let i = 1; i < 20; i++) {
    c.tick(20);
    a.callback(ev("update", i, c.now()));
  }
  a.callback(ev("end", 20, 400));
  assert.ok(tty.every((s) => s.startsWith("\r\x1b[2K")));
  assert.ok(tty.length >= 4 && tty.length <= 7, `${tty.length} redraws`);
  assert.match(tty.at(-1)!, /20\/20 samples.*done in 0s\n$/);
  // line(): above the bar while it is open (the bar redrawn below), a plain line once it has ended.
  const c2: string[] = [];
  const d = new TerminalProgress({ write: (s: string) => c2.push(s), isTTY: true });
  d.callback(ev("begin", 0, 0));
  d.logger.info("saved checkpoint-1");
  assert.equal(c2.at(-1), `\r\x1b[2Ksaved checkpoint-1\n${renderProgressLine(ev("begin", 0, 0))}`);
  d.callback(ev("end", 20, 100));
  d.line("done");
  assert.equal(c2.at(-1), "done\n");
  const log: string[] = [];
  const b = new TerminalProgress({ write: (s: string) => log.push(s) });
  b.callback(ev("begin", 0, 0));
  for (let i = 1; i < 100; i++) b.callback({ ...ev("update", i, i * 10), total: 100 });
  b.callback({ ...ev("end", 100, 1000), total: 100 });
  assert.equal(log.length, 11, "begin, 10 %, 20 %, …, 90 %, end");
  assert.ok(log.every((l) => l.endsWith("\n") && !l.includes("\r")));
  // Unknown total, not a TTY: one line per logIntervalMs (and the first and the last).
  const c3 = clock();
  const u: string[] = [];
  const g = new TerminalProgress({ write: (s: string) => u.push(s) }, { now: c3.now, logIntervalMs: 1000 });
  g.callback({ task: "generate", phase: "begin", done: 0, unit: "token", elapsedMs: 0 });
  for (let i = 1; i <= 50; i++) {
    c3.tick(100);
    g.callback({ task: "generate", phase: "update", done: i, unit: "token", elapsedMs: c3.now() });
  }
  g.callback({ task: "generate", phase: "end", done: 50, unit: "token", elapsedMs: 5000 });
  assert.equal(u.length, 1 + 5 + 1, "begin, one per second for 5 s, end");
});
