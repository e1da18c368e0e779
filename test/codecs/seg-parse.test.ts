/**
 * Generated segmentation text → Detections with masks (codecs/segmentation.ts): the converter's suffix format
 * parses back to the objects' masks, invalid objects are dropped, random text never throws, and the registry's
 * mask metrics run on text through `segmentationParser`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { VqVae } from "../../src/codecs/vqvae/model.js";
import { segEncoder } from "../../src/codecs/seg.js";
import { segmentationFromPaligemma, segmentationParser } from "../../src/codecs/segmentation.js";
import { encodeBoxLocs, formatLocObjects } from "../../src/codecs/loc.js";
import { evaluate } from "../../src/eval/registry.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { useBackend } from "../helpers/backends.js";
import { analyticVaeWeights, writeNpz } from "./seg-helpers.js";
import { mulberry32, randomModelText } from "../eval/random-text.js";

await useBackend("cpu");
const W = 96;
const H = 64;
const size = { imageWidth: W, imageHeight: H };
let vae: VqVae;
let cleanup: () => Promise<void>;
before(async () => {
  const tmp = await makeTmpDir();
  cleanup = tmp.cleanup;
  await writeNpz(join(tmp.path, "vae.npz"), analyticVaeWeights());
  vae = await VqVae.load(join(tmp.path, "vae.npz"));
});
after(async () => {
  vae.dispose();
  await cleanup();
});

function rect(x1: number, y1: number, x2: number, y2: number): Uint8Array {
  const m = new Uint8Array(W * H);
  for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) m[y * W + x] = 1;
  return m;
}

function suffixFor(objs: { mask: Uint8Array; xyxy: [number, number, number, number]; label: string }[]): string {
  return formatLocObjects(objs.map((o) => ({ locs: encodeBoxLocs(o.xyxy, size), segs: segEncoder(vae).encode({ data: o.mask, width: W, height: H }, o.xyxy), label: o.label })));
}

test("a segmentation suffix parses back to boxes, classes and masks", () => {
  const a = { mask: rect(8, 8, 40, 40), xyxy: [8, 8, 40, 40] as [number, number, number, number], label: "cat" };
  const b = { mask: rect(50, 10, 90, 60), xyxy: [50, 10, 90, 60] as [number, number, number, number], label: "dog" };
  const text = suffixFor([a, b]);
  const d = segmentationFromPaligemma(text, vae, { ...size, classes: ["cat", "dog"] });
  assert.equal(d.length, 2);
  assert.deepEqual(Array.from(d.classId), [0, 1]);
  assert.equal(d.mask!.width, W);
  [a, b].forEach((o, i) => {
    let I = 0;
    let U = 0;
    for (let k = 0; k < W * H; k++) {
      const p = d.mask!.data[i * W * H + k];
      I += p & o.mask[k];
      U += p | o.mask[k];
    }
    assert.ok(I / U > 0.9, `${o.label}: IoU ${I / U}`);
  });
});

test("objects without 16 segs, inverted boxes and unknown classes are dropped", () => {
  const ok = suffixFor([{ mask: rect(8, 8, 40, 40), xyxy: [8, 8, 40, 40], label: "cat" }]);
  const table: [string, string, number][] = [
    ["valid", ok, 1],
    ["15 segs", ok.replace(/<seg\d{3}>/, ""), 0],
    ["unknown class", ok.replace(" cat", " cow"), 0],
    ["inverted box", "<loc0900><loc0900><loc0100><loc0100>" + "<seg001>".repeat(16) + " cat", 0],
    ["detection output (no segs)", "<loc0100><loc0100><loc0900><loc0900> cat", 0],
    ["empty", "", 0],
  ];
  for (const [what, text, n] of table) assert.equal(segmentationFromPaligemma(text, vae, { ...size, classes: ["cat"] }).length, n, what);
});

test("random text never throws", () => {
  const rand = mulberry32(7);
  for (let i = 0; i < 500; i++) segmentationFromPaligemma(randomModelText(rand), vae, { ...size, classes: ["cat", "dog"] });
  // and text that does contain whole objects among garbage
  const obj = "<loc0100><loc0100><loc0600><loc0600>" + "<seg064>".repeat(16) + " cat";
  for (let i = 0; i < 50; i++) segmentationFromPaligemma(randomModelText(rand, 10) + obj + randomModelText(rand, 10), vae, { ...size, classes: ["cat"] });
});

test("bad options throw", () => {
  assert.throws(() => segmentationFromPaligemma("", vae, { imageWidth: 0, imageHeight: 5 }), /imageWidth/);
});

test("registry: mask_map and miou on generated text", () => {
  const ref = suffixFor([{ mask: rect(8, 8, 40, 40), xyxy: [8, 8, 40, 40], label: "cat" }]);
  const r = evaluate([ref, "nothing"], [ref, ref], ["mask_map", "miou"], { classes: ["cat"], imageSizes: size, parseSegmentation: segmentationParser(vae) });
  assert.ok(r.mask_map.value > 0.3 && r.mask_map.value <= 1, `mask mAP ${r.mask_map.value}`);
  assert.deepEqual(r.miou.perSample!.map((x) => x > 0), [true, false]);
  assert.ok(r.miou.value > 0 && r.miou.value < 1);
});

test("cocoToPaliGemma(task: segment) with segEncoder(vae) writes <loc>+<seg> suffixes that parse back to the masks", async () => {
  const { cocoToPaliGemma } = await import("../../src/data/converters/coco.js");
  const coco: import("../../src/data/converters/coco.js").CocoDataset = {
    images: [{ id: 1, file_name: "a.jpg", width: W, height: H }],
    categories: [{ id: 1, name: "cat" }, { id: 2, name: "dog" }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [8, 8, 32, 32], segmentation: [[8, 8, 40, 8, 40, 40, 8, 40]], area: 1024 },
      { id: 2, image_id: 1, category_id: 2, bbox: [50, 10, 40, 50], segmentation: [[50, 10, 90, 10, 90, 60, 50, 60]], area: 2000 },
    ],
  };
  const r = await cocoToPaliGemma(coco, { task: "segment", segEncoder: segEncoder(vae) });
  const line = r.lines[0];
  assert.match(line.prefix, /^segment cat ; dog$/);
  assert.match(line.suffix, /^(<loc\d{4}>){4}(<seg\d{3}>){16} cat ; (<loc\d{4}>){4}(<seg\d{3}>){16} dog$/);
  const d = segmentationFromPaligemma(line.suffix, vae, { ...size, classes: ["cat", "dog"] });
  assert.equal(d.length, 2);
  const want = [rect(8, 8, 40, 40), rect(50, 10, 90, 60)];
  want.forEach((m, i) => {
    let I = 0;
    let U = 0;
    for (let k = 0; k < W * H; k++) {
      I += d.mask!.data[i * W * H + k] & m[k];
      U += d.mask!.data[i * W * H + k] | m[k];
    }
    assert.ok(I / U > 0.85, `object ${i}: IoU ${I / U}`);
  });
});
