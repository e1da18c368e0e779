/**
 * `Detections`: validation of arguments, `fromPaligemma` against supervision 0.31.2's `from_paligemma`
 * (test/fixtures/data/reference.json `supervision`, made by gen_reference.py with
 * `sv.Detections.from_vlm(sv.VLM.PALIGEMMA, text, resolution_wh=(w, h), classes=classes)`), and totality.
 *
 * supervision divides bins by 1024, we by 1023 (documented in codecs/loc.ts), so boxes are compared as bins:
 * round(x_sv · 1024 / W) must equal round(x_ours · 1023 / W).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Detections, DetectionsError } from "../../src/codecs/detections.js";
import { mulberry32 } from "../../src/data/random.js";
import { fixture } from "../data/util.js";

const ref = JSON.parse(readFileSync(fixture("reference.json"), "utf8"));

describe("Detections constructor", () => {
  it("accepts flat or row boxes and fills default ids by first appearance", () => {
    const a = new Detections({ xyxy: [[0, 0, 1, 1], [2, 2, 3, 4], [1, 1, 1, 1]], className: ["b", "a", "b"] });
    assert.equal(a.length, 3);
    assert.deepEqual(Array.from(a.classId), [0, 1, 0]);
    assert.deepEqual(a.box(1), [2, 2, 3, 4]);
    const b = new Detections({ xyxy: new Float32Array([0, 0, 1, 1]) });
    assert.deepEqual(b.className, [""]);
    assert.equal(Detections.empty().length, 0);
  });

  const bad: { name: string; init: unknown; field: string }[] = [
    { name: "missing xyxy", init: {}, field: "xyxy" },
    { name: "not an object", init: null, field: "xyxy" },
    { name: "length not a multiple of 4", init: { xyxy: [1, 2, 3] }, field: "xyxy" },
    { name: "row of 3", init: { xyxy: [[1, 2, 3]] }, field: "xyxy" },
    { name: "NaN", init: { xyxy: [0, 0, NaN, 1] }, field: "xyxy" },
    { name: "inverted box", init: { xyxy: [5, 0, 1, 1] }, field: "xyxy" },
    { name: "className count", init: { xyxy: [0, 0, 1, 1], className: ["a", "b"] }, field: "className" },
    { name: "className not strings", init: { xyxy: [0, 0, 1, 1], className: [3] }, field: "className" },
    { name: "classId count", init: { xyxy: [0, 0, 1, 1], classId: [0, 1] }, field: "classId" },
    { name: "negative classId", init: { xyxy: [0, 0, 1, 1], classId: [-1] }, field: "classId" },
    { name: "fractional classId", init: { xyxy: [0, 0, 1, 1], classId: [0.5] }, field: "classId" },
    { name: "confidence count", init: { xyxy: [0, 0, 1, 1], confidence: [0.1, 0.2] }, field: "confidence" },
    { name: "confidence NaN", init: { xyxy: [0, 0, 1, 1], confidence: [NaN] }, field: "confidence" },
    { name: "mask size", init: { xyxy: [0, 0, 1, 1], mask: { data: new Uint8Array(5), height: 2, width: 2 } }, field: "mask" },
    { name: "mask not bytes", init: { xyxy: [0, 0, 1, 1], mask: { data: [1, 1, 1, 1], height: 2, width: 2 } }, field: "mask" },
  ];
  for (const b of bad) {
    it(`throws DetectionsError naming the field: ${b.name}`, () => {
      assert.throws(() => new Detections(b.init as never), (e: unknown) => e instanceof DetectionsError && e.field === b.field && e.message.includes(`Detections.${b.field}`));
    });
  }

  it("filter keeps boxes, names, confidences and masks aligned", () => {
    const d = new Detections({
      xyxy: [0, 0, 1, 1, 0, 0, 2, 2, 0, 0, 3, 3],
      className: ["a", "b", "c"],
      confidence: [0.1, 0.2, 0.3],
      mask: { data: Uint8Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]), height: 2, width: 2 },
    });
    const f = d.filter([true, false, true]);
    assert.deepEqual(f.className, ["a", "c"]);
    assert.deepEqual(Array.from(f.confidence!), [Math.fround(0.1), Math.fround(0.3)]);
    assert.deepEqual(Array.from(f.mask!.data), [1, 0, 0, 0, 0, 0, 1, 0]);
    assert.deepEqual(f.box(1), [0, 0, 3, 3]);
    assert.equal(d.filter((i) => i > 5).length, 0);
  });
});

describe("Detections.fromPaligemma", () => {
  it("agrees with supervision's from_paligemma on every reference text (bins, names, class ids)", () => {
    const cases = ref.supervision as { text: string; width: number; height: number; classes: string[] | null; xyxy: number[][]; class_name: string[]; class_id: number[] | null }[];
    assert.ok(cases.length >= 100);
    let objects = 0;
    for (const c of cases) {
      const d = Detections.fromPaligemma(c.text, { imageWidth: c.width, imageHeight: c.height, classes: c.classes ?? undefined });
      const where = `${JSON.stringify(c.text)} ${c.width}×${c.height} classes=${JSON.stringify(c.classes)}`;
      assert.equal(d.length, c.xyxy.length, where);
      assert.deepEqual([...d.className], c.class_name, where);
      if (c.class_id) assert.deepEqual(Array.from(d.classId), c.class_id, where);
      c.xyxy.forEach((row, i) => {
        const size = [c.width, c.height, c.width, c.height];
        const svBins = row.map((v, k) => Math.round((v * 1024) / size[k]));
        const ourBins = d.box(i).map((v, k) => Math.round((v * 1023) / size[k]));
        assert.deepEqual(ourBins, svBins, where);
      });
      objects += d.length;
    }
    assert.ok(objects > 50);
  });

  it("decodes bins /1023 into pixels on a non-square image", () => {
    const d = Detections.fromPaligemma("<loc0000><loc0000><loc1023><loc0511> dog", { imageWidth: 640, imageHeight: 480 });
    const [x1, y1, x2, y2] = d.box(0);
    assert.equal(x1, 0);
    assert.equal(y1, 0);
    assert.ok(Math.abs(x2 - (511 / 1023) * 640) < 1e-4);
    assert.equal(y2, 480);
  });

  it("filters by classes and gives their indices; otherwise ids by first appearance (table)", () => {
    const text = "<loc0001><loc0001><loc0002><loc0002> dog ; <loc0001><loc0001><loc0002><loc0002> cat ; <loc0001><loc0001><loc0002><loc0002> dog ; <loc0001><loc0001><loc0002><loc0002> bird";
    const size = { imageWidth: 10, imageHeight: 10 };
    const rows: [string[] | undefined, string[], number[]][] = [
      [undefined, ["dog", "cat", "dog", "bird"], [0, 1, 0, 2]],
      [["cat", "dog"], ["dog", "cat", "dog"], [1, 0, 1]],
      [["bird"], ["bird"], [0]],
      [[], [], []],
    ];
    for (const [classes, names, ids] of rows) {
      const d = Detections.fromPaligemma(text, { ...size, classes });
      assert.deepEqual([...d.className], names, String(classes));
      assert.deepEqual(Array.from(d.classId), ids, String(classes));
    }
  });

  it("drops inverted boxes (y2 < y1 or x2 < x1) and keeps degenerate ones", () => {
    const d = Detections.fromPaligemma("<loc0500><loc0001><loc0100><loc0002> a ; <loc0001><loc0500><loc0002><loc0100> b ; <loc0005><loc0005><loc0005><loc0005> c", { imageWidth: 100, imageHeight: 100 });
    assert.deepEqual([...d.className], ["c"]);
  });

  it("throws on bad options, never on text (table)", () => {
    const badOptions: unknown[] = [undefined, null, {}, { imageWidth: 0, imageHeight: 10 }, { imageWidth: 10, imageHeight: NaN }, { imageWidth: 10, imageHeight: 10, classes: "cat" }, { imageWidth: 10, imageHeight: 10, classes: [1] }];
    for (const o of badOptions) assert.throws(() => Detections.fromPaligemma("", o as never), DetectionsError, JSON.stringify(o));
    const rand = mulberry32(5);
    for (let n = 0; n < 2000; n++) {
      const text = Array.from({ length: Math.floor(rand() * 30) }, () =>
        rand() < 0.5 ? `<loc${String(Math.floor(rand() * 1100)).padStart(4, "0")}>` : [" cat", ";", "<eos>", " ", "x-y", "<", "\n"][Math.floor(rand() * 7)],
      ).join("");
      const d = Detections.fromPaligemma(text, { imageWidth: 33, imageHeight: 77 });
      for (let i = 0; i < d.length; i++) {
        const [x1, y1, x2, y2] = d.box(i);
        assert.ok(x1 >= 0 && y1 >= 0 && x2 <= 33.0001 && y2 <= 77.0001 && x1 <= x2 && y1 <= y2);
      }
    }
  });

  it("toPaligemma writes back what fromPaligemma read", () => {
    const text = "<loc0100><loc0200><loc0300><loc0400> hard hat ; <loc0000><loc0000><loc1023><loc1023> t-shirt";
    const size = { imageWidth: 333, imageHeight: 1000 };
    assert.equal(Detections.fromPaligemma(text, size).toPaligemma(size), text);
    assert.deepEqual(Detections.fromPaligemma(text, size).toJSON().className, ["hard hat", "t-shirt"]);
  });
});
