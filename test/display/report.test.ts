import { test } from "node:test";
import assert from "node:assert/strict";
import { MIME, buildReport, encodeMaskRle, decodeMaskRle, maskRleArea, type ReportRowInput } from "../../src/display/index.js";

const image = { data: new Uint8Array(64 * 48 * 3).fill(100), width: 64, height: 48, channels: 3 as const };

test("buildReport: worst first (or highest first for errors), keeps the worst maxRows, detail views by task", async () => {
  const rows: ReportRowInput[] = [
    { image, prefix: "detect cat", target: "<loc0100><loc0100><loc0500><loc0500> cat", prediction: "<loc0100><loc0100><loc0520><loc0500> cat", scores: { iou: 0.9 } },
    { image, prefix: "detect cat", target: "<loc0100><loc0100><loc0500><loc0500> cat", prediction: "garbage", scores: { iou: 0 } },
    { prefix: "extract", target: '{"a": 1}', prediction: '{"a": 2}', scores: { iou: 0.5 } },
    { prefix: "caption", target: "a cat", prediction: "a dog", scores: {} },
  ];
  const p = await buildReport({ rows, aggregates: { iou: 0.47 } }, { maxRows: 3 });
  assert.deepEqual(p.rows.map((r) => r.index), [3, 1, 2], "rows without the score first, then ascending");
  assert.equal(p.omittedRows, 1);
  assert.equal(p.rows[1].detail?.mime, MIME.annotations);
  assert.deepEqual((p.rows[1].detail!.payload as { layers: { boxes: unknown[] }[] }).layers.map((l) => l.boxes.length), [1, 0], "unparsable prediction: no boxes, no throw");
  assert.equal(p.rows[2].detail?.mime, MIME.jsonDiff);
  assert.equal(p.rows[0].detail, undefined, "plain text: no detail view");
  assert.ok(p.rows[1].thumbnail!.width <= 96);
  const q = await buildReport({ rows }, { sortKey: "iou", higherIsWorse: true });
  assert.deepEqual(q.rows.map((r) => r.index), [3, 0, 2, 1], "descending; rows without the score still first");
  await assert.rejects(buildReport({ rows: [{ prefix: "x", target: 1, prediction: "y" }] as never }), /rows\[0\]\.target/);
});

test("mask RLE: round trip on the same grid, nearest resampling to a smaller grid, validation", () => {
  const w = 7, h = 5;
  const m = new Uint8Array(w * h);
  for (const i of [0, 1, 9, 10, 11, 34]) m[i] = 1;
  const rle = encodeMaskRle(m, w, h);
  assert.deepEqual(Array.from(decodeMaskRle(rle)), Array.from(m));
  assert.equal(rle.counts[0], 0, "starts with an (empty) 0-run when pixel 0 is set");
  assert.equal(maskRleArea(rle), 6);
  const big = new Uint8Array(100 * 100);
  for (let y = 20; y < 60; y++) big.fill(1, y * 100 + 10, y * 100 + 50);
  const small = decodeMaskRle(encodeMaskRle(big, 100, 100, 10, 10));
  assert.equal(small.reduce((a, b) => a + b, 0), 16, "the 40×40 square → 4×4 on a 10×10 grid");
  assert.equal(small[2 * 10 + 1], 1);
  assert.throws(() => decodeMaskRle({ width: 2, height: 2, counts: [1, 1] }), /cover 2 of 4/);
  assert.throws(() => encodeMaskRle(new Uint8Array(3), 2, 2), /expected 2·2/);
});

test("report fallback: detection rows show their boxes (coloured by outcome, titled with IoU), text left-aligned", async () => {
  const { reportHtml } = await import("../../src/display/index.js");
  const p = await buildReport({ rows: [
    { image, prefix: "detect cat", target: "<loc0100><loc0100><loc0500><loc0500> cat", prediction: "<loc0100><loc0100><loc0520><loc0500> cat ; <loc0600><loc0600><loc0900><loc0900> cat", scores: { f1: 0.67 } },
  ] });
  const h = reportHtml(p);
  assert.equal((h.match(/<rect /g) ?? []).length, 3, "one rect per box: 1 truth + 2 predictions");
  assert.match(h, /stroke="#2e9e44"[^>]*stroke-dasharray="4 3"><title>cat \(ground truth\) · true positive · IoU 0\.95<\/title>/);
  assert.match(h, /stroke="#e53935"[^>]*><title>cat \(prediction\) · false positive · IoU 0<\/title>/);
  assert.match(h, /missed/, "the outcome key is shown");
  assert.match(h, /<td style="text-align:left[^"]*">detect cat<\/td>/, "text cells left-aligned");
});
