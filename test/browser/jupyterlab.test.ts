/**
 * The extension in a REAL JupyterLab (PyPI) in Debian's Chromium (playwright-core): a notebook whose cells run on
 * the tslab kernel and call `show(...)`, then checks on the rendered DOM and canvas pixels. Screenshots of each
 * view and the render benchmark (100 boxes + 20 masks on an 896 px image) go to test/browser/screenshots/.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { ARTIFACTS, labEnv, launchChromium, makeProject, startLab, writeNotebook, type LabServer } from "./lab.js";
import { goldenDir } from "../helpers/paths.js";
import { makeTmpDir } from "../helpers/tmp.js";

const EVIL = `<img src=x onerror="window.__pwned=1">`;
const COLORS = { cat: "#ff0000", dog: "#0000ff", [EVIL]: "#00c000" };

// Cells run by the tslab kernel. Image: a 320×240 vertical gradient (raw RGB), so box pixels differ from it.
const CELLS = [
  `import { show, liveTraining } from "paligemma-ts/kernel";
import { PaliGemmaForConditionalGeneration, SafetensorsCheckpoint, tf } from "paligemma-ts";
function gradient(w: number, h: number) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([200, Math.round(200 * y / h), 40], (y * w + x) * 3);
  return { data, width: w, height: h, channels: 3 as const };
}
const COLORS = ${JSON.stringify(COLORS)};
const EVIL = ${JSON.stringify(EVIL)};
const mask = new Uint8Array(320 * 240);
for (let y = 60; y < 140; y++) for (let x = 60; x < 160; x++) mask[y * 320 + x] = 1;`,
  `await show({ image: gradient(320, 240),
  truth: [{ xyxy: [40, 40, 180, 160], className: "cat" }, { xyxy: [200, 100, 300, 220], className: "dog" }],
  prediction: { xyxy: [[50, 50, 170, 150], [210, 110, 290, 210], [10, 180, 90, 230]], className: ["cat", "dog", EVIL], confidence: [0.91, 0.75, 0.33],
    mask: { data: new Uint8Array([...mask, ...new Uint8Array(320 * 240 * 2)]), width: 320, height: 240 } } },
  { colors: COLORS, title: "annotations", maskOpacity: 0.5, colorBy: "class" });`,
  `await show({ expected: { route: "R-17", total: 42, items: [{ sku: "A1", qty: 2 }], meta: { a: 1, b: 2 } },
  actual: '{"route": "R-17", "total": 41, "items": [{"sku": "A1", "qty": 2}], "meta": {"a": 1, "b": 2}, "note": "x"}' }, { title: "jsondiff" });
await show([1, 2, 3, 4].map((i) => ({ expected: { id: i, items: [{ qty: 1 }, { qty: 2 }] }, actual: { id: i, items: [{ qty: 1 }, { qty: i % 2 ? 2 : 5 }] } })), { title: "fields" });`,
  `// A short real training: Adam on the golden tiny PaliGemma 2, one dashboard output updated in place.
const GOLDEN = ${JSON.stringify(goldenDir("paligemma2-tiny"))};
const model = await PaliGemmaForConditionalGeneration.fromPretrained(GOLDEN, { backend: "cpu" });
const fx = await SafetensorsCheckpoint.open(GOLDEN + "/outputs.safetensors");
const T = async (n: string) => { const t = await fx.read(n); return tf.tensor(t.data, t.shape, t.dtype === "bool" ? "int32" : t.dtype); };
const batch = { pixelValues: await T("inputs.pixel_values"), inputIds: await T("inputs.input_ids"), attentionMask: await T("inputs.attention_mask"), tokenTypeIds: await T("inputs.token_type_ids"), labels: await T("inputs.labels") };
const opt = tf.train.adam(1e-2);
const vars = [...model.namedParameters().values()];
const STEPS = 16;
const live = liveTraining({ maxSteps: STEPS, title: "training" });
for (let step = 1; step <= STEPS; step++) {
  const cost = opt.minimize(() => model.forward(batch).loss! as tf.Scalar, true, vars)!;
  live.onLog({ step, epoch: step / STEPS, loss: (await cost.data())[0], learningRate: 1e-2 * (1 - step / STEPS), gradNorm: 2 / step, samplesPerSecond: 2 });
  cost.dispose();
  if (step === 8) live.onEvaluate({ step, metrics: { eval_loss: 2.5, eval_f1: 0.4 } });
  if (step === 16) live.onEvaluate({ step, metrics: { eval_loss: 2.0, eval_f1: 0.6 } });
  await new Promise((r) => setTimeout(r, 200));
}
live.onTrainEnd({});
tf.dispose(Object.values(batch));`,
  `const det = (a: number[], name: string) => "<loc" + a.map((v) => String(v).padStart(4, "0")).join("><loc") + "> " + name;
await show({ title: "report", aggregates: { f1: 0.55 }, rows: [
  { image: gradient(320, 240), prefix: "detect cat", target: det([100, 100, 600, 500], "cat"), prediction: det([120, 110, 640, 520], "cat"), scores: { f1: 0.9 } },
  { image: gradient(320, 240), prefix: "detect cat", target: det([100, 100, 600, 500], "cat"), prediction: det([700, 700, 900, 900], "cat"), scores: { f1: 0.1 } },
  { prefix: "extract", target: '{"a": 1, "b": 2}', prediction: '{"a": 1, "b": 3}', scores: { f1: 0.5 } },
] });`,
  `await show([0, 1, 2, 3, 4, 5].map((i) => ({ image: gradient(160, 120), prefix: "detect cat ; dog", suffix: "<loc0100><loc0100><loc0500><loc0500> cat ; <loc0" + (500 + i * 50) + "><loc0500><loc0900><loc0900> dog" })), { title: "dataset" });`,
  `// Prediction vs truth with masks: outcomes (TP / FP / missed), IoU, per-class P/R, mask outlines, zoom.
const rect = (x0: number, y0: number, x1: number, y1: number) => { const a = new Uint8Array(320 * 240); for (let y = y0; y < y1; y++) a.fill(1, y * 320 + x0, y * 320 + x1); return a; };
await show({ image: gradient(320, 240),
  truth: { xyxy: [[20, 20, 120, 120], [180, 20, 300, 100], [180, 140, 300, 220]], className: ["cat", "cat", "dog"],
    mask: { data: new Uint8Array([...rect(20, 20, 120, 120), ...rect(180, 20, 300, 100), ...rect(200, 160, 280, 200)]), width: 320, height: 240 } },
  prediction: { xyxy: [[24, 24, 124, 124], [40, 160, 100, 220]], className: ["cat", "cat"], confidence: [0.9, 0.6],
    mask: { data: new Uint8Array([...rect(24, 24, 124, 124), ...rect(40, 160, 100, 220)]), width: 320, height: 240 } } },
  { title: "outcomes", maskOpacity: 0.4 });`,
  `// A real evaluateModel run (stub model and processor: fast, no weights) with a live progress display, then its report.
import { evaluateModel } from "paligemma-ts";
import { liveProgress } from "paligemma-ts/kernel";
const box = (a: number) => "<loc" + String(a).padStart(4, "0") + "><loc" + String(a).padStart(4, "0") + "><loc" + String(a + 400).padStart(4, "0") + "><loc" + String(a + 400).padStart(4, "0") + "> cat";
const evalSet = { length: 12, get: async (i: number) => ({ image: "img-" + i + ".jpg", prefix: "detect cat", suffix: box(100) }) };
let calls = 0;
const processor = { collate: async (exs: unknown[]) => ({ pixelValues: tf.zeros([exs.length, 3, 2, 2]), inputIds: tf.ones([exs.length, 1], "int32"), attentionMask: tf.ones([exs.length, 1], "int32") }),
  decode: (ids: readonly number[]) => box(ids[0] % 3 === 0 ? 500 : 100) };
const stub = { generate: async (b: { inputIds: tf.Tensor }) => { await new Promise((r) => setTimeout(r, 250)); return { sequences: Array.from({ length: b.inputIds.shape[0] }, () => [1, calls++]) }; } };
const report = await evaluateModel(stub as any, processor as any, evalSet, { metrics: ["map"], batchSize: 2, onProgress: liveProgress({ label: "valid", intervalMs: 0 }) });
await show(report, { title: "evaluation" });`,
  `// Render benchmark: 100 boxes + 20 masks on an 896 px image, shown 5 times.
const N = 896;
const big = gradient(N, N);
const masks = new Uint8Array(100 * N * N);
for (let i = 0; i < 20; i++) for (let y = 0; y < 120; y++) masks.fill(1, i * N * N + (40 * i + y) * N + 20 * i, i * N * N + (40 * i + y) * N + 20 * i + 160);
const boxes = Array.from({ length: 100 }, (_, i) => [(i % 10) * 85 + 5, Math.floor(i / 10) * 85 + 5, (i % 10) * 85 + 80, Math.floor(i / 10) * 85 + 80]);
const dets = { xyxy: boxes, className: boxes.map((_, i) => "class " + (i % 7)), confidence: boxes.map((_, i) => (i % 10) / 10), mask: { data: masks, width: N, height: N } };
const pause = () => new Promise((r) => setTimeout(r, 800)); // each render measured on its own, not while the next output streams in
for (let k = 0; k < 5; k++) {
  await show(dets, { image: big, maxSize: 896, png: false, title: "bench " + k });
  await pause();
}
console.log("ALL " + "DONE");`,
];

let env: ReturnType<typeof labEnv>;
let tmp: { path: string; cleanup: () => Promise<void> };
let lab: LabServer;
let browser: Browser;
let page: Page;
const stepsSeen: number[] = [];

async function shot(selector: string, name: string) {
  await page.locator(selector).first().screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

const pixel = (sel: string, x: number, y: number, index = 0) =>
  page.evaluate(({ sel, x, y, index }) => {
    const c = document.querySelectorAll<HTMLCanvasElement>(sel)[index];
    return Array.from(c.getContext("2d")!.getImageData(x, y, 1, 1).data.slice(0, 3));
  }, { sel, x, y, index });

function near(actual: number[], expected: number[], tol: number, what: string) {
  assert.ok(actual.every((v, i) => Math.abs(v - expected[i]) <= tol), `${what}: rgb(${actual}) vs rgb(${expected}) ±${tol}`);
}

before(async () => {
  env = labEnv();
  tmp = await makeTmpDir("pgts-lab-");
  await mkdir(ARTIFACTS, { recursive: true });
  const project = join(tmp.path, "project");
  await mkdir(project);
  await makeProject(project);
  await writeNotebook(join(project, "views.ipynb"), CELLS);
  lab = await startLab(env, project, join(tmp.path, "state"));
  browser = await launchChromium(env);
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("pageerror", (e) => console.error("page error:", e.message));
});

after(async () => {
  await browser?.close();
  await lab?.stop();
  await tmp?.cleanup();
});

test("JupyterLab runs the notebook on tslab; every view renders with the extension", { timeout: 240_000 }, async () => {
  await page.goto(`${lab.url}/lab/tree/views.ipynb?token=${lab.token}`);
  await page.waitForFunction(() => (window as any).jupyterapp?.shell?.currentWidget?.sessionContext, undefined, { timeout: 60_000 });
  await page.evaluate(async () => {
    const w = (window as any).jupyterapp.shell.currentWidget;
    await w.context.ready;
    await w.sessionContext.ready;
  });
  assert.equal(await page.evaluate(() => (window as any).jupyterapp.shell.currentWidget.sessionContext.kernelDisplayName), "TypeScript");
  await page.evaluate(() => void (window as any).jupyterapp.commands.execute("notebook:run-all-cells"));
  // Watch the dashboard while the training cell runs.
  const deadline = Date.now() + 200_000;
  for (;;) {
    const state = await page.evaluate(() => {
      const t = document.querySelector(".jp-Paligemma-training");
      const text = [...document.querySelectorAll(".jp-OutputArea-output")].map((o) => o.textContent).join("");
      return { step: t?.getAttribute("data-step"), status: t?.getAttribute("data-status"), done: text.includes("ALL DONE"), error: document.querySelector(".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']")?.textContent };
    });
    if (state.status === "running" && state.step && stepsSeen.at(-1) !== Number(state.step)) stepsSeen.push(Number(state.step));
    if (state.error) assert.fail(`a cell failed: ${state.error}`);
    if (state.done) break;
    if (Date.now() > deadline) assert.fail(`notebook did not finish; server log:\n${lab.log().slice(-2000)}`);
    await page.waitForTimeout(100);
  }
  await page.waitForFunction(() => document.querySelectorAll(".jp-Paligemma-annotations[data-render-ms]").length >= 7);
  const counts = await page.evaluate(() => ["annotations", "jsondiff", "training", "report", "dataset", "progressView"].map((v) => document.querySelectorAll(`.jp-Paligemma-${v}`).length));
  assert.deepEqual(counts, [7, 2, 1, 2, 1, 1], "one rendered view per show() (and one progress display)");
  assert.equal(await page.evaluate(() => document.querySelectorAll(".jp-OutputArea-output .jp-RenderedImage").length), 0, "the extension's views win over the PNG fallback");
});

test("annotations: boxes at the right pixels, legend toggles a class, hover, opacity, side by side, labels as text", async () => {
  const sel = ".jp-Paligemma-annotations canvas";
  await shot(".jp-Paligemma-annotations", "annotations");
  // Image 320×240 shown at 320 px: box [50,50,170,150] (cat, prediction, solid #ff0000): left edge x=50.
  near(await pixel(sel, 50, 100), [255, 0, 0], 8, "cat left edge");
  near(await pixel(sel, 169, 100), [255, 0, 0], 8, "cat right edge");
  near(await pixel(sel, 100, 50), [255, 0, 0], 8, "cat top edge");
  near(await pixel(sel, 210, 160), [0, 0, 255], 8, "dog left edge");
  const base = (y: number) => [200, Math.round((200 * y) / 240), 40];
  near(await pixel(sel, 185, 100), base(100), 6, "outside every box and mask: the image");
  // Mask (60..159 × 60..139) blended at 0.5 over the image.
  near(await pixel(sel, 150, 130), [228, Math.round(0.5 * base(130)[1]), 20], 6, "mask at 50%");
  // Legend: hide "dog" → its edges show the image again.
  const dog = page.locator(".jp-Paligemma-legendItem", { hasText: "dog" }).first();
  await dog.click();
  assert.equal(await dog.getAttribute("aria-pressed"), "false");
  near(await pixel(sel, 210, 160), base(160), 6, "dog hidden");
  await dog.click();
  near(await pixel(sel, 210, 160), [0, 0, 255], 8, "dog shown again");
  // Hover over the cat box → class and score.
  const canvas = page.locator(sel).first();
  const bb = (await canvas.boundingBox())!;
  await page.mouse.move(bb.x + (120 * bb.width) / 320, bb.y + (70 * bb.height) / 240);
  const tip = page.locator(".jp-Paligemma-tooltip").first();
  await tip.waitFor({ state: "visible" });
  assert.match((await tip.textContent())!, /^cat · score 0\.91 · prediction · true positive · IoU 0\.71$/);
  // Mask opacity slider to 0: the mask interior is the image.
  await page.locator(".jp-Paligemma-opacity").first().fill("0");
  near(await pixel(sel, 150, 130), base(130), 6, "opacity 0");
  await page.locator(".jp-Paligemma-opacity").first().fill("100");
  near(await pixel(sel, 150, 130), [255, 0, 0], 6, "opacity 1");
  // Untrusted class name: shown literally, never parsed.
  const legendText = await page.locator(".jp-Paligemma-legend").first().textContent();
  assert.ok(legendText!.includes(EVIL), legendText!);
  assert.equal(await page.evaluate(() => (window as any).__pwned), undefined, "no onerror ran");
  assert.equal(await page.evaluate(() => document.querySelectorAll(".jp-Paligemma img[onerror]").length), 0);
  // Scales with the cell width (never upscaled past the preview): squeeze the output to 200 px.
  assert.equal(Math.round(bb.width), 320);
  const squeezed = await page.evaluate(() => {
    const n = document.querySelector<HTMLElement>(".jp-Paligemma-annotations")!;
    n.style.width = "200px";
    const r = n.querySelector("canvas")!.getBoundingClientRect();
    n.style.width = "";
    return [r.width, r.height];
  });
  assert.ok(squeezed[0] <= 200 && Math.abs(squeezed[1] / squeezed[0] - 240 / 320) < 0.02, `squeezed canvas ${squeezed}`);
  // Side by side.
  await page.locator(".jp-Paligemma-layoutToggle").first().click();
  assert.equal(await page.evaluate(() => document.querySelectorAll(".jp-Paligemma-annotations")[0].querySelectorAll("canvas").length), 2);
  near(await pixel(sel, 50, 100, 1), [255, 0, 0], 8, "prediction panel: cat left edge");
  await shot(".jp-Paligemma-annotations", "annotations-side-by-side");
});

test("JSON diff: the changed field is marked, extra field coloured, equal subtrees collapsed", async () => {
  const d = page.locator(".jp-Paligemma-jsondiff").first();
  assert.equal(await d.locator('[data-path="$.total"]').getAttribute("data-status"), "changed");
  assert.equal(await d.locator('[data-path="$.note"]').getAttribute("data-status"), "extra");
  assert.equal(await d.locator('[data-path="$.meta.a"]').count(), 0, "equal subtree collapsed");
  const counts = await d.locator(".jp-Paligemma-diffCounts").textContent();
  assert.match(counts!, /~ changed 1.*\+ extra 1/);
  const colors = await d.evaluate((n) => ["changed", "extra", "equal"].map((k) => getComputedStyle(n.querySelector(`.jp-Paligemma-diffRow.jp-Paligemma-diff-${k}`)!).backgroundColor));
  assert.notEqual(colors[0], colors[2], "changed rows are highlighted");
  await d.locator('[data-path="$.meta"] .jp-Paligemma-toggle').click();
  assert.equal(await d.locator('[data-path="$.meta.a"]').getAttribute("data-status"), "equal");
  await shot(".jp-Paligemma-jsondiff", "jsondiff");
  // Many samples: per-field accuracy table, worst field first.
  const fields = page.locator(".jp-Paligemma-jsondiff").nth(1).locator("table[aria-label='per-field accuracy'] tbody tr");
  assert.deepEqual(await fields.evaluateAll((rows) => rows.map((r) => [r.querySelector("code")!.textContent, r.lastElementChild!.textContent])), [["$.items[].qty", "6 / 8"], ["$.id", "4 / 4"]]);
  // Theme-aware: JupyterLab Dark changes the views' colours.
  const color = () => d.evaluate((n) => [getComputedStyle(n.closest(".jp-Paligemma")!).color, getComputedStyle(n.querySelector(".jp-Paligemma-diff-changed")!).color]);
  const light = await color();
  await page.evaluate(() => (window as any).jupyterapp.commands.execute("apputils:change-theme", { theme: "JupyterLab Dark" }));
  await page.waitForFunction(() => document.body.getAttribute("data-jp-theme-light") === "false");
  await page.waitForTimeout(300);
  const dark = await color();
  assert.notDeepEqual(dark, light, "text colours follow the theme");
  await shot(".jp-Paligemma-jsondiff", "jsondiff-dark");
  await page.evaluate(() => (window as any).jupyterapp.commands.execute("apputils:change-theme", { theme: "JupyterLab Light" }));
  await page.waitForFunction(() => document.body.getAttribute("data-jp-theme-light") === "true");
});

test("training dashboard: updated in place while training ran, plotly curves, metrics, final state", async () => {
  assert.ok(stepsSeen.length >= 3, `saw steps ${stepsSeen} while running`);
  assert.ok(stepsSeen.every((s, i) => i === 0 || s > stepsSeen[i - 1]));
  const t = page.locator(".jp-Paligemma-training").first();
  assert.equal(await t.getAttribute("data-status"), "done");
  assert.equal(await t.getAttribute("data-step"), "16");
  await page.waitForFunction(() => document.querySelectorAll(".jp-Paligemma-training .js-plotly-plot .scatterlayer .trace").length >= 3);
  assert.match((await t.locator(".jp-Paligemma-status").textContent())!, /^step 16 \/ 16 · epoch 1 · done in \d+s · 2 samples\/s · loss [\d.]+ · lr 0$/);
  assert.match((await t.locator(".jp-Paligemma-metrics").textContent())!, /eval @ step 16 \(2 evaluations\).*eval_f1\s*0\.6/);
  // Every logged scalar has a chart (gradNorm too), and each eval metric's history (2 points) has one.
  const charts = await t.locator(".jp-Paligemma-plot").evaluateAll((ns) => ns.map((n) => n.getAttribute("data-chart")));
  assert.deepEqual(charts, ["loss", "learningRate", "gradNorm", "samplesPerSecond", "eval_f1"]);
  const evalPoints = await t.locator('[data-chart="eval_f1"] .scatterlayer .trace .point').count();
  assert.equal(evalPoints, 2, "eval history: one marker per evaluation");
  // A constant series (samples/s = 2) gets a ±10 % axis, not −1…1.
  const ticks = await t.locator('[data-chart="samplesPerSecond"] .ytick text').allTextContents();
  assert.ok(ticks.length > 0 && ticks.every((x) => Number(x) >= 1.7 && Number(x) <= 2.3), `constant-series ticks ${ticks}`);
  // Smoothing and log scale redraw the same plots.
  await t.locator(".jp-Paligemma-logY").check();
  await page.waitForFunction(() => document.querySelector('.jp-Paligemma-training [data-chart="loss"] .ytick') !== null);
  await t.locator(".jp-Paligemma-smoothing").fill("60");
  assert.equal(await page.evaluate(() => document.querySelectorAll(".jp-Paligemma-training").length), 1, "one output");
  await shot(".jp-Paligemma-training", "training");
});

test("outcomes: TP / FP / missed colours, IoU in the tooltip, P/R in the legend, mask outlines, truth and prediction masks distinct, zoom", async () => {
  const view = page.locator(".jp-Paligemma-annotations", { has: page.locator(".jp-Paligemma-title", { hasText: "outcomes" }) }).first();
  await view.scrollIntoViewIfNeeded();
  const idx = await page.evaluate(() => [...document.querySelectorAll(".jp-Paligemma-annotations")].findIndex((n) => n.querySelector(".jp-Paligemma-title")?.textContent === "outcomes"));
  const px = (x: number, y: number) => page.evaluate(({ idx, x, y }) => {
    const c = document.querySelectorAll(".jp-Paligemma-annotations")[idx].querySelector("canvas")!;
    return Array.from(c.getContext("2d")!.getImageData(x, y, 1, 1).data.slice(0, 3));
  }, { idx, x, y });
  const hex = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
  await shot(`.jp-Paligemma-annotations >> nth=${idx}`, "outcomes");
  near(await px(24, 80), hex("#2e9e44"), 8, "TP prediction: green edge");
  near(await px(40, 190), hex("#e53935"), 8, "FP prediction: red edge");
  near(await px(182, 20), hex("#fb8c00"), 8, "missed truth: orange (dashed) edge");
  const legend = (await view.locator(".jp-Paligemma-outcomes").textContent())!;
  assert.match(legend, /true positive\s*1.*false positive\s*1.*missed\s*2.*P 0\.5 · R 0\.333 @ IoU 0\.5/);
  assert.match((await view.locator(".jp-Paligemma-legendItem", { hasText: "cat" }).textContent())!, /P 0\.5 R 0\.5/);
  // Mask outline: opaque tinted orange on the dog mask's top row; the interior is blended at 40 %.
  const base = (y: number) => [200, Math.round((200 * y) / 240), 40];
  const tintOrange = [253, 198, 128];
  near(await px(240, 160), tintOrange, 8, "mask outline opaque");
  near(await px(240, 180), base(180).map((v, i) => 0.6 * v + 0.4 * tintOrange[i]), 8, "mask interior at 40 %");
  // Truth (tinted) and prediction masks of one class differ.
  const truthOnly = await px(22, 60);
  const predOnly = await px(60, 121);
  assert.ok(truthOnly.some((v, i) => Math.abs(v - predOnly[i]) > 20), `truth ${truthOnly} vs prediction ${predOnly}`);
  // Tooltip: outcome and IoU (mask IoU 96·96 / (2·100² − 96·96) = 0.85).
  const canvas = view.locator("canvas").first();
  let bb = (await canvas.boundingBox())!;
  await page.mouse.move(bb.x + (70 * bb.width) / 320, bb.y + (70 * bb.height) / 240);
  const tip = view.locator(".jp-Paligemma-tooltip");
  await tip.waitFor({ state: "visible" });
  assert.match((await tip.textContent())!, /^cat · score 0\.9 · prediction · true positive · IoU 0\.85$/);
  // Zoom: + scales the canvas 1.5× inside a clipped viewport; fit resets.
  const w0 = bb.width;
  await view.locator(".jp-Paligemma-zoomBtn[aria-label='zoom in']").click();
  assert.equal(await view.getAttribute("data-zoom"), "1.5");
  bb = (await canvas.boundingBox())!;
  assert.ok(Math.abs(bb.width / w0 - 1.5) < 0.02, `zoomed width ${bb.width} vs ${w0}`);
  assert.match((await view.locator(".jp-Paligemma-zoomLevel").textContent())!, /150%/);
  const vp = view.locator(".jp-Paligemma-viewport").first();
  assert.ok(Math.abs((await vp.boundingBox())!.width / w0 - 1.5) < 0.02, "the view grows with the zoom (the output is wider than the image)");
  await shot(`.jp-Paligemma-annotations >> nth=${idx}`, "outcomes-zoomed");
  // Past the output's width the view stops growing and pans: drag 120 px to the left scrolls 120 px.
  for (let i = 0; i < 3; i++) await view.locator(".jp-Paligemma-zoomBtn[aria-label='zoom in']").click();
  const vb = (await vp.boundingBox())!;
  assert.ok(vb.width < (await canvas.boundingBox())!.width, "viewport narrower than the zoomed canvas");
  const before = await vp.evaluate((n) => n.scrollLeft);
  await page.mouse.move(vb.x + vb.width / 2, vb.y + 100);
  await page.mouse.down();
  await page.mouse.move(vb.x + vb.width / 2 - 120, vb.y + 100, { steps: 4 });
  await page.mouse.up();
  const after = await vp.evaluate((n) => n.scrollLeft);
  assert.ok(Math.abs(after - before - 120) <= 2, `drag panned ${after - before} px`);
  await shot(`.jp-Paligemma-annotations >> nth=${idx}`, "outcomes-zoomed-panned");
  await view.locator(".jp-Paligemma-zoomBtn[aria-label='fit']").click();
  assert.equal(await view.getAttribute("data-zoom"), "1");
});

test("evaluation progress: evaluateModel's onProgress drew one live output that ends done; its report shows every value", async () => {
  const p = page.locator(".jp-Paligemma-progressView").first();
  assert.equal(await p.getAttribute("data-status"), "done");
  assert.deepEqual([await p.getAttribute("data-done"), await p.getAttribute("data-total"), await p.getAttribute("data-task")], ["12", "12", "evaluate"]);
  assert.match((await p.textContent())!, /^evaluate valid 100% 12\/12 samples · [\d.]+ samples\/s · done in \d+s · map 0\.\d+$/);
  await shot(".jp-Paligemma-progressView", "progress-evaluation");
  const r = page.locator(".jp-Paligemma-report").nth(1);
  const agg = (await r.locator("table[aria-label='aggregate metrics']").textContent())!;
  assert.doesNotMatch(agg, /−∞|NaN/);
  assert.match(agg, /map\s*0\.\d+/);
  await shot(".jp-Paligemma-report >> nth=1", "report-evaluateModel");
});

test("evaluation report: worst first, sortable, a row opens its detail view", async () => {
  const r = page.locator(".jp-Paligemma-report").first();
  const order = () => r.locator("tbody tr[data-index]").evaluateAll((rows) => rows.map((x) => x.getAttribute("data-index")));
  assert.deepEqual(await order(), ["1", "2", "0"], "worst f1 first");
  await r.locator("th[data-key='score:f1'] button").click();
  assert.equal(await r.locator("th[data-key='score:f1']").getAttribute("aria-sort"), "descending");
  assert.deepEqual(await order(), ["0", "2", "1"]);
  await r.locator("tbody tr[data-index='1']").click();
  await r.locator(".jp-Paligemma-detail canvas").first().waitFor();
  await r.locator("tbody tr[data-index='2']").click();
  await r.locator(".jp-Paligemma-detail .jp-Paligemma-jsondiff").waitFor();
  assert.equal(await r.locator('.jp-Paligemma-detail [data-path="$.b"]').getAttribute("data-status"), "changed");
  await shot(".jp-Paligemma-report", "report");
});

test("dataset summary: thumbnail grid with labels", async () => {
  const d = page.locator(".jp-Paligemma-dataset").first();
  assert.equal(await d.locator(".jp-Paligemma-thumb").count(), 6);
  assert.equal(await d.locator(".jp-Paligemma-thumb figcaption").first().textContent(), "cat, dog");
  await shot(".jp-Paligemma-dataset", "dataset");
});

test("render benchmark: 100 boxes + 20 masks on an 896 px image render and redraw (timings logged and kept as an artifact)", async () => {
  const ms = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>(".jp-Paligemma-annotations")].filter((n) => n.querySelector(".jp-Paligemma-title")?.textContent?.startsWith("bench")).map((n) => Number(n.dataset.renderMs)),
  );
  assert.equal(ms.length, 5);
  // Re-render the last one 5 more times in place (legend toggle: all masks and boxes redrawn) and time it.
  const redraw = await page.evaluate(() => {
    const n = [...document.querySelectorAll<HTMLElement>(".jp-Paligemma-annotations")].at(-1)!;
    const b = n.querySelector<HTMLButtonElement>(".jp-Paligemma-legendItem")!;
    const out: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      b.click();
      n.querySelector("canvas")!.getContext("2d")!.getImageData(0, 0, 1, 1); // force the draw to finish
      out.push(performance.now() - t0);
    }
    return out;
  });
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[2];
  const result = { renderMs: ms, medianMs: median, maxMs: sorted[4], redrawMs: redraw, image: "896×896", boxes: 100, masks: 20, browser: await browser.version() };
  console.log(`render benchmark (Chromium ${result.browser}): first renders ${ms.map((x) => x.toFixed(1)).join(", ")} ms (median ${median.toFixed(1)}); redraws ${redraw.map((x) => x.toFixed(1)).join(", ")} ms`);
  await writeFile(join(ARTIFACTS, "render-benchmark.json"), JSON.stringify(result, null, 2));
  await shot(".jp-Paligemma-annotations >> nth=-1", "benchmark-896px");
  // Speed is a benchmark figure, not a pass/fail line: a shared CI machine under load doubles it (seen: median 128 ms
  // under load, 57–81 ms quiet). The figures are printed above and kept in render-benchmark.json.
  assert.ok(ms.every((x) => Number.isFinite(x) && x > 0) && redraw.every((x) => Number.isFinite(x) && x > 0), "every render and redraw completed");
  await page.screenshot({ path: join(ARTIFACTS, "jupyterlab.png") });
});

test("clearing outputs disposes every view (no leftover nodes or plots)", async () => {
  await page.evaluate(() => (window as any).jupyterapp.commands.execute("notebook:clear-all-cell-outputs"));
  await page.waitForFunction(() => document.querySelectorAll(".jp-Paligemma").length === 0);
  assert.equal(await page.evaluate(() => document.querySelectorAll(".js-plotly-plot, .jp-Paligemma-tooltip").length), 0);
});
