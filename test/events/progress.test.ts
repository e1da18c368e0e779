/** The progress vocabulary: one begin, updates, one end, elapsed time from one clock, silent without a callback. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProgressEmitter, type ProgressEvent } from "../../src/events/progress.js";

test("an emitter sends begin, updates and a single end with elapsed time", () => {
  const seen: ProgressEvent[] = [];
  let t = 1000;
  const p = new ProgressEmitter((e) => seen.push(e), { task: "evaluate", total: 3, unit: "sample" }, () => t);
  t = 1250;
  p.update(1, { bleu: 12.5 });
  t = 1500;
  p.end(3);
  p.end(3); // ignored
  assert.deepEqual(seen.map((e) => [e.phase, e.done, e.elapsedMs]), [["begin", 0, 0], ["update", 1, 250], ["end", 3, 500]]);
  assert.deepEqual(seen[1]!.metrics, { bleu: 12.5 });
  assert.equal(seen[2]!.total, 3);
  assert.equal(seen[2]!.task, "evaluate");
});

test("a failed end carries the error; no callback means no work", () => {
  const seen: ProgressEvent[] = [];
  new ProgressEmitter((e) => seen.push(e), { task: "load" }).end(2, undefined, "bad line");
  assert.equal(seen.at(-1)!.error, "bad line");
  assert.doesNotThrow(() => new ProgressEmitter(undefined, { task: "train" }).update(1));
});
