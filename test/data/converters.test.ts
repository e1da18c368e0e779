/**
 * Converters: COCO masks bit-exact with pycocotools 2.0.11, COCO → PaliGemma JSONL against an independent
 * pycocotools + numpy implementation (both in test/fixtures/data/gen_reference.py → reference.json), the COCO
 * options and errors, the segmentation seam, and YOLO → PaliGemma.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTmpDir } from "../helpers/tmp.js";
import { decodeRle, encodeRle, maskArea, maskBbox, polygonsToMask, rleFromString, rleToString, segmentationToMask } from "../../src/data/converters/coco-mask.js";
import { cocoClassNames, cocoToPaliGemma, convertCocoDataset, convertCocoFile, type CocoDataset } from "../../src/data/converters/coco.js";
import { convertYoloDataset, parseYoloNames, yoloToPaliGemma } from "../../src/data/converters/yolo.js";
import { ConversionError } from "../../src/data/converters/output.js";
import { loadDataset, loadJsonlDataset } from "../../src/data/dataset.js";
import { parseLocText } from "../../src/codecs/loc.js";
import { fixture, hashTree, writeImage } from "./util.js";

const ref = JSON.parse(readFileSync(fixture("reference.json"), "utf8"));
const cocoSmall = (): CocoDataset => JSON.parse(readFileSync(fixture("coco_small.json"), "utf8"));

describe("COCO masks (pycocotools-exact)", () => {
  it("rasterises polygons like frPyObjects+merge: same RLE string, area and toBbox (60 cases)", () => {
    for (const c of ref.polygons as { width: number; height: number; polygons: number[][]; counts: string; area: number; bbox: number[] }[]) {
      const m = polygonsToMask(c.polygons, c.width, c.height);
      assert.equal(encodeRle(m).counts, c.counts, JSON.stringify(c.polygons));
      assert.equal(maskArea(m), c.area);
      assert.deepEqual(maskBbox(m), c.bbox);
    }
  });

  it("encodes and decodes RLE like pycocotools.mask.encode/decode (30 random masks)", () => {
    for (const c of ref.rle_masks as { width: number; height: number; bits: string; counts: string; area: number; bbox: number[] }[]) {
      const mask = { width: c.width, height: c.height, data: Uint8Array.from(c.bits, Number) };
      assert.equal(encodeRle(mask).counts, c.counts);
      assert.deepEqual(Array.from(decodeRle({ size: [c.height, c.width], counts: c.counts }).data), Array.from(mask.data));
      assert.equal(maskArea(mask), c.area);
      assert.deepEqual(maskBbox(mask), c.bbox);
      const counts = rleFromString(c.counts);
      assert.equal(rleToString(counts), c.counts);
      assert.deepEqual(Array.from(decodeRle({ size: [c.height, c.width], counts }).data), Array.from(mask.data), "uncompressed counts");
    }
  });

  it("reads our synthetic segmentation annotations exactly as pycocotools' COCO().annToRLE does", () => {
    const coco = JSON.parse(readFileSync(fixture("synth_seg_small.coco.json"), "utf8")) as CocoDataset;
    const want = ref.synth_seg as Record<string, { area: number; counts: string }>;
    assert.equal(coco.annotations.length, Object.keys(want).length);
    for (const a of coco.annotations) {
      const im = coco.images.find((i) => i.id === a.image_id)!;
      const m = segmentationToMask(a.segmentation!, im.width, im.height);
      assert.equal(encodeRle(m).counts, want[String(a.id)].counts);
      assert.equal(a.area, want[String(a.id)].area, "the area we wrote is pycocotools' area");
    }
  });

  it("rejects malformed segmentations (table)", () => {
    const bad: [unknown, RegExp][] = [
      [{ size: [2, 2], counts: [1, 2] }, /sum to 3/],
      [{ size: [3, 2], counts: [6] }, /differs from the image/],
      [{ size: [2, 2], counts: "~~~" }, /invalid character|ends in the middle/],
      [[[1, 2, "x"]], /polygons/],
      [42, /polygons .* or an RLE/],
    ];
    for (const [seg, re] of bad) assert.throws(() => segmentationToMask(seg as never, 2, 2), re);
  });
});

describe("COCO → PaliGemma", () => {
  it("matches the pycocotools + numpy reference lines (non-square, ties, crowd, placeholder, empty image)", async () => {
    const r = await cocoToPaliGemma(cocoSmall());
    assert.deepEqual(r.classes, ref.coco_to_paligemma.classes);
    assert.deepEqual(r.lines, ref.coco_to_paligemma.lines);
    assert.equal(r.emptyImages, 1);
    assert.equal(r.skippedAnnotations, 1, "the crowd box");
  });

  it("options: sorted classes, skip empty images, explicit class list (table)", async () => {
    const rows: { opts: Parameters<typeof cocoToPaliGemma>[1]; prefix: string; images: number; dropped: number }[] = [
      { opts: {}, prefix: "detect hard hat ; t-shirt ; wrench", images: 4, dropped: 1 },
      { opts: { classOrder: "sorted" }, prefix: "detect hard hat ; t-shirt ; wrench", images: 4, dropped: 1 },
      { opts: { emptyImages: "skip" }, prefix: "detect hard hat ; t-shirt ; wrench", images: 3, dropped: 1 },
      { opts: { classes: ["t-shirt"] }, prefix: "detect t-shirt", images: 4, dropped: 4 },
      { opts: { classes: ["t-shirt"], emptyImages: "skip" }, prefix: "detect t-shirt", images: 3, dropped: 4 },
    ];
    for (const row of rows) {
      const r = await cocoToPaliGemma(cocoSmall(), row.opts);
      assert.equal(r.lines[0].prefix, row.prefix, JSON.stringify(row.opts));
      assert.equal(r.lines.length, row.images, JSON.stringify(row.opts));
      assert.equal(r.skippedAnnotations, row.dropped, JSON.stringify(row.opts));
    }
    const coco = cocoSmall();
    coco.categories.push({ id: 9, name: "axe", supercategory: "tools" });
    assert.deepEqual(cocoClassNames(coco, "sorted"), ["axe", "hard hat", "t-shirt", "wrench"]);
    assert.deepEqual(cocoClassNames(coco), ["hard hat", "t-shirt", "wrench", "axe"]);
  });

  it("names the bad field (table)", async () => {
    const cases: [(c: CocoDataset) => void, RegExp][] = [
      [(c) => void ((c as unknown as Record<string, unknown>).images = {}), /images: expected an array/],
      [(c) => void (c.images[1].width = 0), /images\[1\]/],
      [(c) => void (c.categories[2].name = "a;b"), /categories\[2\]/],
      [(c) => void (c.annotations[3].bbox = [1, 2, 3] as never), /annotations\[3\]\.bbox/],
      [(c) => void (c.annotations[0].bbox = [1, 2, -3, 4]), /annotations\[0\]\.bbox/],
      [(c) => void (c.annotations[4].image_id = 99), /annotations\[4\]\.image_id: 99 is not the id of any image/],
      [(c) => void (c.annotations[5].category_id = 77), /annotations\[5\]\.category_id/],
    ];
    for (const [mutate, re] of cases) {
      const c = cocoSmall();
      mutate(c);
      await assert.rejects(cocoToPaliGemma(c, { sourceName: "x.json" }), (e: unknown) => e instanceof ConversionError && re.test(e.message) && e.message.startsWith("x.json: "), String(re));
    }
  });

  it('segmentation seam: task "segment" throws a clear error without a segEncoder, uses one when given', async () => {
    const coco = JSON.parse(readFileSync(fixture("synth_seg_small.coco.json"), "utf8")) as CocoDataset;
    await assert.rejects(cocoToPaliGemma(coco, { task: "segment" }), /needs a segEncoder .*src\/codecs\/seg\.ts/);
    const seen: { area: number; box: number[] }[] = [];
    const segEncoder = {
      encode: (mask: { data: Uint8Array; width: number; height: number }, xyxy: number[]) => {
        seen.push({ area: maskArea(mask), box: xyxy });
        return Array.from({ length: 16 }, (_, i) => (i * 8 + seen.length) % 128);
      },
    };
    const r = await cocoToPaliGemma(coco, { task: "segment", segEncoder });
    assert.equal(seen.length, coco.annotations.length);
    assert.deepEqual(seen.map((s) => s.area), coco.annotations.map((a) => a.area), "the encoder gets the full-image mask");
    assert.ok(r.lines[0].prefix.startsWith("segment circle ; square"));
    const objs = r.lines.flatMap((l) => parseLocText(l.suffix));
    assert.equal(objs.length, coco.annotations.length);
    assert.ok(objs.every((o) => o.segs.length === 16));
    await assert.rejects(cocoToPaliGemma(coco, { task: "segment", segEncoder: { encode: () => [999] } }), /segEncoder: returned \[999\]/);
  });
});

describe("COCO / YOLO folders → PaliGemma layout", () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await makeTmpDir();
  });
  after(() => tmp.cleanup());

  it("convertCocoFile writes annotations.jsonl + images that load without problems; sources unchanged", async () => {
    const src = join(tmp.path, "coco");
    for (const im of cocoSmall().images) await writeImage(join(src, im.file_name), Math.min(im.width, 64), Math.min(im.height, 64));
    await writeFile(join(src, "_annotations.coco.json"), JSON.stringify(cocoSmall()));
    const hash = await hashTree(src);
    const out = join(tmp.path, "coco-out");
    await convertCocoFile(join(src, "_annotations.coco.json"), out);
    const ds = await loadJsonlDataset(join(out, "annotations.jsonl"), { policy: "error" });
    assert.equal(ds.length, 4);
    assert.equal((await ds.get(0)).suffix, ref.coco_to_paligemma.lines[0].suffix);
    assert.equal(await hashTree(src), hash);
    await assert.rejects(convertCocoDataset(src, join(tmp.path, "x")), /no train\/, valid\/ or test\//);
    await writeFile(join(src, "_annotations.coco.json"), JSON.stringify({ ...cocoSmall(), annotations: [], images: [{ id: 1, file_name: "../../etc/passwd", width: 5, height: 5 }] }));
    await assert.rejects(convertCocoFile(join(src, "_annotations.coco.json"), join(tmp.path, "evil")), /leaves the output folder/);
  });

  it("YOLO: boxes, polygons, names from data.yaml; a Roboflow YOLO export converts split by split", async () => {
    const root = join(tmp.path, "yolo");
    await writeImage(join(root, "train", "images", "a.jpg"), 64, 32, "jpeg");
    await writeImage(join(root, "train", "images", "b.png"), 20, 20);
    await writeImage(join(root, "valid", "images", "c.png"), 20, 20);
    await mkdir(join(root, "train", "labels"), { recursive: true });
    await writeFile(join(root, "train", "labels", "a.txt"), "0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.3 0.1 0.2 0.6\n");
    await writeFile(join(root, "data.yaml"), "train: ../train/images\nval: ../valid/images\nnc: 2\nnames: ['hard hat', 't-shirt']\n");
    const hash = await hashTree(root);
    const results = await convertYoloDataset(root, join(tmp.path, "yolo-out"));
    assert.deepEqual(Object.keys(results), ["train", "valid"]);
    assert.deepEqual(results.train.lines, [
      // cx .5 cy .5 w .2 h .4 → x .4–.6, y .3–.7 → round(·1023): 307 409 716 614; polygon x .1–.3, y .1–.6
      { image: "a.jpg", prefix: "detect hard hat ; t-shirt", suffix: "<loc0307><loc0409><loc0716><loc0614> hard hat ; <loc0102><loc0102><loc0614><loc0307> t-shirt" },
      { image: "b.png", prefix: "detect hard hat ; t-shirt", suffix: "" },
    ]);
    const { train, valid } = await loadDataset(join(tmp.path, "yolo-out"), { policy: "error" });
    assert.equal(train!.length, 2);
    assert.equal(valid!.length, 1);
    assert.equal(await hashTree(root), hash);
  });

  it("YOLO errors name file:line (table) and clamp boxes to the image", () => {
    const cls = ["a", "b"];
    const bad: [string, RegExp][] = [
      ["2 0.5 0.5 0.1 0.1", /^l\.txt:2: class: got "2"; expected an integer class index in 0\.\.1/],
      ["x 0.5 0.5 0.1 0.1", /class/],
      ["0 0.5 0.5 0.1", /expected "class cx cy w h"/],
      ["0 0.5 0.5 nan 0.1", /non-number/],
      ["0 0.5 0.5 -0.1 0.1", /negative/],
    ];
    for (const [text, re] of bad) assert.throws(() => yoloToPaliGemma([{ image: "i.jpg", labels: `\n${text}`, labelFile: "l.txt" }], cls), (e: unknown) => e instanceof ConversionError && re.test(e.message) && e.message.startsWith("l.txt:2: "), text);
    const r = yoloToPaliGemma([{ image: "i.jpg", labels: "1 0.95 0.05 0.3 0.3" }], cls);
    assert.equal(r.lines[0].suffix, "<loc0000><loc0818><loc0205><loc1023> b");
    assert.throws(() => yoloToPaliGemma([], []), /at least one class/);
  });

  it("reads data.yaml names in every common form (table)", () => {
    const rows: [string, string[]][] = [
      ["names: ['a b', \"c-d\", e]", ["a b", "c-d", "e"]],
      ["nc: 2\nnames:\n  - cat\n  - 'hard hat'\ntrain: x", ["cat", "hard hat"]],
      ["names:\n  1: dog\n  0: cat\n", ["cat", "dog"]],
      ["names: {0: cat, 1: 'traffic light'}", ["cat", "traffic light"]],
      ["names: [a, b] # comment", ["a", "b"]],
    ];
    for (const [yaml, want] of rows) assert.deepEqual(parseYoloNames(yaml), want, yaml);
    assert.throws(() => parseYoloNames("nc: 3"), /names: missing/);
    assert.throws(() => parseYoloNames("names: cat"), /cannot read/);
  });
});

describe("converter output is what loadDataset reads", () => {
  it("JSONL lines written by the converters parse back to the same objects", async () => {
    const { path, cleanup } = await makeTmpDir();
    try {
      const r = await cocoToPaliGemma(cocoSmall());
      const f = join(path, "a.jsonl");
      await writeFile(f, r.lines.map((l) => JSON.stringify(l)).join("\n"));
      const back = (await readFile(f, "utf8")).split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(back, r.lines);
    } finally {
      await cleanup();
    }
  });
});
