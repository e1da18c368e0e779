/**
 * Metrics equal to their Python references (test/fixtures/eval/eval.json, made by gen_eval_fixtures.py with
 * sacrebleu 2.6.0, rouge-score 0.1.2, nltk, pycocotools 2.0.11 and Donut's own JSONParseEvaluator) to 1e-6, and
 * tables of degenerate inputs.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../helpers/paths.js";
import { corpusBleu, normalizedEditDistance, rougeLPair, tokenize13a } from "../../src/eval/text.js";
import { parseJson, pythonFloatRepr } from "../../src/codecs/json.js";
import { donutF1, donutTedAccuracy } from "../../src/eval/json/donut.js";
import { flattenJson, jsonFieldScores, matchFields } from "../../src/eval/json/fields.js";
import { cocoEvaluate, IOU_THRESHOLDS, type CocoImage } from "../../src/eval/coco.js";
import { semanticIou, maskScores, maskIou } from "../../src/eval/detection.js";
import { Detections } from "../../src/codecs/detections.js";

const fx = JSON.parse(readFileSync(join(repoRoot(), "test/fixtures/eval/eval.json"), "utf8"));
const close = (a: number, b: number, what: string, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (Python)`);

describe("text metrics = sacrebleu / rouge-score / nltk", () => {
  const { predictions: P, references: R, per_pair, bleu } = fx.text;
  test("13a tokenisation equals sacrebleu's on every reference", () => {
    R.forEach((r: string, i: number) => assert.deepEqual(tokenize13a(r.replace(/\s+$/u, "")), per_pair[i].tokens13a, JSON.stringify(r)));
  });
  test("corpus BLEU on 6 corpora (score, precisions, bp, lengths)", () => {
    for (const c of bleu) {
      const [lo, hi] = c.range;
      const b = corpusBleu(P.slice(lo, hi), R.slice(lo, hi));
      close(b.score, c.score, `BLEU ${lo}:${hi}`);
      b.precisions.forEach((p, i) => close(p, c.precisions[i], `p${i + 1} ${lo}:${hi}`));
      close(b.brevityPenalty, c.bp, "bp");
      assert.equal(b.sysLen, c.sys_len);
      assert.equal(b.refLen, c.ref_len);
    }
  });
  test("rougeL precision/recall/F per pair", () => {
    P.forEach((p: string, i: number) => {
      const s = rougeLPair(p, R[i]);
      const [pr, rc, f] = per_pair[i].rougeL;
      close(s.precision, pr, `P ${i}`);
      close(s.recall, rc, `R ${i}`);
      close(s.fmeasure, f, `F ${i}`);
    });
  });
  test("normalised edit distance per pair", () => {
    P.forEach((p: string, i: number) => close(normalizedEditDistance(p, R[i]), per_pair[i].ned, `ned ${i}`));
  });
  test("degenerate: empty corpus and empty strings are 0, never NaN", () => {
    assert.equal(corpusBleu([], []).score, 0);
    assert.equal(corpusBleu([""], [""]).score, 0);
    assert.equal(normalizedEditDistance("", ""), 0);
    assert.equal(rougeLPair("", "x").fmeasure, 0);
  });
});

describe("JSON metrics = Donut's JSONParseEvaluator and the field definition", () => {
  const { predictions: P, references: R, rows, ordered, donut_f1 } = fx.json;
  test("Python repr of floats (Donut stringifies with str())", () => {
    const table: [number, string][] = [[1e-5, "1e-05"], [1e16, "1e+16"], [2, "2.0"], [0.1, "0.1"], [123.456, "123.456"], [1e15, "1000000000000000.0"], [-0, "-0.0"], [1.5e-4, "0.00015"], [Infinity, "inf"]];
    for (const [x, s] of table) assert.equal(pythonFloatRepr(x), s);
  });
  test("nTED accuracy per sample", () => {
    P.forEach((p: string, i: number) => close(donutTedAccuracy(parseJson(p.trim()), parseJson(R[i].trim())), rows[i].nted, `nted ${i}: ${p} | ${R[i]}`));
  });
  test("Donut F1 over the corpus", () => {
    close(donutF1(P.map((p: string) => parseJson(p.trim())), R.map((r: string) => parseJson(r.trim()))), donut_f1, "donut f1");
  });
  test("field counts (tp, predicted, reference), parse and exact match per sample", () => {
    P.forEach((p: string, i: number) => {
      const pr = parseJson(p.trim());
      const rr = parseJson(R[i].trim());
      assert.ok(rr.ok);
      const c = matchFields(pr.ok ? flattenJson(pr.value, { orderedLists: ordered }) : [], flattenJson(rr.value, { orderedLists: ordered }));
      assert.deepEqual([c.tp, c.predicted, c.reference], [rows[i].tp, rows[i].predicted, rows[i].reference], `${p} | ${R[i]}`);
      assert.equal(pr.ok, rows[i].parsed, p);
      const s = jsonFieldScores([p], [R[i]], { orderedLists: ordered });
      assert.equal(s.exactMatch, rows[i].exact ? 1 : 0, `exact ${p}`);
    });
  });
  test("corpus scores and per-field table", () => {
    const s = jsonFieldScores(P, R, { orderedLists: ordered });
    const tp = rows.reduce((a: number, r: { tp: number }) => a + r.tp, 0);
    const np = rows.reduce((a: number, r: { predicted: number }) => a + r.predicted, 0);
    const nr = rows.reduce((a: number, r: { reference: number }) => a + r.reference, 0);
    close(s.precision, tp / np, "precision");
    close(s.recall, tp / nr, "recall");
    close(s.f1, (2 * tp) / (np + nr), "f1");
    close(s.parseRate, rows.filter((r: { parsed: boolean }) => r.parsed).length / rows.length, "parse rate");
    assert.ok(s.perField.length > 5);
    for (let i = 1; i < s.perField.length; i++) assert.ok(s.perField[i - 1].f1 <= s.perField[i].f1, "worst fields first");
  });
  test("list order: ignored by default, enforced where the schema says so", () => {
    const a = '{"steps":["mix","bake"]}';
    const b = '{"steps":["bake","mix"]}';
    assert.equal(jsonFieldScores([a], [b]).f1, 1);
    assert.equal(jsonFieldScores([a], [b], { orderedLists: ["steps"] }).f1, 0);
    assert.equal(jsonFieldScores([a], [a], { orderedLists: ["steps"] }).exactMatch, 1);
  });
  const degenerate: [string, string[], string[], { f1: number; parseRate: number }][] = [
    ["empty corpus", [], [], { f1: 1, parseRate: 0 }],
    ["unparsable prediction", ["{oops"], ['{"a":1}'], { f1: 0, parseRate: 0 }],
    ["both empty objects", ["{}"], ["{}"], { f1: 1, parseRate: 1 }],
    ["prediction invents fields for an empty reference", ['{"a":1}'], ["{}"], { f1: 0, parseRate: 1 }],
    ["truncated generation", ['{"a": "x", "b": '], ['{"a":"x","b":"y"}'], { f1: 0, parseRate: 0 }],
  ];
  for (const [what, p, r, want] of degenerate) {
    test(`degenerate: ${what}`, () => {
      const s = jsonFieldScores(p, r);
      assert.equal(s.f1, want.f1);
      assert.equal(s.parseRate, want.parseRate);
      for (const v of [s.precision, s.recall, s.f1, s.exactMatch]) assert.ok(Number.isFinite(v));
    });
  }
  test("a reference that is not JSON is a caller error naming its index", () => {
    assert.throws(() => jsonFieldScores(["{}", "{}"], ["{}", "nope"]), /reference 1 is not valid JSON/);
  });
});

type PyObj = { cat: number; xyxy?: number[]; mask?: number[][]; score?: number };
function toCoco(images: { gt: PyObj[]; dt: PyObj[] }[]): CocoImage[] {
  const conv = (o: PyObj) => {
    const out: { categoryId: number; bbox?: number[]; mask?: { data: Uint8Array; width: number; height: number }; score: number } = {
      categoryId: o.cat,
      score: o.score ?? 1,
    };
    if (o.xyxy) out.bbox = [o.xyxy[0], o.xyxy[1], o.xyxy[2] - o.xyxy[0], o.xyxy[3] - o.xyxy[1]];
    if (o.mask) out.mask = { data: Uint8Array.from(o.mask.flat()), width: o.mask[0].length, height: o.mask.length };
    return out;
  };
  return images.map((im) => ({ gt: im.gt.map(conv), dt: im.dt.map(conv) }));
}
const STAT_NAMES = ["map", "map50", "map75", "mapSmall", "mapMedium", "mapLarge", "ar1", "ar10", "ar100", "arSmall", "arMedium", "arLarge"] as const;

describe("COCO box mAP = pycocotools COCOeval", () => {
  test("IoU thresholds are numpy's linspace values", () => assert.deepEqual(IOU_THRESHOLDS, fx.iou_thresholds));
  for (const suite of fx.detection) {
    test(`${suite.name}: 12 summary stats, per-class AP, P/R@0.5`, () => {
      const r = cocoEvaluate(toCoco(suite.images), { iouType: "bbox", categoryIds: suite.categories });
      STAT_NAMES.forEach((k, i) => close(r.stats[k], suite.coco.stats[i], `${suite.name} ${k}`));
      for (const [c, ap] of Object.entries(suite.coco.per_class)) close(r.perCategory.get(Number(c))!, ap as number, `class ${c}`);
      close(r.precision50, suite.coco.precision50, "precision50");
      close(r.recall50, suite.coco.recall50, "recall50");
    });
  }
  const box = (x1: number, y1: number, x2: number, y2: number, cat = 0, score = 1) => ({ categoryId: cat, bbox: [x1, y1, x2 - x1, y2 - y1], score });
  const degenerate: [string, CocoImage[], (r: ReturnType<typeof cocoEvaluate>) => void][] = [
    ["no images at all: −1 (pycocotools' absent), not NaN", [], (r) => assert.equal(r.stats.map, -1)],
    ["empty predictions: AP 0", [{ gt: [box(0, 0, 10, 10)], dt: [] }], (r) => assert.equal(r.stats.map, 0)],
    ["no ground truth for a class: that class is −1 and excluded", [{ gt: [box(0, 0, 10, 10)], dt: [box(0, 0, 10, 10), box(0, 0, 5, 5, 1)] }], (r) => {
      assert.equal(r.perCategory.get(1), -1);
      close(r.stats.map, 1, "map", 1e-12); // pycocotools: tp / (tp + fp + eps), a hair under 1
    }],
    ["a duplicate box is a false positive", [{ gt: [box(0, 0, 10, 10)], dt: [box(0, 0, 10, 10, 0, 0.9), box(0, 0, 10, 10, 0, 0.8)] }], (r) => {
      assert.equal(r.precision50, 0.5);
      close(r.stats.map50, 1, "map50", 1e-12); // the first detection already reaches recall 1 at precision 1
    }],
    ["zero-area boxes do not divide by zero", [{ gt: [box(5, 5, 5, 5)], dt: [box(5, 5, 5, 5)] }], (r) => assert.ok(Number.isFinite(r.stats.map))],
  ];
  for (const [what, images, check] of degenerate) test(`degenerate: ${what}`, () => check(cocoEvaluate(images)));
  test("bad input throws with the image index", () => {
    assert.throws(() => cocoEvaluate([{ gt: [{ categoryId: 0 }], dt: [] }]), /image 0: every object needs a finite bbox/);
  });
});

describe("segmentation: mask mAP = pycocotools (segm), mIoU per class = numpy", () => {
  const seg = fx.segmentation;
  test("mask mAP: 12 summary stats, per class, P/R@0.5", () => {
    const r = cocoEvaluate(toCoco(seg.images), { iouType: "segm", categoryIds: seg.categories });
    STAT_NAMES.forEach((k, i) => close(r.stats[k], seg.coco.stats[i], `segm ${k}`));
    for (const [c, ap] of Object.entries(seg.coco.per_class)) close(r.perCategory.get(Number(c))!, ap as number, `class ${c}`);
    close(r.precision50, seg.coco.precision50, "precision50");
    close(r.recall50, seg.coco.recall50, "recall50");
  });
  const dets = (objs: PyObj[], h: number, w: number) =>
    new Detections({
      xyxy: objs.map(() => [0, 0, w, h]),
      classId: objs.map((o) => o.cat),
      confidence: objs.map((o) => o.score ?? 1),
      mask: { data: Uint8Array.from(objs.flatMap((o) => o.mask!.flat())), height: h, width: w },
    });
  test("semantic mIoU and per-class IoU through Detections", () => {
    const [h, w] = seg.images[0].size;
    const preds = seg.images.map((im: { dt: PyObj[] }) => dets(im.dt, h, w));
    const refs = seg.images.map((im: { gt: PyObj[] }) => dets(im.gt, h, w));
    const s = semanticIou(preds, refs, { classes: ["a", "b", "c"] });
    close(s.miou, seg.miou, "miou");
    ["a", "b", "c"].forEach((c, i) => close(s.perClass[c], seg.per_class_iou[i], `IoU ${c}`));
    const m = maskScores(preds, refs, { classes: ["a", "b", "c"] });
    close(m.map, seg.coco.stats[0], "mask mAP through Detections");
  });
  test("per-object mask IoU", () => {
    let k = 0;
    for (const im of seg.images) {
      if (!im.dt.length) continue;
      const g = im.gt[0].mask;
      const d = im.dt[0].mask;
      close(maskIou({ data: Uint8Array.from(d.flat()), width: d[0].length, height: d.length }, { data: Uint8Array.from(g.flat()), width: g[0].length, height: g.length }), seg.pair_iou[k++], "pair IoU");
    }
  });
  test("degenerate: no masks anywhere gives −1 (absent), never NaN", () => {
    assert.equal(semanticIou([Detections.empty()], [Detections.empty()]).miou, -1);
    assert.equal(maskIou({ data: new Uint8Array(4), width: 2, height: 2 }, { data: new Uint8Array(4), width: 2, height: 2 }), 0);
  });
});
