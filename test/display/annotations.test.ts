import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { MIME, annotationsBundle, buildAnnotations, hexToRgbForTest, type AnnotationsPayload } from "./helpers.js";
import { OUTCOME_COLORS } from "../../src/display/protocol.js";
import { placeLabels } from "../../src/display/labels.js";
import { DisplayError } from "../../src/display/errors.js";
import { Detections } from "../../src/codecs/detections.js";
import type { DetectionsLike } from "../../src/display/detections.js";

const GRAY = 128;
function grayImage(width: number, height: number) {
  return { data: new Uint8Array(width * height * 3).fill(GRAY), width, height, channels: 3 as const };
}

async function decodePng(b64: string) {
  const { data, info } = await sharp(Buffer.from(b64, "base64")).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { px: (x: number, y: number) => [data[(y * info.width + x) * 3], data[(y * info.width + x) * 3 + 1], data[(y * info.width + x) * 3 + 2]], width: info.width, height: info.height };
}

function near(actual: number[], expected: readonly number[], tol: number, what: string) {
  assert.ok(actual.every((v, i) => Math.abs(v - expected[i]) <= tol), `${what}: got rgb(${actual}) expected rgb(${expected}) ±${tol}`);
}

test("PNG fallback: box edges have the class colour, inside and outside keep the image", async () => {
  const b = await annotationsBundle(grayImage(200, 100), { prediction: [{ xyxy: [20, 10, 120, 80], className: "cat" }] }, { colors: { cat: "#ff0000" }, labels: false });
  const png = await decodePng(b.data["image/png"] as string);
  assert.equal(png.width, 200);
  assert.ok(png.height > 100, "the legend band is below the image");
  const red = [255, 0, 0];
  // box pixels: x 20..119, y 10..79 (floor(x1), ceil(x2) − 1), 2 px outline
  for (const [x, y, what] of [[20, 45, "left"], [119, 45, "right"], [70, 10, "top"], [70, 79, "bottom"], [21, 45, "left inner px"]] as const) near(png.px(x, y), red, 12, what);
  for (const [x, y, what] of [[70, 45, "inside"], [18, 45, "left of box"], [122, 45, "right of box"], [70, 82, "below box"], [22, 45, "past the outline"]] as const) near(png.px(x, y), [GRAY, GRAY, GRAY], 12, what);
});

test("PNG fallback: coordinates scale with the downscaled preview; truth is dashed; masks blend at the opacity", async () => {
  const mask = new Uint8Array(400 * 200);
  for (let y = 100; y < 160; y++) for (let x = 200; x < 300; x++) mask[y * 400 + x] = 1;
  const b = await annotationsBundle(
    grayImage(400, 200),
    { truth: [{ xyxy: [40, 20, 240, 160], className: "dog" }], prediction: { xyxy: [[200, 100, 300, 160]], className: ["dog"], mask: { data: mask, width: 400, height: 200 } } },
    { maxSize: 200, colors: { dog: "#0000ff" }, labels: false, maskOpacity: 0.5, colorBy: "class" },
  );
  const p = b.data[MIME.annotations] as AnnotationsPayload;
  assert.deepEqual([p.image.width, p.image.height, p.image.naturalWidth, p.image.naturalHeight], [200, 100, 400, 200]);
  assert.equal(p.classes.length, 1, "truth and prediction share the class");
  const png = await decodePng(b.data["image/png"] as string);
  near(png.px(20, 40), [0, 0, 255], 12, "truth left edge at 40/2");
  near(png.px(20, 10 + 7), [GRAY, GRAY, GRAY], 12, "truth dash gap (6 on, 4 off)");
  near(png.px(125, 65), [64, 64, 191], 14, "mask interior: 50% blue over gray");
  near(png.px(100, 70), [0, 0, 255], 12, "mask outline: opaque on the mask's left boundary (x 100)");
  near(png.px(100, 65), [0, 0, 255], 12, "prediction left edge at 200/2");
});

test("payload: classes by name across layers, fixed by `classes`, colours from the palette; bad input names the field", async () => {
  const { payload } = await buildAnnotations(grayImage(64, 64), {
    truth: [{ xyxy: [0, 0, 10, 10], className: "b" }],
    prediction: [{ xyxy: [0, 0, 10, 10], className: "a", confidence: 0.5 }, { xyxy: [5, 5, 20, 20], className: "b" }],
  }, { classes: ["a", "b"] });
  assert.deepEqual(payload.classes.map((c) => [c.id, c.name]), [[0, "a"], [1, "b"]]);
  assert.deepEqual(payload.layers.map((l) => l.boxes.map((b) => b.classId)), [[1], [0, 1]]);
  assert.match(payload.classes[0].color, /^#[0-9a-f]{6}$/);
  await assert.rejects(buildAnnotations(grayImage(8, 8), { prediction: { xyxy: [[0, 0, 1, 1]], confidence: [0.1, 0.2] } }), (e: unknown) => e instanceof DisplayError && e.field === "prediction.confidence");
  await assert.rejects(buildAnnotations(grayImage(8, 8), { prediction: [] }, { maskOpacity: 2 }), /maskOpacity/);
  await assert.rejects(buildAnnotations("/nonexistent/cat.jpg", { prediction: [] }), (e: unknown) => e instanceof DisplayError && /nonexistent/.test(e.message));
});

test("the project's Detections (supervision-like) display as they are", async () => {
  const dets = Detections.fromPaligemma("<loc0000><loc0000><loc0511><loc1023> cat ; <loc0100><loc0100><loc0200><loc0200> dog", { imageWidth: 100, imageHeight: 50 });
  const asLike: DetectionsLike = dets; // compile-time: Detections satisfies the display adapter
  const { payload } = await buildAnnotations(grayImage(100, 50), { prediction: asLike });
  const boxes = payload.layers[0].boxes;
  assert.deepEqual(boxes.map((b) => b.className), ["cat", "dog"]);
  assert.ok(Math.abs(boxes[0].xyxy[3] - 50 * 511 / 1023) < 1e-3, `y2 ${boxes[0].xyxy[3]}`);
});

test("previews keep notebooks small: 50 photo-sized predictions stay under 4 MB", async () => {
  // A photo-like 1280×960 JPEG: smooth gradient, overlapping translucent discs, slight blur.
  const discs = Array.from({ length: 30 }, (_, i) => `<circle cx="${(i * 97) % 1280}" cy="${(i * 211) % 960}" r="${30 + i * 3}" fill="#${((i * 123456) % 0xffffff).toString(16).padStart(6, "0")}" opacity="0.6"/>`).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="960"><defs><linearGradient id="g"><stop offset="0" stop-color="#3a6"/><stop offset="1" stop-color="#dc8"/></linearGradient></defs><rect width="1280" height="960" fill="url(#g)"/>${discs}</svg>`;
  const photo = await sharp(Buffer.from(svg)).blur(1.5).jpeg({ quality: 90 }).toBuffer();
  const b = await annotationsBundle(photo, { prediction: Array.from({ length: 10 }, (_, i) => ({ xyxy: [i * 100, i * 50, i * 100 + 200, i * 50 + 300], className: `c${i % 3}`, confidence: 0.5 })) });
  const bytes = Buffer.byteLength(JSON.stringify(b.data));
  const p = b.data[MIME.annotations] as AnnotationsPayload;
  assert.equal(Math.max(p.image.width, p.image.height), 640, "default preview is 640 px on the long side");
  assert.ok(p.image.src.startsWith("data:image/jpeg;base64,"), "photos as JPEG");
  const png = await sharp(Buffer.from(b.data["image/png"] as string, "base64")).metadata();
  assert.equal(Math.max(png.width!, png.height!), 480, "the PNG fallback is 480 px on the long side");
  assert.ok(bytes * 50 < 4e6, `one display is ${bytes} bytes (the ${photo.length}-byte source is 1280×960)`);
  assert.equal(hexToRgbForTest("#ff8000").join(), "255,128,0");
});

test("matching: predictions against truth as TP / FP / miss with IoU, per-class precision/recall; drawn in outcome colours with a legend", async () => {
  // truth: cat A, cat B, dog C.  prediction: cat ≈ A (tp), cat far from B (fp), dog ≈ C but low IoU 0.3 (fp) → B, C missed.
  const b = await annotationsBundle(grayImage(300, 200), {
    truth: [{ xyxy: [10, 10, 110, 110], className: "cat" }, { xyxy: [150, 10, 250, 60], className: "cat" }, { xyxy: [150, 100, 250, 190], className: "dog" }],
    prediction: [{ xyxy: [12, 12, 108, 112], className: "cat", confidence: 0.9 }, { xyxy: [20, 140, 60, 190], className: "cat", confidence: 0.8 }, { xyxy: [200, 100, 300, 190], className: "dog", confidence: 0.7 }],
  }, { labels: false });
  const p = b.data[MIME.annotations] as AnnotationsPayload;
  assert.equal(p.options.colorBy, "outcome", "outcome colouring is the default with truth and prediction");
  const [truth, pred] = p.layers;
  assert.deepEqual(pred.boxes.map((x) => x.outcome), ["tp", "fp", "fp"]);
  assert.deepEqual(truth.boxes.map((x) => x.outcome), ["tp", "fn", "fn"]);
  const iouA = (96 * 98) / (100 * 100 + 96 * 100 - 96 * 98);
  assert.ok(Math.abs(pred.boxes[0].iou! - iouA) < 1e-9 && truth.boxes[0].iou === pred.boxes[0].iou, `tp IoU ${pred.boxes[0].iou}`);
  assert.ok(Math.abs(pred.boxes[2].iou! - 50 / 150) < 1e-9, "an unmatched box reports its best overlap");
  const cat = p.classes.find((c) => c.name === "cat")!.id;
  const dog = p.classes.find((c) => c.name === "dog")!.id;
  assert.deepEqual(p.matching!.perClass.map((c) => [c.classId, c.tp, c.fp, c.fn, c.precision, c.recall]), [[cat, 1, 1, 1, 0.5, 0.5], [dog, 0, 1, 1, 0, 0]]);
  assert.deepEqual(p.matching!.total, { tp: 1, fp: 2, fn: 2, precision: 1 / 3, recall: 1 / 3 });
  // PNG: outcome colours on the edges; the text form lists outcomes, IoU and P/R.
  const png = await decodePng(b.data["image/png"] as string);
  near(png.px(12, 60), hexToRgbForTest(OUTCOME_COLORS.tp), 14, "TP prediction edge");
  near(png.px(20, 165), hexToRgbForTest(OUTCOME_COLORS.fp), 14, "FP prediction edge");
  near(png.px(150, 30), hexToRgbForTest(OUTCOME_COLORS.fn), 14, "missed truth edge (dashed, first dash)");
  assert.ok(png.height > 200 + 2 * 14, "legend rows below the image");
  const text = b.data["text/plain"] as string;
  assert.match(text, /cat 0\.9 \[12, 12, 108, 112\] TP IoU 0\.9/);
  assert.match(text, /dog \[150, 100, 250, 190\] missed IoU 0\.33/);
  assert.match(text, /P 0\.333 · R 0\.333 @ IoU 0\.5 · cat: P 0\.5 R 0\.5 · dog: P 0 R 0/);
  // colorBy "class" keeps class colours; a bad threshold names the option.
  const byClass = (await buildAnnotations(grayImage(64, 64), { truth: [], prediction: [] }, { colorBy: "class" })).payload;
  assert.equal(byClass.options.colorBy, "class");
  await assert.rejects(buildAnnotations(grayImage(8, 8), { prediction: [] }, { iouThreshold: 0 }), /iouThreshold/);
});

test("labels: placed without overlaps and never past the right edge (PNG and extension share placeLabels)", () => {
  // Two boxes at the same place (truth and prediction) and one at the right edge.
  const req = [{ box: [10, 30, 60, 80] as const, w: 50, h: 16 }, { box: [12, 32, 62, 82] as const, w: 50, h: 16 }, { box: [180, 40, 199, 60] as const, w: 60, h: 16 }];
  const pos = placeLabels(req, 200, 100);
  const rects = pos.map((q, i) => ({ ...q, w: req[i].w, h: req[i].h }));
  for (const r of rects) assert.ok(r.x >= 0 && r.x + r.w <= 200 && r.y >= 0 && r.y + r.h <= 100, `inside: ${JSON.stringify(r)}`);
  for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
    const [a, c] = [rects[i], rects[j]];
    assert.ok(!(a.x < c.x + c.w && c.x < a.x + a.w && a.y < c.y + c.h && c.y < a.y + a.h), `labels ${i} and ${j} overlap`);
  }
  assert.deepEqual(pos[0], { x: 10, y: 14 }, "first choice: above the box");
  assert.equal(pos[2].x, 140, "shifted left to end at the right edge");
});

test("PNG caption wrap: breaks at spaces, then between <loc> tokens, never inside one", async () => {
  const { wrapText } = await import("../../src/display/png.js");
  const text = "detect cat ; dog\n→ <loc0100><loc0120><loc0600><loc0560> cat ;\n    <loc0480><loc0500><loc0950><loc0980> dog";
  for (const cols of [12, 20, 37, 60]) {
    const lines = wrapText(text, cols);
    assert.ok(lines.every((l) => l.length <= cols), `cols ${cols}: ${JSON.stringify(lines)}`);
    assert.ok(lines.every((l) => /^(?:[^<>]|<loc\d{4}>)*$/.test(l)), `cols ${cols}: a token was cut: ${JSON.stringify(lines)}`);
    assert.equal(lines.join("").replace(/\s/g, ""), text.replace(/\s/g, ""), "nothing lost");
  }
  assert.deepEqual(wrapText("<loc0100><loc0120><loc0600><loc0560> cat", 60), ["<loc0100><loc0120><loc0600><loc0560> cat"], "an object that fits stays on one line");
});
