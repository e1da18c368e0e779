/**
 * The nano pretraining mixture: deterministic by (seed, index, level), the prompt formats it promises, answers that
 * match the picture's labels (glyph patches spell the OCR answer; detection boxes parse and cover labelled patches).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ORDER_MAX, PATCH_CLASSES, PRETRAIN_TASKS, pretrainSample, type PretrainTask } from "../../src/data/synth/pretrain.js";
import { SHAPE_CLASSES } from "../../src/data/synth/shapes.js";
import { parseLocText } from "../../src/codecs/loc.js";

const only = (task: PretrainTask) => Object.fromEntries(PRETRAIN_TASKS.map((t) => [t, t === task ? 1 : 0]));

describe("pretrainSample", () => {
  it("is a pure function of (seed, index, level): same bytes again, other bytes for another index or seed", async () => {
    const a = await pretrainSample({ seed: 3, index: 5, level: 0.7 });
    const b = await pretrainSample({ seed: 3, index: 5, level: 0.7 });
    assert.deepEqual(b, a);
    assert.equal(a.rgb.length, 224 * 224 * 3);
    assert.equal(a.patchLabels.length, 196);
    const c = await pretrainSample({ seed: 3, index: 6, level: 0.7 });
    const d = await pretrainSample({ seed: 4, index: 5, level: 0.7 });
    assert.notDeepEqual(c.rgb, a.rgb);
    assert.notDeepEqual(d.rgb, a.rgb);
  });

  it("ocr at level 0: one line whose non-space characters are exactly the labelled patches, left to right", async () => {
    for (let index = 0; index < 8; index++) {
      const s = await pretrainSample({ seed: 1, index, level: 0, mixture: only("ocr") });
      assert.equal(s.task, "ocr");
      assert.equal(s.prefix, "ocr");
      assert.ok(!s.suffix.includes("\n") && s.suffix.length >= 1, JSON.stringify(s.suffix));
      const labelled = [...s.patchLabels.entries()].filter(([, c]) => c > 0).sort((x, y) => (x[0] % 14) - (y[0] % 14));
      const spelled = labelled.map(([, c]) => String.fromCharCode(c + 0x20)).join("");
      assert.equal(spelled, s.suffix.replace(/ /g, ""));
    }
  });

  it("order labels number the labelled patches in reading order: the k-th glyph patch is the k-th character", async () => {
    for (const [level, index] of [[0, 0], [0, 3], [0.7, 1], [1, 2]] as const) {
      const s = await pretrainSample({ seed: 4, index, level, mixture: only("ocr") });
      const chars = s.suffix.replace(/[ \n]/g, "");
      const labelled = [...s.patchLabels.entries()].filter(([, c]) => c > 0);
      // background in one head is background in the other; a glyph patch's order index names its character
      assert.deepEqual([...s.orderLabels.entries()].filter(([, k]) => k > 0).map(([p]) => p), labelled.map(([p]) => p));
      for (const [p, c] of labelled) {
        const k = s.orderLabels[p]!;
        if (k < ORDER_MAX) assert.equal(String.fromCharCode(c + 0x20), chars[k - 1], `level ${level} #${index}: patch ${p} is character ${k} of ${JSON.stringify(s.suffix)}`);
      }
      // a glyph whose centre shares a patch with a later one is overwritten by it, so orders are distinct and rising
      const ks = labelled.map(([p]) => s.orderLabels[p]!).filter((k) => k < ORDER_MAX);
      assert.equal(new Set(ks).size, ks.length);
    }
  });

  it("caption order: the k-th shape from the left (the caption's k-th name) labels its patches k", async () => {
    for (let index = 0; index < 6; index++) {
      const s = await pretrainSample({ seed: 6, index, level: 0.2, mixture: only("caption") });
      const names = s.suffix === "nothing" ? [] : s.suffix.replace(" and ", ", ").split(", ");
      for (const [p, k] of s.orderLabels.entries()) {
        if (k === 0) continue;
        assert.ok(k <= names.length, `${s.suffix}: order ${k}`);
        assert.ok(names[k - 1]!.endsWith(` ${SHAPE_CLASSES[s.patchLabels[p]! - 95]}`), `${s.suffix}: patch ${p} is ${SHAPE_CLASSES[s.patchLabels[p]! - 95]}, order ${k}`);
      }
    }
  });

  it("maxChars caps each line: 1..maxChars glyphs, both counts occurring; the level alone gives longer lines", async () => {
    const capped = new Set<number>();
    let longest = 0;
    for (let index = 0; index < 16; index++) {
      const s = await pretrainSample({ seed: 7, index, level: 0, mixture: only("ocr"), maxChars: 2 });
      capped.add(s.suffix.length);
      assert.equal([...s.patchLabels].filter((c) => c > 0).length, s.suffix.replace(/ /g, "").length);
      const free = await pretrainSample({ seed: 7, index, level: 0, mixture: only("ocr") });
      longest = Math.max(longest, free.suffix.length);
    }
    assert.deepEqual([...capped].sort(), [1, 2]);
    assert.ok(longest >= 3, `longest uncapped line ${longest}`);
  });

  it("alphabet: the text is drawn from it alone, the scene otherwise unchanged; spaces or non-ASCII are refused", async () => {
    for (let index = 0; index < 6; index++) {
      const s = await pretrainSample({ seed: 8, index, level: 0.3, mixture: only("ocr"), alphabet: "0123456789" });
      assert.match(s.suffix, /^[0-9][0-9 \n]*$/, s.suffix);
      const free = await pretrainSample({ seed: 8, index, level: 0.3, mixture: only("ocr") });
      // the same layout: line and word structure are kept, only the characters differ
      assert.equal(s.suffix.replace(/[^ \n]/g, "x"), free.suffix.replace(/[^ \n]/g, "x"));
    }
    await assert.rejects(pretrainSample({ seed: 0, index: 0, level: 0, alphabet: "a b" }), /alphabet: got "a b"/);
  });

  it("ocr at level 1 draws blocks of several lines of smaller text", async () => {
    const lines = [];
    for (let index = 0; index < 12; index++) {
      const s = await pretrainSample({ seed: 2, index, level: 1, mixture: only("ocr") });
      lines.push(s.suffix.split("\n").length);
    }
    assert.ok(Math.max(...lines) >= 3, `lines per sample: ${lines}`);
  });

  it("detect: asks shape classes, answers parseable boxes of asked classes over their labelled patches", async () => {
    let objects = 0;
    for (let index = 0; index < 10; index++) {
      const s = await pretrainSample({ seed: 5, index, level: 0.3, mixture: only("detect") });
      assert.match(s.prefix, /^detect /);
      const asked = s.prefix.slice("detect ".length).split(" ; ");
      assert.ok(asked.every((c) => (SHAPE_CLASSES as readonly string[]).includes(c)), s.prefix);
      const found = parseLocText(s.suffix);
      assert.equal(found.length, s.suffix === "" ? 0 : s.suffix.split(" ; ").length);
      for (const o of found) {
        assert.ok(asked.includes(o.label));
        const [y1, x1, y2, x2] = Array.from(o.locs, (v) => (v / 1023) * 14); // in patch units
        assert.ok(y1 < y2 && x1 < x2);
        const cls = 95 + SHAPE_CLASSES.indexOf(o.label as never);
        const cy = Math.min(13, Math.floor((y1 + y2) / 2));
        const cx = Math.min(13, Math.floor((x1 + x2) / 2));
        assert.ok([...s.patchLabels].some((c, p) => c === cls && Math.abs((p % 14) - cx) <= 2 && Math.abs(Math.floor(p / 14) - cy) <= 2),
          `${o.label} box centre has its class among nearby patch labels`);
        objects++;
      }
      assert.ok(s.patchLabels.every((c) => c === 0 || (c >= 95 && c < PATCH_CLASSES)));
    }
    assert.ok(objects > 0);
  });

  it("caption, refer and vqa use PaliGemma's prompt words", async () => {
    const prefixes = new Set<string>();
    for (let index = 0; index < 30; index++) {
      const s = await pretrainSample({ seed: 9, index, level: 0.5, mixture: { ocr: 0, caption: 1, detect: 0, refer: 1, vqa: 1 } });
      prefixes.add(s.prefix.split(" ")[0]!);
      if (s.task === "caption") assert.equal(s.prefix, "caption en");
      if (s.task === "vqa") assert.match(s.prefix, /^answer en /);
      if (s.task === "refer") assert.match(s.prefix, /^(detect |ocr$|answer en )/);
      assert.ok(s.suffix.length > 0 || s.task === "detect");
    }
    assert.ok(prefixes.has("caption") && prefixes.has("answer") && prefixes.has("detect"));
  });

  it("rejects a size that is not a multiple of the patch", async () => {
    await assert.rejects(pretrainSample({ seed: 0, index: 0, level: 0, size: 100, patch: 16 }), /multiple of patch/);
  });
});
