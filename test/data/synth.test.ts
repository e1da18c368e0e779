/**
 * Synthetic generators: deterministic by seed (same seed → byte-identical files, another seed → different),
 * the structure each promises (splits, counts, JSON suffixes, `<loc>` suffixes inside the image, COCO polygons
 * whose areas are pycocotools' areas), and that every set loads/validates without a problem. Glyph pixels are
 * never asserted (fonts differ between machines); shapes are checked through their masks.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { makeTmpDir } from "../helpers/tmp.js";
import { loadDataset } from "../../src/data/dataset.js";
import { Detections } from "../../src/codecs/detections.js";
import { SHAPE_CLASSES, synthDetection, synthSegmentation } from "../../src/data/synth/shapes.js";
import { MANIFEST_PREFIX, fontsAvailable, synthManifests } from "../../src/data/synth/manifests.js";
import { convertCocoFile, type CocoDataset } from "../../src/data/converters/coco.js";
import { maskArea, polygonsToMask, segmentationToMask } from "../../src/data/converters/coco-mask.js";
import { hashTree } from "./util.js";
import { repoRoot } from "../helpers/paths.js";

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await makeTmpDir();
});
after(() => tmp.cleanup());

describe("synthManifests", () => {
  const counts = { train: 2, valid: 1, test: 1 };
  it("writes 2×3 train photos + 1 + 1, JSON suffixes with the document fields, loadable without problems", async () => {
    const out = join(tmp.path, "man-a");
    const s = await synthManifests({ out, seed: 5, counts, trainVariants: 3, width: 224, height: 288 });
    assert.deepEqual(s.images, { train: 6, valid: 1, test: 1 });
    assert.equal(s.fonts, await fontsAvailable());
    const { train, valid, test } = await loadDataset(out, { policy: "error" });
    assert.deepEqual([train!.length, valid!.length, test!.length], [6, 1, 1]);
    const docs = [];
    for (let i = 0; i < train!.length; i++) {
      const ex = await train!.get(i);
      assert.equal(ex.prefix, MANIFEST_PREFIX);
      const doc = JSON.parse(ex.suffix);
      assert.match(doc.route_id, /^RT-\d{4}$/);
      assert.match(doc.shipment_id, /^SHP-\d{4}-\d{6}$/);
      assert.deepEqual(Object.keys(doc.delivery_address), ["name", "street", "city", "postal_code", "country"]);
      assert.ok(doc.items.length >= 3 && doc.items.every((it: { sku: string; quantity: number }) => /^SKU-\d{5}$/.test(it.sku) && Number.isInteger(it.quantity)));
      const total = doc.items.reduce((a: number, it: { weight_kg: number }) => a + it.weight_kg, 0);
      assert.ok(Math.abs(doc.total_weight_kg - total) < 0.06);
      docs.push(ex.suffix);
    }
    // ×3 variants: three photos per document, same JSON, different pixels
    assert.equal(new Set(docs).size, 2);
    assert.equal(docs[0], docs[2]);
    const d = train!.describe();
    assert.deepEqual([d.imageWidth.min, d.imageHeight.max, d.formats.jpeg], [224, 288, 6]);
    const a = await readFile((await train!.get(0)).image as string);
    const b = await readFile((await train!.get(1)).image as string);
    assert.ok(!a.equals(b), "two photos of one document differ");
  });

  it("is deterministic by seed", async () => {
    const [x, y, z] = [join(tmp.path, "man-x"), join(tmp.path, "man-y"), join(tmp.path, "man-z")];
    await synthManifests({ out: x, seed: 9, counts, trainVariants: 2, width: 160, height: 200 });
    await synthManifests({ out: y, seed: 9, counts, trainVariants: 2, width: 160, height: 200 });
    await synthManifests({ out: z, seed: 10, counts, trainVariants: 2, width: 160, height: 200 });
    assert.equal(await hashTree(x), await hashTree(y));
    assert.notEqual(await hashTree(x), await hashTree(z));
  });

  it("still works without any font (text as boxes), and says so", async () => {
    const conf = join(tmp.path, "no-fonts.conf");
    await writeFile(conf, `<?xml version="1.0"?><fontconfig><cachedir>${join(tmp.path, "fc-cache")}</cachedir></fontconfig>`);
    const mod = join(repoRoot(), "dist", "src", "data", "synth", "manifests.js");
    const code = `import { synthManifests } from ${JSON.stringify(mod)};
      const s = await synthManifests({ out: ${JSON.stringify(join(tmp.path, "man-nofont"))}, seed: 1, counts: { train: 1, valid: 0, test: 0 }, trainVariants: 1, width: 128, height: 160 });
      console.log(JSON.stringify(s));`;
    const stdout = await new Promise<string>((res, rej) =>
      execFile(process.execPath, ["--input-type=module", "-e", code], { env: { ...process.env, FONTCONFIG_FILE: conf } }, (e, out) => (e ? rej(e) : res(out))));
    const s = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.equal(s.fonts, false);
    assert.deepEqual(s.images, { train: 1 });
  });

  it("format compact: route, date, city and 1–2 items, JSON ≤ 131 characters, 224 × 224 photos, deterministic", async () => {
    const [x, y] = [join(tmp.path, "man-cx"), join(tmp.path, "man-cy")];
    const s = await synthManifests({ out: x, seed: 4, counts: { train: 6, valid: 1, test: 1 }, trainVariants: 2, format: "compact" });
    await synthManifests({ out: y, seed: 4, counts: { train: 6, valid: 1, test: 1 }, trainVariants: 2, format: "compact" });
    assert.equal(await hashTree(x), await hashTree(y));
    assert.deepEqual(s.images, { train: 12, valid: 1, test: 1 });
    const { train } = await loadDataset(x, { policy: "error" });
    const counts = new Set<number>();
    for (let i = 0; i < train!.length; i++) {
      const ex = await train!.get(i);
      assert.equal(ex.prefix, MANIFEST_PREFIX);
      assert.ok(ex.suffix.length <= 131, `${ex.suffix.length} characters`);
      const doc = JSON.parse(ex.suffix);
      assert.deepEqual(Object.keys(doc), ["route_id", "date", "city", "items"]);
      assert.match(doc.route_id, /^RT-\d{4}$/);
      assert.match(doc.date, /^20\d\d-\d\d-\d\d$/);
      assert.ok(doc.items.every((it: { sku: string; qty: number }) => /^SKU-\d{5}$/.test(it.sku) && Number.isInteger(it.qty)));
      counts.add(doc.items.length);
    }
    assert.deepEqual([...counts].sort(), [1, 2]);
    const d = train!.describe();
    assert.deepEqual([d.imageWidth.min, d.imageHeight.max], [224, 224]);
    await assert.rejects(synthManifests({ out: join(tmp.path, "bad"), format: "tiny" as never }), /format: expected "full" or "compact" or "grid"; got "tiny"/);
  });

  it("rejects bad options; train variants default to 5 (the seed's ×5)", async () => {
    await assert.rejects(synthManifests({ out: join(tmp.path, "bad"), seed: 1.5 }), /seed/);
    await assert.rejects(synthManifests({ out: join(tmp.path, "bad"), trainVariants: 0 }), /trainVariants/);
    await assert.rejects(synthManifests({ out: join(tmp.path, "bad"), counts: { train: -1 } }), /train/);
    const s = await synthManifests({ out: join(tmp.path, "man-d"), seed: 1, counts: { valid: 0, test: 0, train: 1 }, width: 128, height: 160 });
    assert.deepEqual(s.images, { train: 5 });
  });
});

describe("synthDetection", () => {
  it("writes <loc> suffixes for shapes inside the image, the same boxes as COCO, and is deterministic", async () => {
    const out = join(tmp.path, "det");
    const s = await synthDetection({ out, seed: 2, counts: { train: 12, valid: 3, test: 3 } });
    assert.deepEqual(s.images, { train: 12, valid: 3, test: 3 });
    const { train } = await loadDataset(out, { policy: "error" });
    let objects = 0;
    for (let i = 0; i < train!.length; i++) {
      const ex = await train!.get(i);
      assert.equal(ex.prefix, "detect circle ; square ; triangle ; five-point star ; playing card");
      const meta = await sharp(ex.image).metadata();
      assert.deepEqual([meta.width, meta.height, meta.format], [320, 240, "jpeg"]);
      const d = Detections.fromPaligemma(ex.suffix, { imageWidth: 320, imageHeight: 240, classes: [...SHAPE_CLASSES] });
      const raw = ex.suffix === "" ? 0 : ex.suffix.split(" ; ").length;
      assert.equal(d.length, raw, "every object parses back with a known class");
      for (let k = 0; k < d.length; k++) {
        const [x1, y1, x2, y2] = d.box(k);
        assert.ok(x2 - x1 > 5 && y2 - y1 > 5 && x2 <= 320 && y2 <= 240, ex.suffix);
      }
      objects += d.length;
    }
    assert.ok(objects >= 12, `some objects: ${objects}`);
    // the COCO file beside it converts to the identical JSONL
    const conv = join(tmp.path, "det-conv");
    await convertCocoFile(join(out, "train", "_annotations.coco.json"), conv);
    assert.equal(await readFile(join(conv, "annotations.jsonl"), "utf8"), await readFile(join(out, "train", "annotations.jsonl"), "utf8"));
    const again = join(tmp.path, "det-again");
    await synthDetection({ out: again, seed: 2, counts: { train: 12, valid: 3, test: 3 } });
    assert.equal(await hashTree(out), await hashTree(again));
  });
});

describe("synthSegmentation", () => {
  it("writes COCO polygons (pycocotools areas) whose masks are the drawn shapes", async () => {
    const out = join(tmp.path, "seg");
    const s = await synthSegmentation({ out, seed: 4, counts: { train: 5, valid: 2, test: 0 } });
    assert.deepEqual(s.images, { train: 5, valid: 2 });
    assert.deepEqual((await readdir(out)).sort(), ["train", "valid"]);
    const coco = JSON.parse(await readFile(join(out, "train", "_annotations.coco.json"), "utf8")) as CocoDataset;
    assert.deepEqual(coco.categories.map((c) => c.name), [...SHAPE_CLASSES]);
    assert.equal(coco.images.length, 5);
    assert.ok(coco.annotations.length >= 5);
    for (const a of coco.annotations) {
      const im = coco.images.find((i) => i.id === a.image_id)!;
      assert.ok(Array.isArray(a.segmentation) && a.segmentation.length === 1 && a.segmentation[0].length >= 6);
      const mask = segmentationToMask(a.segmentation, im.width, im.height);
      assert.equal(a.area, maskArea(mask));
      assert.equal(a.iscrowd, 0);
      const [x, y, w, h] = a.bbox;
      assert.ok(x >= 0 && y >= 0 && x + w <= im.width && y + h <= im.height);
    }
    // the shapes are drawn where their masks are: mean colour inside the masks vs the background of each image
    for (const im of coco.images) {
      const anns = coco.annotations.filter((a) => a.image_id === im.id);
      if (anns.length === 0) continue;
      const { data, info } = await sharp(join(out, "train", im.file_name)).raw().toBuffer({ resolveWithObject: true });
      const union = polygonsToMask(anns.map((a) => (a.segmentation as number[][])[0]), im.width, im.height);
      const mean = (inside: boolean) => {
        const sum = [0, 0, 0];
        let n = 0;
        union.data.forEach((m, p) => {
          if (Boolean(m) !== inside) return;
          for (let c = 0; c < 3; c++) sum[c] += data[p * info.channels + c];
          n++;
        });
        return sum.map((v) => v / n);
      };
      const [fg, bg] = [mean(true), mean(false)];
      const delta = fg.reduce((a, v, c) => a + Math.abs(v - bg[c]), 0);
      assert.ok(delta > 20, `${im.file_name}: shapes should stand out from the background (Σ|Δ mean| = ${delta.toFixed(1)})`);
    }
  });
});

