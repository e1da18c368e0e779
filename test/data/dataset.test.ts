/**
 * JSONL datasets: the Roboflow layout, random access, describe(), and batching through a Collator (a fake one
 * making real TF.js tensors): sizes, dropLast, seeded shuffling per epoch, prefetch disposal on early exit,
 * errors from the collator.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { tf } from "../../src/tf.js";
import { useBackend } from "../helpers/backends.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { loadDataset, loadJsonlDataset, type JsonlDataset } from "../../src/data/dataset.js";
import { DatasetError } from "../../src/data/validate.js";
import type { ProgressEvent } from "../../src/events/progress.js";
import { formatDescription, numberStats } from "../../src/data/describe.js";
import { FakeCollator, hashTree, writeImage, writeLines } from "./util.js";

describe("loadDataset (Roboflow layout)", () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await makeTmpDir();
    const root = join(tmp.path, "ds");
    await writeImage(join(root, "train", "0.png"), 40, 30);
    await writeImage(join(root, "train", "1.jpg"), 50, 20, "jpeg");
    await writeImage(join(root, "valid", "v.png"), 10, 10);
    await writeLines(join(root, "train", "annotations.jsonl"), [
      { image: "0.png", prefix: "caption en", suffix: "a grey square" },
      { image: "1.jpg", prefix: "caption en", suffix: "a wide one" },
      { image: "../valid/v.png", prefix: "caption en", suffix: "inside the root: allowed" },
      "broken",
    ]);
    await writeLines(join(root, "valid", "annotations.jsonl"), [{ image: "v.png", prefix: "detect x", suffix: "" }]);
    await mkdir(join(tmp.path, "empty"));
  });
  after(() => tmp.cleanup());

  it("loads the splits present, leaves the missing one undefined, resolves images per split", async () => {
    const root = join(tmp.path, "ds");
    const warnings: string[] = [];
    const hash = await hashTree(root);
    const { train, valid, test } = await loadDataset(root, { onWarning: (w) => warnings.push(w) });
    assert.equal(test, undefined);
    assert.equal(train!.length, 3);
    assert.equal(valid!.length, 1);
    const ex = await train!.get(1);
    assert.equal(ex.image, resolve(root, "train", "1.jpg"));
    assert.equal(ex.suffix, "a wide one");
    assert.equal(ex.source, `${join(root, "train", "annotations.jsonl")}:2`);
    assert.equal((await train!.get(2)).image, resolve(root, "valid", "v.png"));
    assert.deepEqual(warnings, [`${join(root, "train", "annotations.jsonl")}:4: bad JSON (${jsonError("broken")}); each line must be one JSON object`, `${join(root, "train", "annotations.jsonl")}: loaded 3 of 4, skipped 1`]);
    await assert.rejects(train!.get(3), RangeError);
    await assert.rejects(train!.get(-1), RangeError);
    assert.equal(await hashTree(root), hash);
  });

  it("throws DatasetError when no split exists", async () => {
    await assert.rejects(loadDataset(join(tmp.path, "empty")), (e: unknown) => e instanceof DatasetError && /no train\/annotations\.jsonl/.test(e.message));
  });

  it("reports progress as load events: lines checked across the splits, one end; a failed load ends with its error", async () => {
    const events: ProgressEvent[] = [];
    await loadDataset(join(tmp.path, "ds"), { onWarning: () => undefined, onProgress: (e) => events.push(e) });
    assert.deepEqual([events[0]!.phase, events.at(-1)!.phase], ["begin", "end"]);
    assert.ok(events.every((e) => e.task === "load" && e.unit === "line"));
    assert.equal(events.filter((e) => e.phase === "end").length, 1);
    assert.equal(events.at(-1)!.done, 5, "4 train lines (one bad) + 1 valid line");
    const dones = events.map((e) => e.done);
    assert.deepEqual(dones, [...dones].sort((a, b) => a - b), "monotone");
    const failed: ProgressEvent[] = [];
    await assert.rejects(loadDataset(join(tmp.path, "ds"), { policy: "error", onProgress: (e) => failed.push(e) }));
    assert.match(failed.at(-1)!.error ?? "", /bad JSON/);
  });

  it('"error" policy stops at the bad line', async () => {
    await assert.rejects(loadDataset(join(tmp.path, "ds"), { policy: "error" }), (e: unknown) => e instanceof DatasetError && e.line === 4 && e.kind === "json");
  });

  it("describe(): counts, length histograms in characters or tokens, image sizes and formats", async () => {
    const { train } = await loadDataset(join(tmp.path, "ds"), { onWarning: () => undefined });
    const d = train!.describe();
    assert.equal(d.examples, 3);
    assert.equal(d.lines, 4);
    assert.equal(d.skipped, 1);
    assert.equal(d.uniqueImages, 3);
    assert.equal(d.uniquePrefixes, 1);
    assert.equal(d.lengthUnit, "characters");
    const lens = ["a grey square", "a wide one", "inside the root: allowed"].map((s) => s.length);
    assert.equal(d.suffixLength.min, Math.min(...lens));
    assert.equal(d.suffixLength.max, Math.max(...lens));
    assert.equal(d.suffixLength.histogram.counts.reduce((a, b) => a + b, 0), 3);
    assert.deepEqual([d.imageWidth.min, d.imageWidth.max, d.imageHeight.min, d.imageHeight.max], [10, 50, 10, 30]);
    assert.deepEqual(d.formats, { png: 2, jpeg: 1 });
    const words = { encode: (t: string) => t.split(" ").map((_, i) => i) };
    const dt = train!.describe({ tokenizer: words });
    assert.equal(dt.lengthUnit, "tokens");
    assert.deepEqual([dt.suffixLength.min, dt.suffixLength.max], [3, 4]);
    assert.match(formatDescription(d, "train"), /^train: 3 examples \(4 lines, 1 skipped\)/);
    assert.throws(() => train!.describe({ tokenizer: {} as never }), TypeError);
  });
});

describe("numberStats", () => {
  it("computes nearest-rank percentiles and integer-aligned bins (table)", () => {
    const rows: [number[], Partial<ReturnType<typeof numberStats>>][] = [
      [[], { count: 0, min: 0, max: 0 }],
      [[5], { count: 1, min: 5, max: 5, p50: 5, p95: 5, mean: 5 }],
      [[1, 2, 3, 4], { min: 1, max: 4, p50: 2, p95: 4, mean: 2.5 }],
      [[...Array(100).keys()], { p50: 49, p95: 94 }],
    ];
    for (const [vals, want] of rows) {
      const s = numberStats(vals);
      for (const [k, v] of Object.entries(want)) assert.equal(s[k as keyof typeof s], v, `${k} of ${vals.length} values`);
      assert.equal(s.histogram.counts.reduce((a, b) => a + b, 0), vals.length);
      assert.equal(s.histogram.edges.length, vals.length ? s.histogram.counts.length + 1 : 0);
    }
  });
});

describe("JsonlDataset.batches", () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let ds: JsonlDataset;
  const N = 11;
  before(async () => {
    await useBackend("cpu");
    tmp = await makeTmpDir();
    await writeImage(join(tmp.path, "img.png"), 8, 8);
    await writeLines(join(tmp.path, "annotations.jsonl"), [...Array(N).keys()].map((i) => ({ image: "img.png", prefix: "p", suffix: `s${i}` })));
    ds = await loadJsonlDataset(join(tmp.path, "annotations.jsonl"));
  });
  after(() => tmp.cleanup());

  /** The dataset lines each yielded batch holds (from the fake collator's inputIds column 0), disposing it. */
  async function collect(opts: Parameters<JsonlDataset["batches"]>[0]): Promise<number[][]> {
    const out: number[][] = [];
    for await (const b of ds.batches(opts)) {
      out.push((b.inputIds.arraySync() as number[][]).map((row) => row[0]));
      tf.dispose(Object.values(b));
    }
    return out;
  }

  it("yields ceil(N/B) batches in file order by default; dropLast drops the short one (table)", async () => {
    const rows: [number, boolean, number[]][] = [
      [4, false, [4, 4, 3]],
      [4, true, [4, 4]],
      [11, true, [11]],
      [1, false, Array(11).fill(1)],
      [20, false, [11]],
      [20, true, []],
    ];
    for (const [batchSize, dropLast, sizes] of rows) {
      const got = await collect({ batchSize, dropLast, collator: new FakeCollator() });
      assert.deepEqual(got.map((b) => b.length), sizes, `B=${batchSize} dropLast=${dropLast}`);
      if (!dropLast) assert.deepEqual(got.flat(), [...Array(N).keys()].map((i) => i + 1));
    }
  });

  it("shuffles deterministically: same seed+epoch → same order, a new epoch → a new permutation", async () => {
    const collator = new FakeCollator();
    const a = (await collect({ batchSize: 3, shuffle: true, seed: 42, collator })).flat();
    const b = (await collect({ batchSize: 3, shuffle: true, seed: 42, collator })).flat();
    const e1 = (await collect({ batchSize: 3, shuffle: true, seed: 42, epoch: 1, collator })).flat();
    const s2 = (await collect({ batchSize: 3, shuffle: true, seed: 43, collator })).flat();
    assert.deepEqual(a, b);
    assert.deepEqual([...a].sort((x, y) => x - y), [...Array(N).keys()].map((i) => i + 1), "a permutation");
    assert.notDeepEqual(a, e1);
    assert.notDeepEqual(a, [...Array(N).keys()].map((i) => i + 1));
    assert.deepEqual(e1, s2, "epoch e uses seed + e");
    assert.deepEqual(ds.order({ shuffle: true, seed: 42 }).map((i) => i + 1), a);
  });

  it("passes forGeneration to the collator and gives it Examples with sources", async () => {
    const collator = new FakeCollator();
    await collect({ batchSize: 5, collator, forGeneration: true, prefetch: 0 });
    assert.equal(collator.calls.length, 3);
    assert.deepEqual(collator.calls[0].options, { forGeneration: true });
    assert.equal(collator.calls[0].examples[2].suffix, "s2");
  });

  it("leaves no tensors behind when the consumer breaks early (prefetched batch disposed)", async () => {
    await collect({ batchSize: 2, collator: new FakeCollator() }); // warm up
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      for await (const b of ds.batches({ batchSize: 2, collator: new FakeCollator() })) {
        tf.dispose(Object.values(b));
        break; // the next batch was already being prepared
      }
    }
    assert.equal(tf.memory().numTensors, before);
  });

  it("propagates a collator error and disposes what was prefetched", async () => {
    const before = tf.memory().numTensors;
    await assert.rejects(collect({ batchSize: 2, collator: new FakeCollator(2) }), /collate failed on purpose/);
    assert.equal(tf.memory().numTensors, before);
  });

  it("rejects bad batch options (table)", async () => {
    const bad: [object, RegExp][] = [
      [{ batchSize: 0, collator: new FakeCollator() }, /batchSize/],
      [{ batchSize: 1.5, collator: new FakeCollator() }, /batchSize/],
      [{ batchSize: 2 }, /collator/],
      [{ batchSize: 2, collator: {} }, /collator/],
      [{ batchSize: 2, collator: new FakeCollator(), prefetch: 3 }, /prefetch/],
      [{ batchSize: 2, collator: new FakeCollator(), shuffle: true, seed: NaN }, /seed/],
    ];
    for (const [opts, re] of bad) await assert.rejects(collect(opts as never), re, JSON.stringify(opts));
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}
