/**
 * notebooks/00-quickstart.ipynb executed end to end on the real tslab kernel (nbconvert), then its nbconvert HTML
 * opened in Debian's Chromium: the static fallbacks must show (PNG overlays with boxes at the right pixels, the
 * JSON-diff table marking the changed field, the SVG training curves) with no script in any output.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ARTIFACTS, executeNotebook, labEnv, launchChromium, notebookProblems, notebookToHtml, type LabEnv, type Notebook } from "./lab.js";
import { repoRoot } from "../helpers/paths.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { MIME, type AnnotationsPayload } from "../../src/display/protocol.js";
import { boxPixels } from "../../src/display/png.js";

let env: LabEnv;
let tmp: { path: string; cleanup: () => Promise<void> };
let executed: Notebook;
const nbDir = join(repoRoot(), "notebooks");

before(async () => {
  env = labEnv();
  tmp = await makeTmpDir("pgts-nb-");
  await mkdir(ARTIFACTS, { recursive: true });
});
after(async () => tmp?.cleanup());

test("00-quickstart runs end to end on tslab: forward = transformers' loss, generate = its ids, one bundle per display", async () => {
  // nbconvert runs the kernel in the notebook's folder, where node_modules/paligemma-ts links to this repo.
  const out = join(tmp.path, "00-quickstart.executed.ipynb");
  executed = await executeNotebook(env, join(nbDir, "00-quickstart.ipynb"), out);
  await copyFile(out, join(ARTIFACTS, "00-quickstart.executed.ipynb"));
  assert.deepEqual(notebookProblems(executed), []);
  const text = executed.cells.flatMap((c) => c.outputs ?? []).map((o) => (Array.isArray(o.text) ? o.text.join("") : (o.text ?? ""))).join("");
  assert.match(text, /loss 5\.93609/, "forward loss equals transformers 4.47's 5.936095");
  assert.match(text, /new ids \[ 245, 245, 121, 253, 253, 253 \]/, "greedy ids equal transformers'");
  const displays = executed.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "display_data");
  const kinds = displays.map((o) => Object.keys(o.data!).find((k) => k.startsWith("application/vnd.paligemma-ts.")));
  assert.deepEqual(kinds, [MIME.annotations, MIME.dataset, MIME.annotations, MIME.jsonDiff, MIME.training], "one output per display; the dashboard updated in place");
  for (const o of displays) assert.ok(o.data!["text/plain"] && (o.data!["text/html"] || o.data!["image/png"]), "every display has static fallbacks");
  const training = displays[4].data![MIME.training] as { status: string; step: number };
  assert.deepEqual([training.status, training.step], ["done", 8], "the saved notebook keeps the final dashboard state");
});

test("nbconvert HTML of the executed notebook shows the fallbacks (checked in Chromium)", async () => {
  assert.ok(executed, "needs the executed notebook of the previous test");
  const ipynb = join(tmp.path, "00-quickstart.executed.ipynb");
  await notebookToHtml(env, ipynb, join(tmp.path, "quickstart.html"));
  const browser = await launchChromium(env);
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // nbconvert's template links require.js/MathJax from a CDN: unreachable here, and not ours; don't wait for them.
    await page.route(/^https?:/, (r) => r.abort());
    await page.goto(pathToFileURL(join(tmp.path, "quickstart.html")).href, { waitUntil: "domcontentloaded" });
    const ours = await page.evaluate(() => {
      const outs = [...document.querySelectorAll(".jp-OutputArea-output")];
      return { outputs: outs.length, scripts: outs.reduce((a, o) => a + o.querySelectorAll("script").length, 0) };
    });
    assert.ok(ours.outputs >= 8);
    assert.equal(ours.scripts, 0, "no script in any output");

    // The first overlay (truth only): its PNG, decoded by the browser, has the class colour on the box edge.
    const payload = executed.cells.flatMap((c) => c.outputs ?? []).find((o) => o.data?.[MIME.annotations])!.data![MIME.annotations] as AnnotationsPayload;
    const box = payload.layers[0].boxes[0];
    const color = payload.classes.find((c) => c.id === box.classId)!.color;
    const { image } = payload;
    const [x0, y0, , y1] = boxPixels(box, image.width / image.naturalWidth, image.height / image.naturalHeight, image.width, image.height);
    const px = await page.evaluate(async ({ x, y }) => {
      const img = [...document.querySelectorAll<HTMLImageElement>(".jp-OutputArea-output img")].find((i) => i.src.startsWith("data:image/png"))!;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext("2d")!;
      ctx.drawImage(img, 0, 0);
      return { size: [img.naturalWidth, img.naturalHeight], rgb: Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)) };
    }, { x: x0, y: Math.round((y0 + y1) / 2) });
    assert.equal(px.size[0], image.width);
    assert.ok(px.size[1] > image.height, "the legend and caption band below the image");
    const want = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
    assert.ok(px.rgb.every((v, i) => Math.abs(v - want[i]) <= 12), `box edge pixel rgb(${px.rgb}) vs class colour ${color}`);

    // JSON diff table: the changed field is marked, equal subtrees closed; training curves as inline SVG.
    const diff = await page.evaluate(() => ({
      changed: document.querySelector('[data-path="$.shipment"]')?.getAttribute("data-status"),
      extra: document.querySelector('[data-path="$.note"]')?.getAttribute("data-status"),
      missing: document.querySelector('[data-path="$.items[sku=\\"B7\\"]"]')?.getAttribute("data-status"),
      polylines: document.querySelectorAll(".pgts-training svg polyline").length,
      status: document.querySelector(".pgts-training")?.getAttribute("data-status"),
    }));
    assert.deepEqual(diff, { changed: "changed", extra: "extra", missing: "missing", polylines: 2, status: "done" });
    // Dataset thumbnails keep their boxes (inline SVG rects over the image); the prediction overlay is matched.
    const thumbs = await page.evaluate(() => [...document.querySelectorAll(".pgts-dataset figure svg")].map((s) => [s.querySelectorAll("image").length, s.querySelectorAll("rect").length]));
    assert.deepEqual(thumbs, [[1, 2], [1, 1]], "one image and one rect per box in each thumbnail");
    const overlay = executed.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.[MIME.annotations])[1].data![MIME.annotations] as AnnotationsPayload;
    assert.deepEqual([overlay.options.colorBy, overlay.matching?.total.tp, overlay.matching?.total.fp], ["outcome", 2, 1]);
    await page.screenshot({ path: join(ARTIFACTS, "nbconvert-quickstart.png"), fullPage: true });
  } finally {
    await browser.close();
  }
});
