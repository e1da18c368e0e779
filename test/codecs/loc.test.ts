/**
 * The `<loc>` codec: encoding against numpy's big_vision formula, decoding (/1023), edges, non-square images,
 * formatting, and the total text parser (tables + a garbage property test).
 *
 * Reference: test/fixtures/data/reference.json `loc_encode`, written by gen_reference.py as
 *   int(np.clip(np.round(v / size * 1023), 0, 1023))    # big_vision refcoco_mask2str, tf.round = half to even
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  LOC_MAX,
  decodeBoxLocs,
  decodeLocValue,
  detectionPrefix,
  encodeBoxLocs,
  encodeLocValue,
  formatLocObject,
  formatLocObjects,
  locToken,
  parseLocText,
  roundHalfEven,
  segToken,
} from "../../src/codecs/loc.js";
import { mulberry32 } from "../../src/data/random.js";
import { fixture } from "../data/util.js";

const ref = JSON.parse(readFileSync(fixture("reference.json"), "utf8"));

describe("loc encoding", () => {
  it("matches numpy's clip(round(v/size·1023), 0, 1023) on 160 values incl. .5 ties, edges and out-of-range", () => {
    const cases = ref.loc_encode as { value: number; size: number; bin: number }[];
    assert.ok(cases.length >= 100);
    const ties = cases.filter((c) => Math.abs(((c.value / c.size) * 1023) % 1) === 0.5);
    assert.ok(ties.length >= 5, `fixture should contain exact ties, has ${ties.length}`);
    for (const c of cases) assert.equal(encodeLocValue(c.value, c.size), c.bin, `v=${c.value} size=${c.size}`);
  });

  it("rounds halves to even like tf.round (table)", () => {
    const rows: [number, number][] = [
      [0.5, 0], // tie → even 0 (Math.round would give 1)
      [1.5, 2],
      [2.5, 2],
      [511.5, 512],
      [1022.5, 1022],
      [3.49, 3],
      [3.51, 4],
      [-0.5, -0],
      [-1.5, -2],
    ];
    for (const [x, want] of rows) assert.equal(roundHalfEven(x), want, `round(${x})`);
  });

  it("maps the image edges to bins 0 and 1023 and clamps outside values (table)", () => {
    const rows: [number, number, number][] = [
      // value, size, bin
      [0, 480, 0],
      [480, 480, LOC_MAX],
      [-10, 480, 0], // left of the image
      [10_000, 480, LOC_MAX], // right of it
      [240, 480, 512], // 511.5 → even 512
      [1, 1, LOC_MAX],
    ];
    for (const [v, s, b] of rows) assert.equal(encodeLocValue(v, s), b, `${v}/${s}`);
  });

  it("rejects non-finite values and bad sizes (table)", () => {
    const rows: [number, number][] = [[NaN, 10], [Infinity, 10], [1, 0], [1, -5], [1, NaN]];
    for (const [v, s] of rows) assert.throws(() => encodeLocValue(v, s), RangeError, `${v}/${s}`);
    assert.throws(() => encodeBoxLocs([0, 0, 1, 1], { imageWidth: 0, imageHeight: 10 }), /imageWidth and imageHeight/);
  });

  it("encodes boxes in y1 x1 y2 x2 order on a non-square image", () => {
    // 640×480: x normalised by 640, y by 480
    assert.deepEqual(encodeBoxLocs([64, 48, 320, 480], { imageWidth: 640, imageHeight: 480 }), [102, 102, 1023, 512]);
    // 37×1000 (tall, narrow)
    assert.deepEqual(encodeBoxLocs([0, 500, 37, 1000], { imageWidth: 37, imageHeight: 1000 }), [512, 0, 1023, 1023]);
  });
});

describe("loc decoding (/1023, big_vision)", () => {
  it("sends bins 0 and 1023 back to the image edges exactly, non-square", () => {
    assert.deepEqual(decodeBoxLocs([0, 0, 1023, 1023], { imageWidth: 640, imageHeight: 480 }), [0, 0, 640, 480]);
    assert.deepEqual(decodeBoxLocs([0, 0, 1023, 1023], { imageWidth: 37, imageHeight: 1000 }), [0, 0, 37, 1000]);
    assert.ok(Math.abs(decodeLocValue(511, 1023) - 511) < 1e-9);
  });

  it("round-trips pixel boxes within half a bin on non-square images (property, 2000 boxes)", () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 2000; i++) {
      const w = 1 + Math.floor(rand() * 3000);
      const h = 1 + Math.floor(rand() * 3000);
      const xs = [rand() * w, rand() * w].sort((a, b) => a - b);
      const ys = [rand() * h, rand() * h].sort((a, b) => a - b);
      const box = [xs[0], ys[0], xs[1], ys[1]];
      const back = decodeBoxLocs(encodeBoxLocs(box, { imageWidth: w, imageHeight: h }), { imageWidth: w, imageHeight: h });
      const tol = [w, h, w, h].map((s) => s / (2 * LOC_MAX) + 1e-9);
      back.forEach((v, k) => assert.ok(Math.abs(v - box[k]) <= tol[k], `box ${box} on ${w}×${h}: ${back}`));
      // and bins survive decode → encode exactly
      const bins = encodeBoxLocs(box, { imageWidth: w, imageHeight: h });
      assert.deepEqual(encodeBoxLocs(decodeBoxLocs(bins, { imageWidth: w, imageHeight: h }), { imageWidth: w, imageHeight: h }), bins);
    }
  });
});

describe("loc formatting", () => {
  it("writes 4-digit tokens, one space before the label, objects joined by ' ; '", () => {
    assert.equal(locToken(0), "<loc0000>");
    assert.equal(locToken(1023), "<loc1023>");
    assert.equal(segToken(7), "<seg007>");
    assert.equal(
      formatLocObjects([{ locs: [1, 2, 3, 4], label: "hard hat" }, { locs: [5, 6, 7, 8], segs: [0, 127], label: " t-shirt " }]),
      "<loc0001><loc0002><loc0003><loc0004> hard hat ; <loc0005><loc0006><loc0007><loc0008><seg000><seg127> t-shirt",
    );
    assert.equal(formatLocObjects([]), "");
    assert.equal(detectionPrefix(["hard hat", "t-shirt", "cat"]), "detect hard hat ; t-shirt ; cat");
  });

  it("refuses what would not parse back (table)", () => {
    const bad: [() => unknown, RegExp][] = [
      [() => locToken(1024), /0\.\.1023/],
      [() => locToken(-1), /0\.\.1023/],
      [() => locToken(2.5), /integer/],
      [() => segToken(128), /0\.\.127/],
      [() => formatLocObject({ locs: [1, 2, 3], label: "x" }), /4 bins/],
      [() => formatLocObject({ locs: [1, 2, 3, 4], label: "a;b" }), /label/],
      [() => formatLocObject({ locs: [1, 2, 3, 4], label: "  " }), /label/],
      [() => formatLocObject({ locs: [1, 2, 3, 4], label: "<eos>" }), /label/],
      [() => detectionPrefix(["ok", "semi;colon"]), /class name/],
    ];
    for (const [f, re] of bad) assert.throws(f, re);
  });
});

describe("parseLocText (total parser)", () => {
  const L = (...b: number[]) => b.map(locToken).join("");
  const rows: { name: string; text: unknown; want: { locs: number[]; segs?: number[]; label: string }[] }[] = [
    { name: "empty string", text: "", want: [] },
    { name: "not a string", text: 42, want: [] },
    { name: "undefined", text: undefined, want: [] },
    { name: "plain text", text: "a cat on a mat", want: [] },
    { name: "one object", text: `${L(1, 2, 3, 4)} cat`, want: [{ locs: [1, 2, 3, 4], label: "cat" }] },
    { name: "two objects", text: `${L(1, 2, 3, 4)} cat ; ${L(5, 6, 7, 8)} dog`, want: [{ locs: [1, 2, 3, 4], label: "cat" }, { locs: [5, 6, 7, 8], label: "dog" }] },
    { name: "class name with spaces", text: `${L(0, 0, 1023, 1023)} traffic light`, want: [{ locs: [0, 0, 1023, 1023], label: "traffic light" }] },
    { name: "class name with hyphen", text: `${L(9, 9, 9, 9)} t-shirt`, want: [{ locs: [9, 9, 9, 9], label: "t-shirt" }] },
    { name: "whitespace collapsed", text: `${L(1, 2, 3, 4)}   hard \t hat  `, want: [{ locs: [1, 2, 3, 4], label: "hard hat" }] },
    { name: "no space before label", text: `${L(1, 2, 3, 4)}cat`, want: [{ locs: [1, 2, 3, 4], label: "cat" }] },
    { name: "partial run: 3 locs", text: `${L(1, 2, 3)} cat`, want: [] },
    { name: "partial run: 1 loc then a good object", text: `${L(1)} x ; ${L(1, 2, 3, 4)} dog`, want: [{ locs: [1, 2, 3, 4], label: "dog" }] },
    { name: "5 locs", text: `${L(1, 2, 3, 4, 5)} cat`, want: [] },
    { name: "8 locs (two boxes, one label)", text: `${L(1, 2, 3, 4, 5, 6, 7, 8)} cat`, want: [] },
    { name: "label missing", text: `${L(1, 2, 3, 4)} ; ${L(5, 6, 7, 8)} dog`, want: [{ locs: [5, 6, 7, 8], label: "dog" }] },
    { name: "label missing, next object directly", text: `${L(1, 2, 3, 4)} ${L(5, 6, 7, 8)} dog`, want: [{ locs: [5, 6, 7, 8], label: "dog" }] },
    { name: "bin out of range (<loc1024>)", text: `<loc0001><loc0002><loc1024><loc0004> cat`, want: [] },
    { name: "malformed loc token breaks the run", text: `<loc0001><loc12><loc0002><loc0003><loc0004> cat`, want: [] },
    { name: "extra tokens: <eos> after label", text: `${L(1, 2, 3, 4)} cat<eos>`, want: [{ locs: [1, 2, 3, 4], label: "cat" }] },
    { name: "extra tokens: pads and bos around", text: `<bos>${L(1, 2, 3, 4)} cat<eos><pad><pad>`, want: [{ locs: [1, 2, 3, 4], label: "cat" }] },
    { name: "extra text before first object", text: `detect cat\n${L(1, 2, 3, 4)} cat`, want: [{ locs: [1, 2, 3, 4], label: "cat" }] },
    { name: "newline separates objects", text: `${L(1, 2, 3, 4)} cat\n${L(5, 6, 7, 8)} dog`, want: [{ locs: [1, 2, 3, 4], label: "cat" }, { locs: [5, 6, 7, 8], label: "dog" }] },
    { name: "separator without spaces", text: `${L(1, 2, 3, 4)} cat;${L(5, 6, 7, 8)} dog`, want: [{ locs: [1, 2, 3, 4], label: "cat" }, { locs: [5, 6, 7, 8], label: "dog" }] },
    { name: "trailing separator", text: `${L(1, 2, 3, 4)} cat ;`, want: [{ locs: [1, 2, 3, 4], label: "cat" }] },
    { name: "16 segs", text: `${L(1, 2, 3, 4)}${[...Array(16).keys()].map(segToken).join("")} cat`, want: [{ locs: [1, 2, 3, 4], segs: [...Array(16).keys()], label: "cat" }] },
    { name: "segs after a partial run", text: `${L(1, 2, 3)}<seg001> cat`, want: [] },
    { name: "stray seg after a label ends it", text: `${L(1, 2, 3, 4)} cat<seg001> more`, want: [{ locs: [1, 2, 3, 4], label: "cat" }] },
    { name: "seg code out of range", text: `${L(1, 2, 3, 4)}<seg999> cat`, want: [] },
    { name: "unicode label", text: `${L(1, 2, 3, 4)} café ☕`, want: [{ locs: [1, 2, 3, 4], label: "café ☕" }] },
    { name: "lone '<' in label is text", text: `${L(1, 2, 3, 4)} a < b`, want: [{ locs: [1, 2, 3, 4], label: "a < b" }] },
    // An HTML-looking tag is label text, not a control token: the object is kept with its whole label.
    { name: "label containing </script>", text: `${L(1, 2, 3, 4)} cat</script> ; ${L(5, 6, 7, 8)} dog`, want: [{ locs: [1, 2, 3, 4], label: "cat</script>" }, { locs: [5, 6, 7, 8], label: "dog" }] },
    { name: "label that is only </script>", text: `${L(1, 2, 3, 4)} </script>`, want: [{ locs: [1, 2, 3, 4], label: "</script>" }] },
    { name: "turn marker ends the label", text: `${L(1, 2, 3, 4)} cat<end_of_turn>\nmore`, want: [{ locs: [1, 2, 3, 4], label: "cat" }] },
  ];
  for (const r of rows) {
    it(r.name, () => {
      assert.deepEqual(parseLocText(r.text), r.want.map((w) => ({ locs: w.locs, segs: w.segs ?? [], label: w.label })));
    });
  }

  it("round-trips random objects through formatLocObjects (property, 500 texts)", () => {
    const rand = mulberry32(11);
    const labels = ["cat", "hard hat", "t-shirt", "five-point star", "x", "traffic light"];
    for (let n = 0; n < 500; n++) {
      const objs = Array.from({ length: Math.floor(rand() * 6) }, () => ({
        locs: Array.from({ length: 4 }, () => Math.floor(rand() * 1024)) as [number, number, number, number],
        segs: rand() < 0.3 ? Array.from({ length: 16 }, () => Math.floor(rand() * 128)) : [],
        label: labels[Math.floor(rand() * labels.length)],
      }));
      assert.deepEqual(parseLocText(formatLocObjects(objs)), objs);
    }
  });

  it("never throws on garbage and only returns well-formed objects (property, 5000 random strings)", () => {
    const rand = mulberry32(3);
    const frags = ["<loc", ">", "<", ";", " ", "\n", "cat", "-", "<eos>", "<seg", "<pad>", "é", "\u0000", "<<", "0", "9999", "loc", "<loc0000", "🙂"];
    const piece = (): string => {
      const r = rand();
      if (r < 0.4) return `<loc${String(Math.floor(rand() * (rand() < 0.9 ? 1024 : 10000))).padStart(4, "0")}>`; // some > 1023
      if (r < 0.45) return `<seg${String(Math.floor(rand() * 1000)).padStart(3, "0")}>`;
      if (r < 0.9) return frags[Math.floor(rand() * frags.length)];
      return String.fromCharCode(Math.floor(rand() * 0xffff));
    };
    let found = 0;
    for (let n = 0; n < 5000; n++) {
      const text = Array.from({ length: Math.floor(rand() * 40) }, piece).join("");
      const objs = parseLocText(text);
      for (const o of objs) {
        assert.equal(o.locs.length, 4);
        assert.ok(o.locs.every((b) => Number.isInteger(b) && b >= 0 && b <= 1023), text);
        assert.ok(o.segs.every((c) => Number.isInteger(c) && c >= 0 && c <= 127), text);
        assert.ok(o.label.length > 0 && !/[;\n]|<loc\d{4}>|<seg\d{3}>/.test(o.label), JSON.stringify(o.label));
        assert.equal(o.label, o.label.trim());
      }
      found += objs.length;
    }
    assert.ok(found > 200, `the generator should produce parseable objects too; got ${found}`);
  });
});
