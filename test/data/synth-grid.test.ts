/**
 * Grid text (one glyph per 16 px patch cell): the cells of a known render, the pretraining layout "grid" (its patch
 * labels spell the OCR answer row by row, and the ink is in the labelled cells), and the "grid" pallet manifests
 * (every value fits a 14-cell row, the rows are the JSON's values, photos keep the grid).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { withTmpDir } from "../helpers/tmp.js";
import { Random } from "../../src/data/synth/common.js";
import { GRID_CELL, GRID_CELLS, defaultGridStyle, gridText } from "../../src/data/synth/grid-text.js";
import { PRETRAIN_TASKS, pretrainSample } from "../../src/data/synth/pretrain.js";
import { gridManifestLines, renderGridManifest } from "../../src/data/synth/manifests-grid.js";
import { MANIFEST_PREFIX, makeCompactManifest, synthManifests } from "../../src/data/synth/manifests.js";
import { loadDataset } from "../../src/data/dataset.js";

const ocrOnly = Object.fromEntries(PRETRAIN_TASKS.map((t) => [t, t === "ocr" ? 1 : 0]));

/** Per cell (row-major): the standard deviation of the grey level of its 16 × 16 pixels. rgb: 224·224·3. */
function cellSpread(rgb: Uint8Array): number[] {
  const out: number[] = [];
  for (let r = 0; r < GRID_CELLS; r++) {
    for (let c = 0; c < GRID_CELLS; c++) {
      const v: number[] = [];
      for (let y = r * GRID_CELL; y < (r + 1) * GRID_CELL; y++) {
        for (let x = c * GRID_CELL; x < (c + 1) * GRID_CELL; x++) {
          const i = (y * 224 + x) * 3;
          v.push((rgb[i]! + rgb[i + 1]! + rgb[i + 2]!) / 3);
        }
      }
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      out.push(Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length));
    }
  }
  return out;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

describe("gridText", () => {
  it("puts character i of line l in cell (row0 + l·rowStep, col0 + i); spaces stay empty; the ink stays in its cell", async () => {
    const g = gridText(["Ab 1", "XY"], { style: defaultGridStyle(), row0: 3, col0: 2, rowStep: 2 }, new Random(0));
    assert.deepEqual(g.glyphs.map((x) => [x.ch, x.row, x.col]), [["A", 3, 2], ["b", 3, 3], ["1", 3, 5], ["X", 5, 2], ["Y", 5, 3]]);
    assert.deepEqual(g.words, [{ text: "Ab", row: 3, col0: 2, col1: 3 }, { text: "1", row: 3, col0: 5, col1: 5 }, { text: "XY", row: 5, col0: 2, col1: 3 }]);
    assert.deepEqual(g.glyphs.map((x) => [x.cx, x.cy]), g.glyphs.map((x) => [x.col * 16 + 8, x.row * 16 + 8]), "no jitter: centred");
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="224" height="224"><rect width="224" height="224" fill="#fff"/>${g.svg}</svg>`;
    const rgb = new Uint8Array(await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer());
    const spread = cellSpread(rgb);
    const inked = spread.map((s, p) => (s > 1 ? p : -1)).filter((p) => p >= 0);
    assert.deepEqual(inked, g.glyphs.map((x) => x.row * 14 + x.col), "ink in exactly the glyphs' cells");
  });

  it("refuses a line that does not fit the 14 cells", () => {
    assert.throws(() => gridText(["ABCDEFGHIJKLMNO"], { style: defaultGridStyle(), row0: 0, col0: 0 }, new Random(0)), /does not fit 14 × 14/);
    assert.throws(() => gridText(["AB"], { style: defaultGridStyle(), row0: 14, col0: 0 }, new Random(0)), /row 14/);
  });
});

describe("pretrainSample layout grid", () => {
  it("labels patch row·14 + col with the glyph drawn there: the labels read row-major spell the OCR answer, and the ink is in them", async () => {
    let lines = 0;
    for (let index = 0; index < 6; index++) {
      const s = await pretrainSample({ seed: 2, index, level: index / 5, mixture: ocrOnly, layout: "grid" });
      assert.equal(s.prefix, "ocr");
      lines = Math.max(lines, s.suffix.split("\n").length);
      const read = [...s.patchLabels].filter((c) => c > 0).map((c) => String.fromCharCode(c + 0x20)).join("");
      assert.equal(read, s.suffix.replace(/[\s]/g, ""), `sample ${index}`);
      // each labelled row holds one line: the labels of row r, left to right, are that line without its spaces
      const rows = [...Array(14).keys()].map((r) => [...s.patchLabels.slice(r * 14, r * 14 + 14)].filter((c) => c > 0).map((c) => String.fromCharCode(c + 0x20)).join("")).filter((t) => t !== "");
      assert.deepEqual(rows, s.suffix.split("\n").map((l) => l.replace(/ /g, "")));
      if (index === 0) { // level 0: little noise, no blur; the labelled cells are where the ink is
        const spread = cellSpread(s.rgb);
        const [fg, bg] = [spread.filter((_, p) => s.patchLabels[p]! > 0), spread.filter((_, p) => s.patchLabels[p] === 0)];
        assert.ok(mean(fg) > 3 * mean(bg), `labelled ${mean(fg).toFixed(1)} vs empty ${mean(bg).toFixed(1)}`);
      }
    }
    assert.ok(lines > 1, "higher levels draw several lines");
  });

  it("refuses the grid at another geometry, and an unknown layout", async () => {
    await assert.rejects(pretrainSample({ seed: 0, index: 0, level: 0, layout: "grid", size: 256 }), /layout "grid": needs size 224 and patch 16/);
    await assert.rejects(pretrainSample({ seed: 0, index: 0, level: 0, layout: "diagonal" as never }), /layout: got "diagonal"/);
  });
});

describe("grid manifests", () => {
  it("rows are the compact document's values, each within 14 cells; the photo's ink is in those rows", async () => {
    for (let k = 0; k < 20; k++) {
      const rng = new Random(k);
      const doc = makeCompactManifest(rng);
      const lines = gridManifestLines(doc);
      assert.deepEqual(lines.slice(1, 4), [doc.route_id, doc.date, doc.city]);
      assert.deepEqual(lines.slice(4), doc.items.map((it) => `${it.sku} x${it.qty}`));
      assert.ok(lines.every((l) => l.length <= 14), JSON.stringify(lines));
      if (k < 3) {
        const rgb = await renderGridManifest(doc, rng, new Random(100 + k));
        const rowInk = [...Array(14).keys()].map((r) => mean(cellSpread(rgb).slice(r * 14, r * 14 + 14)));
        const inked = rowInk.filter((v) => v > 2 * Math.min(...rowInk)).length;
        assert.ok(inked >= lines.length && inked <= 2 * lines.length, `${inked} rows with ink for ${lines.length} lines`);
      }
    }
  });

  it("format grid: the compact JSON, 224 × 224 photos, deterministic; other sizes refused", async () => {
    await withTmpDir(async (tmp) => {
      const s = await synthManifests({ out: join(tmp, "g"), seed: 5, counts: { train: 2, valid: 1, test: 1 }, trainVariants: 2, format: "grid" });
      assert.deepEqual(s.images, { train: 4, valid: 1, test: 1 });
      const again = await synthManifests({ out: join(tmp, "h"), seed: 5, counts: { train: 2, valid: 1, test: 1 }, trainVariants: 2, format: "grid" });
      assert.deepEqual(again.images, s.images);
      const { train } = await loadDataset(join(tmp, "g"), { policy: "error" });
      const a = await train!.get(0);
      const b = await train!.get(1);
      assert.equal(a.prefix, MANIFEST_PREFIX);
      assert.deepEqual(Object.keys(JSON.parse(a.suffix)), ["route_id", "date", "city", "items"]);
      assert.equal(b.suffix, a.suffix, "two photos of one document");
      const d = train!.describe();
      assert.deepEqual([d.imageWidth.min, d.imageHeight.max], [224, 224]);
      await assert.rejects(synthManifests({ out: join(tmp, "bad"), format: "grid", width: 448 }), /format "grid" draws one glyph per 16 px cell/);
    });
  });
});
