import { test } from "node:test";
import assert from "node:assert/strict";
import { TrainingProgress, Throttle, TerminalProgress, formatProgressLine } from "../../src/display/index.js";

function clock(start = 0) {
  let t = start;
  return { now: () => t, tick: (ms: number) => (t += ms) };
}

test("TrainingProgress: series, ETA from the step rate, evaluation, checkpoints, end state", () => {
  const c = clock(1000);
  const p = new TrainingProgress({ totalSteps: 10, numEpochs: 2, now: c.now });
  for (let s = 1; s <= 4; s++) {
    c.tick(500);
    p.onLog({ step: s, epoch: s / 5, loss: 4 / s, learningRate: 1e-4, samplesPerSecond: 8 });
  }
  let x = p.payload();
  assert.equal(x.step, 4);
  assert.equal(x.status, "running");
  assert.deepEqual(x.series.map((s) => s.name), ["loss", "learningRate"]);
  assert.deepEqual(x.series[0].points.map((q) => q.value), [4, 2, 4 / 3, 1]);
  assert.equal(x.etaSeconds, 3, "6 steps left at 0.5 s/step (measured from the first logged step)");
  assert.equal(x.elapsedSeconds, 2);
  p.onEvaluate({ step: 4, metrics: { loss: 0.9, f1: 0.5 } });
  p.onSave({ step: 4, path: "out/checkpoint-4" });
  x = p.payload();
  assert.deepEqual(x.evaluation, { step: 4, metrics: { loss: 0.9, f1: 0.5 } });
  assert.deepEqual(x.series.find((s) => s.name === "evalLoss")?.points, [{ step: 4, value: 0.9 }]);
  assert.equal(x.checkpoints[0].path, "out/checkpoint-4");
  assert.match(formatProgressLine(x), /^step 4\/10 · epoch 0\.8\/2 · 40% · ETA 3s · 8 samples\/s · loss 1 · lr 1e-4$/);
  p.onTrainEnd({ step: 10 });
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

test("TerminalProgress: the same events as a throttled progress line (in place on a TTY)", () => {
  const c = clock();
  const out: string[] = [];
  const bar = new TerminalProgress({ write: (s: string) => out.push(s), isTTY: true }, { totalSteps: 3, now: c.now });
  bar.onLog({ step: 1, loss: 1 });
  bar.onLog({ step: 2, loss: 0.5 }); // throttled
  bar.onTrainEnd({ step: 3 });
  assert.equal(out.length, 3);
  assert.match(out[0], /^\r\x1b\[2Kstep 1\/3 · 33% /);
  assert.match(out[1], /step 3\/3 · 100% · done in 0s · loss 0\.5/);
  assert.equal(out[2], "\n");
});
