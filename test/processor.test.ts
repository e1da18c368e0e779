/**
 * PaliGemmaProcessor against transformers 4.47's PaliGemmaProcessor (SiglipImageProcessor + GemmaTokenizerFast,
 * Pillow). References: test/fixtures/processor/cases.json (ids, masks, token types, labels; the normalize table)
 * and test/fixtures/processor/pixels/*.webp (HF pixel_values as lossless uint8 levels), both made by
 * test/fixtures/processor/gen_processor.py from the images in test/fixtures/processor/images/.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { tf } from "../src/tf.js";
import { initBackend } from "../src/backend/select.js";
import { ConfigError } from "../src/config/errors.js";
import { TokenizerError } from "../src/io/tokenizer.js";
import { ImageError, loadPixelValues, pixelLut } from "../src/io/images.js";
import { PaliGemmaProcessor, ProcessorError, type ProcessorOptions } from "../src/data/processor.js";
import type { ModelBatch } from "../src/data/types.js";
import { repoRoot } from "./helpers/paths.js";
import { makeTmpDir } from "./helpers/tmp.js";

const FIX = join(repoRoot(), "test", "fixtures", "processor");
const TOK = join(repoRoot(), "test", "fixtures", "tokenizer");
const img = (name: string) => join(FIX, "images", name);

interface HfCase {
  name: string;
  size: 224 | 448;
  image_seq_length: number;
  images: string[];
  prefixes: string[];
  suffixes: string[] | null;
  padding: "longest" | "max_length";
  max_length: number | null;
  pixel_values_shape: number[];
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
  labels?: number[][];
}
const fixture = JSON.parse(await readFile(join(FIX, "cases.json"), "utf-8")) as {
  cases: HfCase[];
  normalize: { levels: number[][]; values: number[][] };
};

/** A checkpoint-like directory: the tokenizer fixture + preprocessor_config_<size>.json as preprocessor_config.json. */
async function checkpointDir(dir: string, size: 224 | 448): Promise<string> {
  await copyFile(join(TOK, "tokenizer.json"), join(dir, "tokenizer.json"));
  await copyFile(join(TOK, "tokenizer_config.json"), join(dir, "tokenizer_config.json"));
  await copyFile(join(FIX, `preprocessor_config_${size}.json`), join(dir, "preprocessor_config.json"));
  return dir;
}

async function rows(t: tf.Tensor): Promise<number[][]> {
  return (await t.array()) as number[][];
}

const tmp224 = await makeTmpDir();
const tmp448 = await makeTmpDir();
const dir224 = await checkpointDir(tmp224.path, 224);
const dir448 = await checkpointDir(tmp448.path, 448);
const open = (size: 224 | 448, options?: ProcessorOptions) => PaliGemmaProcessor.fromPretrained(size === 224 ? dir224 : dir448, options);

before(async () => {
  await initBackend({ backend: "cpu", force: true });
});
after(async () => {
  await tmp224.cleanup();
  await tmp448.cleanup();
});

describe("ids, masks, token types and labels equal transformers' PaliGemmaProcessor", () => {
  for (const c of fixture.cases) {
    test(c.name, async () => {
      const p = await open(c.size);
      assert.equal(p.imageSeqLength, c.image_seq_length);
      const b = await p.call(
        { images: c.images.map(img), prefixes: c.prefixes, suffixes: c.suffixes },
        { padding: c.padding === "max_length" ? "maxLength" : "longest", maxLength: c.max_length ?? undefined },
      );
      try {
        assert.deepEqual(b.pixelValues.shape, c.pixel_values_shape);
        const [ids, mask, types] = await Promise.all([rows(b.inputIds), rows(b.attentionMask), rows(b.tokenTypeIds)]);
        let hfIds = c.input_ids, hfMask = c.attention_mask, hfTypes = c.token_type_ids, hfLabels = c.labels;
        if (c.name === "leading_image_token") {
          // HF 4.47 routes prompts holding "<image>" through another branch that forgets the suffix's <eos>
          // (processing_paligemma.py); we strip the leading "<image>" and build the normal layout, <eos> included.
          const eos = p.tokenizer.eosTokenId;
          hfIds = hfIds.map((r) => [...r, eos]);
          hfMask = hfMask.map((r) => [...r, 1]);
          hfTypes = hfTypes!.map((r) => [...r, 1]);
          hfLabels = hfLabels!.map((r) => [...r, eos]);
        }
        assert.deepEqual(ids, hfIds);
        assert.deepEqual(mask, hfMask);
        for (let r = 0; r < ids.length; r++) {
          for (let l = 0; l < ids[r]!.length; l++) {
            const pad = hfMask[r]![l] === 0;
            // Pads: HF gives token type 0 (4.47's prefix-LM mask then un-masks them: the golden README's pad bug);
            // we give 1. Real tokens: HF's token_type_ids, or 0 for a prompt-only (generation) batch.
            const want = pad ? 1 : hfTypes ? hfTypes[r]![l] : 0;
            assert.equal(types[r]![l], want, `token type [${r},${l}]`);
            if (pad && hfTypes) assert.equal(hfTypes[r]![l], 0, "fixture: HF pads token types with 0");
          }
        }
        if (hfLabels) assert.deepEqual(await rows(b.labels!), hfLabels);
        else assert.equal(b.labels, undefined);
        assert.ok(b.inputIds.dtype === "int32" && b.pixelValues.dtype === "float32");
      } finally {
        tf.dispose(Object.values(b));
      }
    });
  }
});

/**
 * max and mean |Δ| between our pixels and HF's (its uint8 levels → floats through the normalize table, which
 * equals HF's own, see below). `edit` may alter ours first (negative controls).
 */
async function pixelDiff(p: PaliGemmaProcessor, image: string, ref: string, edit?: (x: Float32Array) => Float32Array): Promise<{ max: number; mean: number }> {
  let ours = await p.pixelValues([img(image)]);
  if (edit) ours = edit(ours);
  const { data, info } = await sharp(join(FIX, "pixels", ref)).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  const { height: H, width: W } = p.config;
  assert.equal(info.width * info.height, H * W, `${ref}: size`);
  const lut = pixelLut(p.config.normalization);
  let max = 0, sum = 0;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < H * W; i++) {
      const d = Math.abs(ours[c * H * W + i]! - lut[c * 256 + data[i * 3 + c]!]!);
      sum += d;
      if (d > max) max = d;
    }
  }
  return { max, mean: sum / ours.length };
}

describe("pixels vs transformers (Pillow) on the [-1, 1] scale", () => {
  // [image, reference, processor size, options, bound on max |Δ|]. Issue 3 bounds the mean at 0.01. Shrinking runs
  // in libvips (kernels differ from Pillow's: max bound 0.1, seen ≤ 0.063); enlarging runs the port of Pillow's
  // resampler, exact here (bound: one uint8 level, 2/255, room for another JPEG IDCT build).
  const LEVEL = 2 / 255;
  const table: [string, string, 224 | 448, ProcessorOptions, number][] = [
    ["photo.jpg", "photo_jpg_224.webp", 224, {}, 0.1], // JPEG 480×360, photo-like with text and shapes: shrink
    ["photo.jpg", "photo_jpg_448.webp", 448, {}, LEVEL], // 480×360 → 448: enlarges vertically
    ["photo.webp", "photo_webp_224.webp", 224, {}, 0.1], // lossy WebP 400×300
    ["exif6.jpg", "exif6_jpg_224.webp", 224, {}, 0.1], // EXIF orientation 6: stored 320×240, shown 240×320
    ["exif8_small.jpg", "exif8_small_jpg_224.webp", 224, {}, LEVEL], // orientation 8, 120×90 enlarged
    ["gray.png", "gray_png_224.webp", 224, {}, LEVEL], // L → RGB, 300×200
    ["la.png", "la_png_224.webp", 224, {}, LEVEL], // LA: alpha dropped
    ["rgba.png", "rgba_png_224.webp", 224, {}, LEVEL], // RGBA: alpha dropped, colour under transparency kept (HF 4.47)
    ["rgba.png", "rgba_png_224_white.webp", 224, { alpha: "white" }, 0.05], // composited on white (newer HF)
    ["cmyk.jpg", "cmyk_jpg_224.webp", 224, {}, LEVEL], // CMYK JPEG through Pillow's formula
    ["anim.gif", "anim_gif_224.webp", 224, {}, LEVEL], // first GIF frame, palette, 160×120
    ["tiny.png", "tiny_png_224.webp", 224, {}, LEVEL], // 7×5 random pixels enlarged 32×
    ["photo.jpg", "photo_jpg_224_bilinear.webp", 224, { resample: "bilinear-antialias" }, 0.1], // vs Pillow BILINEAR
    ["gray.png", "gray_png_224_bilinear.webp", 224, { resample: "bilinear-antialias" }, LEVEL],
  ];
  for (const [image, ref, size, options, maxBound] of table) {
    test(`${image} → ${ref}`, async (t) => {
      const { max, mean } = await pixelDiff(await open(size, options), image, ref);
      t.diagnostic(`${image} ${size}px ${JSON.stringify(options)}: max |Δ| ${max.toFixed(4)}, mean |Δ| ${mean.toFixed(5)}`);
      assert.ok(mean <= 0.01, `mean |Δ| ${mean} > 0.01`);
      assert.ok(max <= maxBound, `max |Δ| ${max} > ${maxBound}`);
    });
  }

  test("a wrong orientation, alpha treatment or image would fail these bounds", async () => {
    const p = await open(224);
    const rotate180 = (x: Float32Array) => {
      const plane = 224 * 224;
      const y = new Float32Array(x.length);
      for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) y[c * plane + i] = x[c * plane + plane - 1 - i]!;
      return y;
    };
    assert.ok((await pixelDiff(p, "exif6.jpg", "exif6_jpg_224.webp", rotate180)).mean > 0.05);
    assert.ok((await pixelDiff(await open(224, { alpha: "white" }), "rgba.png", "rgba_png_224.webp")).mean > 0.05);
    assert.ok((await pixelDiff(p, "photo.webp", "photo_jpg_224.webp")).mean > 0.05); // another photo
  });

  test("rescale + normalize equal HF's floats for all 256 levels (no resizing)", async () => {
    const p = await open(224);
    const lut = pixelLut(p.config.normalization);
    const { levels, values } = fixture.normalize;
    for (let c = 0; c < 3; c++) {
      levels[c]!.forEach((u, i) => assert.equal(lut[c * 256 + u], Math.fround(values[c]![i]!), `channel ${c} level ${u}`));
    }
    assert.equal(lut[0], -1);
    assert.equal(lut[255], 1);
  });

  test("results do not depend on decode concurrency", async () => {
    const p = await open(224);
    const images = ["photo.jpg", "cmyk.jpg", "rgba.png", "anim.gif"].map(img);
    const opts = { width: 224, height: 224, lut: pixelLut(p.config.normalization) };
    assert.deepEqual(await loadPixelValues(images, { ...opts, concurrency: 1 }), await loadPixelValues(images, { ...opts, concurrency: 8 }));
  });
});

describe("truncation never cuts image tokens (suffix first, then prefix)", () => {
  // Token counts come from the tokenizer alone: P = encode(prefix + "\n"), S = encode(suffix + "<eos>").
  const prefix = "answer en what is written on the large red sign";
  const suffix = "the quick brown fox jumps over the lazy dog";
  let p: PaliGemmaProcessor;
  let P: number[], S: number[];
  const warnings: string[] = [];
  before(async () => {
    p = await open(224, { onWarning: (m) => warnings.push(m) });
    P = p.tokenizer.encode(`${prefix}\n`, { addSpecialTokens: false });
    S = p.tokenizer.encode(`${suffix}<eos>`, { addSpecialTokens: false });
    assert.ok(P.length >= 6 && S.length >= 6, "fixture text long enough to cut");
  });
  const N = 256;
  const rowOf = (a: Int32Array, L: number, r = 0) => Array.from(a.subarray(r * L, (r + 1) * L));

  test("a row that fits is untouched and nothing is warned", () => {
    warnings.length = 0;
    const b = p.encodeText([prefix], [suffix], { maxLength: 1 + P.length + S.length, truncation: true });
    assert.equal(b.seqLength, N + 1 + P.length + S.length);
    assert.deepEqual(rowOf(b.inputIds, b.seqLength).slice(N), [p.tokenizer.bosTokenId, ...P, ...S]);
    assert.deepEqual(warnings, []);
  });

  test("suffix cut from its end, <eos> first; labels follow; one warning names the row", () => {
    warnings.length = 0;
    const keep = 3;
    const b = p.encodeText(["ocr", prefix], ["x", suffix], { maxLength: 1 + P.length + keep, truncation: true });
    const L = b.seqLength;
    assert.equal(L, N + 1 + P.length + keep); // row 1 is the longest after the cut
    const ids = rowOf(b.inputIds, L, 1);
    assert.deepEqual(ids.slice(0, N), new Array(N).fill(p.tokenizer.imageTokenId));
    assert.deepEqual(ids.slice(N), [p.tokenizer.bosTokenId, ...P, ...S.slice(0, keep)]);
    assert.ok(!ids.includes(p.tokenizer.eosTokenId));
    assert.deepEqual(rowOf(b.labels!, L, 1), [...new Array(N + 1 + P.length).fill(-100), ...S.slice(0, keep)]);
    assert.deepEqual(rowOf(b.tokenTypeIds, L, 1), [...new Array(N + 1 + P.length).fill(0), ...new Array(keep).fill(1)]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, new RegExp(`truncated 1 of 2 rows to maxLength ${1 + P.length + keep} text tokens \\(\\+256 image tokens\\): row 1: suffix ${S.length}→${keep} tokens \\(<eos> dropped\\)`));
  });

  test("then the prefix, keeping <bos> and its last token (the one with \"\\n\"); the row keeps no labels", () => {
    warnings.length = 0;
    const b = p.encodeText([prefix], [suffix], { maxLength: 4, truncation: true, padding: "maxLength" });
    assert.equal(b.seqLength, N + 4);
    assert.deepEqual(rowOf(b.inputIds, b.seqLength).slice(N), [p.tokenizer.bosTokenId, P[0], P[1], P[P.length - 1]]);
    assert.ok(p.tokenizer.decode([P[P.length - 1]!]).endsWith("\n"));
    assert.deepEqual(rowOf(b.labels!, b.seqLength), new Array(N + 4).fill(-100));
    assert.match(warnings[0]!, new RegExp(`row 0: suffix ${S.length}→0 tokens \\(no labels left\\), prefix ${P.length}→3 tokens`));
  });

  test("padding maxLength: every row N + maxLength long, pads after the text", () => {
    const b = p.encodeText(["ocr", "caption en"], ["a", "b"], { padding: "maxLength", maxLength: 12 });
    assert.equal(b.seqLength, N + 12);
    const mask = rowOf(b.attentionMask, b.seqLength, 0);
    const n = mask.indexOf(0);
    assert.ok(n > N && mask.slice(n).every((m) => m === 0) && mask.slice(0, n).every((m) => m === 1));
    assert.ok(rowOf(b.inputIds, b.seqLength, 0).slice(n).every((id) => id === p.tokenizer.padTokenId));
  });

  const bad: [string, () => unknown, RegExp][] = [
    ["row over maxLength without truncation", () => p.encodeText([prefix], [suffix], { maxLength: 5 }), /row 0: \d+ text tokens > maxLength 5; pass truncation: true/],
    ["maxLength below 2", () => p.encodeText(["a"], null, { maxLength: 1, truncation: true }), /maxLength: got 1; expected an integer ≥ 2/],
    ["truncation without maxLength", () => p.encodeText(["a"], null, { truncation: true }), /truncation needs maxLength/],
    ['padding "maxLength" without maxLength', () => p.encodeText(["a"], null, { padding: "maxLength" }), /padding "maxLength" needs maxLength/],
    ["unknown padding", () => p.encodeText(["a"], null, { padding: "max_length" as never }), /padding: got "max_length"; use "longest" or "maxLength"/],
  ];
  for (const [name, f, re] of bad) test(`${name}: ProcessorError`, () => assert.throws(f, (e: Error) => e instanceof ProcessorError && re.test(e.message)));
});

describe("bad inputs: errors that name the argument, row or file; no tensor left behind", () => {
  let p: PaliGemmaProcessor;
  before(async () => {
    p = await open(224);
  });
  const photo = img("photo.jpg");
  const cases: [string, () => Parameters<PaliGemmaProcessor["call"]>[0], (e: Error) => boolean][] = [
    ["2 images for 1 prefix", () => ({ images: [photo, photo], prefixes: ["a"] }),
      (e) => e instanceof ProcessorError && /got 2 images for 1 prefixes; PaliGemma takes one image per prompt/.test(e.message)],
    ["suffix count", () => ({ images: [photo], prefixes: ["a"], suffixes: ["x", "y"] }),
      (e) => e instanceof ProcessorError && /got 2 suffixes for 1 prefixes/.test(e.message)],
    ["empty batch", () => ({ images: [], prefixes: [] }), (e) => e instanceof ProcessorError && /empty batch/.test(e.message)],
    ["<image> inside a prefix", () => ({ images: [photo], prefixes: ["caption <image> en"] }),
      (e) => e instanceof ProcessorError && /prefixes\[0\] \("caption <image> en"\) contains "<image>": the processor adds the 256 image tokens itself/.test(e.message)],
    ["two leading <image>", () => ({ images: [photo], prefixes: ["<image><image>caption en"] }),
      (e) => e instanceof ProcessorError && /prefixes\[0\]/.test(e.message)],
    ["<image> in a suffix", () => ({ images: [photo], prefixes: ["a"], suffixes: ["<image>x"] }),
      (e) => e instanceof ProcessorError && /suffixes\[0\] \("<image>x"\) contains "<image>"/.test(e.message)],
    ["non-string prefix", () => ({ images: [photo], prefixes: [42 as unknown as string] }),
      (e) => e instanceof ProcessorError && /prefixes\[0\]: expected a string, got number/.test(e.message)],
    ["image neither path nor bytes", () => ({ images: [{} as unknown as string], prefixes: ["a"] }),
      (e) => e instanceof ProcessorError && /images\[0\]: expected a file path or encoded image bytes, got object/.test(e.message)],
    ["missing file", () => ({ images: [photo, join(FIX, "images", "nope.jpg")], prefixes: ["a", "b"] }),
      (e) => e instanceof ImageError && e.message === `${join(FIX, "images", "nope.jpg")}: file not found`],
    ["undecodable bytes, with a source", () => ({ images: [new Uint8Array([1, 2, 3, 4])], prefixes: ["a"], sources: ["train/annotations.jsonl:7"] }),
      (e) => e instanceof ImageError && /^train\/annotations\.jsonl:7: cannot decode image/.test(e.message)],
  ];
  for (const [name, inputs, check] of cases) {
    test(name, async () => {
      const before = tf.memory().numTensors;
      await assert.rejects(p.call(inputs()), (e: Error) => check(e) || assert.fail(`${e.name}: ${e.message}`));
      assert.equal(tf.memory().numTensors, before);
    });
  }

  test("a truncated JPEG is an ImageError naming the path", async () => {
    const { path, cleanup } = await makeTmpDir();
    try {
      const bytes = await readFile(photo);
      const cut = join(path, "cut.jpg");
      await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await assert.rejects(p.call({ images: [cut], prefixes: ["a"] }), (e: Error) => e instanceof ImageError && e.message.startsWith(`${cut}: cannot decode image`));
    } finally {
      await cleanup();
    }
  });

  const configs: [string, (dir: string) => Promise<void>, (e: Error) => boolean][] = [
    ["no preprocessor_config.json", async () => {}, (e) => e instanceof ConfigError && /preprocessor_config\.json: field \(root\): got no file/.test(e.message)],
    ["invalid JSON", (d) => writeFile(join(d, "preprocessor_config.json"), "{"), (e) => e instanceof ConfigError && /got invalid JSON/.test(e.message)],
    ["resample 1 (LANCZOS)", (d) => writeConfig(d, { resample: 1 }), (e) => e instanceof ConfigError && /field resample: got 1; use 3 \(bicubic\) or 2 \(bilinear\)/.test(e.message)],
    ["no image_seq_length", (d) => writeConfig(d, { image_seq_length: undefined }), (e) => e instanceof ConfigError && /field image_seq_length: got nothing \(the key is missing\)/.test(e.message)],
    ["size.height 0", (d) => writeConfig(d, { size: { height: 0, width: 224 } }), (e) => e instanceof ConfigError && /field size\.height: got 0/.test(e.message)],
    ["image_mean of 2", (d) => writeConfig(d, { image_mean: [0.5, 0.5] }), (e) => e instanceof ConfigError && /field image_mean: got \[0\.5,0\.5\]/.test(e.message)],
    ["no tokenizer.json", (d) => writeConfig(d, {}, false), (e) => e instanceof TokenizerError && /tokenizer\.json: not found/.test(e.message)],
  ];
  for (const [name, make, check] of configs) {
    test(`fromPretrained: ${name}`, async () => {
      const { path, cleanup } = await makeTmpDir();
      try {
        await make(path);
        await assert.rejects(PaliGemmaProcessor.fromPretrained(path), (e: Error) => (check(e) && e.message.includes(path)) || assert.fail(`${e.name}: ${e.message}`));
      } finally {
        await cleanup();
      }
    });
  }
});

/** preprocessor_config_224.json with `edit` applied (undefined deletes a key), plus the tokenizer unless told not to. */
async function writeConfig(dir: string, edit: Record<string, unknown>, withTokenizer = true): Promise<void> {
  const cfg = JSON.parse(await readFile(join(FIX, "preprocessor_config_224.json"), "utf-8")) as Record<string, unknown>;
  for (const [k, v] of Object.entries(edit)) if (v === undefined) delete cfg[k]; else cfg[k] = v;
  await writeFile(join(dir, "preprocessor_config.json"), JSON.stringify(cfg));
  if (withTokenizer) await copyFile(join(TOK, "tokenizer.json"), join(dir, "tokenizer.json"));
}

describe("Collator and configuration", () => {
  test("collate(examples) equals call(); forGeneration drops suffixes and labels", async () => {
    const p = await open(224);
    const bytes = await readFile(img("gray.png"));
    const examples = [
      { image: img("photo.jpg"), prefix: "caption en", suffix: "shapes", source: "a.jsonl:1" },
      { image: bytes, prefix: "ocr", suffix: "PaliGemma 0123", source: "a.jsonl:2" },
    ];
    const viaCall = await p.call({ images: [img("photo.jpg"), img("gray.png")], prefixes: ["caption en", "ocr"], suffixes: ["shapes", "PaliGemma 0123"] });
    const viaCollate = await p.collate(examples);
    const gen = await p.collate(examples, { forGeneration: true });
    try {
      for (const k of ["pixelValues", "inputIds", "attentionMask", "tokenTypeIds", "labels"] as const) {
        assert.deepEqual(await viaCollate[k]!.data(), await viaCall[k]!.data(), k);
      }
      assert.equal(gen.labels, undefined);
      const ids = await rows(gen.inputIds);
      const types = await rows(gen.tokenTypeIds);
      const mask = await rows(gen.attentionMask);
      for (let r = 0; r < 2; r++) {
        const n = mask[r]!.filter((m) => m === 1).length;
        assert.equal(ids[r]![n - 1], p.tokenizer.encode("\n", { addSpecialTokens: false })[0], "prompt ends with \\n");
        assert.deepEqual(types[r], mask[r]!.map((m) => (m === 1 ? 0 : 1)));
      }
    } finally {
      tf.dispose([...Object.values(viaCall), ...Object.values(viaCollate), ...Object.values(gen)]);
    }
  });

  test("constructor defaults apply to collate (maxLength + truncation)", async () => {
    const warnings: string[] = [];
    const p = await open(224, { padding: "maxLength", maxLength: 6, truncation: true, onWarning: (m) => warnings.push(m) });
    const b = await p.collate([{ image: img("tiny.png"), prefix: "caption en", suffix: "a very long answer that will not fit" }]);
    try {
      assert.deepEqual(b.inputIds.shape, [1, 256 + 6]);
      assert.equal(warnings.length, 1);
    } finally {
      tf.dispose(Object.values(b));
    }
  });

  test("fromPretrained reads preprocessor_config.json: 448 px, 1024 image tokens, bicubic, [-1, 1]", async () => {
    const p = await open(448);
    assert.deepEqual(
      { h: p.config.height, w: p.config.width, n: p.imageSeqLength, r: p.config.resample, m: p.config.normalization.imageMean },
      { h: 448, w: 448, n: 1024, r: "bicubic", m: [0.5, 0.5, 0.5] });
    const px = await p.pixelValues([img("photo.jpg")]);
    assert.equal(px.length, 3 * 448 * 448);
    assert.ok(px.every((v) => v >= -1 && v <= 1));
  });
});

describe("memory", () => {
  test("call() adds exactly the returned tensors; disposing them returns to the start", async () => {
    const p = await open(224);
    const run = () => p.call({ images: [img("photo.jpg"), img("rgba.png")], prefixes: ["a", "b"], suffixes: ["c", "d"] });
    tf.dispose(Object.values(await run())); // warm-up
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const b: ModelBatch = await run();
      assert.equal(tf.memory().numTensors, start + 5);
      tf.dispose(Object.values(b));
      assert.equal(tf.memory().numTensors, start);
    }
    const g = await p.collate([{ image: img("photo.jpg"), prefix: "a", suffix: "b" }], { forGeneration: true });
    assert.equal(tf.memory().numTensors, start + 4);
    tf.dispose(Object.values(g));
    assert.equal(tf.memory().numTensors, start);
  });
});
