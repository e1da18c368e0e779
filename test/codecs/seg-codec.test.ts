/**
 * The `<seg>` codec against big_vision's own functions (test/fixtures/seg/vae_fixtures.json, made by
 * gen_vae_fixtures.py with big_vision's source, JAX/Flax 0.12.8 and TensorFlow 2.21 on a vae-oid-shaped
 * checkpoint with deterministic weights that seg-helpers.ts rebuilds here at full size), the .npz reader against
 * files numpy wrote, and the encode → decode round trip on synthetic masks (hand-set block-codec weights).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { readNpz, parseNpz, NpzError } from "../../src/codecs/vqvae/npz.js";
import { VqVae, VqVaeError } from "../../src/codecs/vqvae/model.js";
import { cropMask64, decodeSegMask, resizeBilinear, segEncoder, type Mask } from "../../src/codecs/seg.js";
import { encodeBoxLocs, locToken, segToken } from "../../src/codecs/loc.js";
import { repoRoot } from "../helpers/paths.js";
import { withTmpDir } from "../helpers/tmp.js";
import { useBackend } from "../helpers/backends.js";
import { analyticVaeWeights, f32, hashVaeWeights, unpackBits, writeNpz } from "./seg-helpers.js";

await useBackend("cpu");
const dir = join(repoRoot(), "test/fixtures/seg");
const fx = JSON.parse(readFileSync(join(dir, "vae_fixtures.json"), "utf8"));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe("npz reader on files numpy wrote", () => {
  const want = JSON.parse(readFileSync(join(dir, "formats.json"), "utf8"));
  for (const file of ["formats.npz", "formats_compressed.npz"]) {
    test(`${file}: every array's dtype, shape and values (stored/deflate, Fortran order, big-endian, 0-d)`, async () => {
      const arrays = await readNpz(join(dir, file));
      assert.deepEqual([...arrays.keys()].sort(), Object.keys(want).sort());
      for (const [k, w] of Object.entries(want) as [string, { shape: number[]; values: number[]; descr: string }][]) {
        const a = arrays.get(k)!;
        assert.deepEqual(a.shape, w.shape, k);
        assert.equal(a.descr, w.descr, k);
        assert.deepEqual(Array.from(a.data as ArrayLike<number | bigint>, Number), w.values, k);
      }
    });
  }
  const table: [string, Uint8Array, RegExp][] = [
    ["not a zip", new Uint8Array(100), /no end-of-central-directory/],
    ["truncated archive", readFileSync(join(dir, "formats.npz")).subarray(0, 1000), /no end-of-central-directory|corrupt/],
  ];
  for (const [what, bytes, re] of table) test(`bad input: ${what} → NpzError naming the file`, () => assert.throws(() => parseNpz(bytes, "x.npz"), (e: unknown) => e instanceof NpzError && re.test((e as Error).message) && /x\.npz/.test((e as Error).message)));
});

describe("VQ-VAE = big_vision (encoder: TF pp op; decoder: Flax reconstruct_masks)", () => {
  let vae: VqVae;
  before(async () => {
    await withTmpDir(async (tmp) => {
      const path = join(tmp, "vae-hash.npz");
      await writeNpz(path, hashVaeWeights());
      vae = await VqVae.load(path); // full vae-oid shapes, through the real file format
      // the weights are the generator's, bit for bit: compare Σ|w| per tensor
      const arrays = await readNpz(path);
      for (const [k, s] of Object.entries(fx.checksums) as [string, number][]) {
        const a = arrays.get(k)!.data as Float32Array;
        let sum = 0;
        for (const v of a) sum += Math.abs(v);
        assert.ok(Math.abs(sum - s) <= 1e-9 * Math.max(1, s), `${k}: Σ|w| ${sum} vs ${s}`);
      }
    });
  });
  after(() => vae.dispose());

  test("loads the real names/shapes with nothing unused", () => assert.deepEqual(vae.unused, []));
  test("decoder: codes → 64×64 equal to big_vision's reconstruct_masks within 1e-5", (t) => {
    const want = f32(fx.decoder.masks64);
    const out = vae.decode(fx.decoder.codes);
    assert.deepEqual(out.shape, [fx.decoder.codes.length, 64, 64, 1]);
    const d = maxDiff(out.dataSync(), want);
    out.dispose();
    assert.ok(d <= 1e-5, `max |Δ| ${d}`);
    t.diagnostic(`decoder max |Δ| vs big_vision ${d.toExponential(2)}`);
  });
  test("encoder: 64×64 masks → the same 16 codes as encode_to_codebook_indices", () => {
    const raw = Buffer.from(fx.encoder.masks64x4, "base64");
    const masks = tf.tensor4d(Float32Array.from(raw, (v) => v / 4), [fx.encoder.codes.length, 64, 64, 1]);
    assert.deepEqual(vae.encode(masks), fx.encoder.codes);
    masks.dispose();
  });
  test("mask → suffix equals big_vision's refcoco_mask2str (crop, antialiased resize, encode, <loc><seg> tokens)", () => {
    for (const c of fx.mask2str) {
      const mask: Mask = { data: unpackBits(c.mask, c.height * c.width), width: c.width, height: c.height };
      const [by1, bx1, by2, bx2] = c.bbox.map(Math.fround);
      const f = (v: number, s: number) => Math.fround(v * s); // tf: float32 h * bbox
      const xyxy: [number, number, number, number] = [f(bx1, c.width), f(by1, c.height), f(bx2, c.width), f(by2, c.height)];
      const crop = cropMask64(mask, xyxy);
      const d = maxDiff(crop, f32(c.crop64));
      assert.ok(d <= 1e-5, `crop resize vs tf.image.resize(antialias): max |Δ| ${d}`);
      const codes = segEncoder(vae).encode(mask, xyxy);
      const locs = encodeBoxLocs(xyxy, { imageWidth: c.width, imageHeight: c.height });
      assert.equal(locs.map(locToken).join("") + codes.map(segToken).join(""), c.suffix, `${c.width}×${c.height}`);
    }
  });
  test("decode into the box equals the evaluator's PIL paste + threshold, pixel for pixel", () => {
    for (const p of fx.paste) {
      const got = decodeSegMask(vae, p.codes, p.locs, { imageWidth: p.width, imageHeight: p.height });
      const want = unpackBits(p.mask, p.width * p.height);
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff += got[i] !== want[i] ? 1 : 0;
      assert.equal(diff, 0, `${p.width}×${p.height} locs ${p.locs}: ${diff} pixels differ`);
    }
  });
  test("the resampler equals Pillow's BILINEAR on float images (up and down) within 1e-5", () => {
    const src = f32(fx.decoder.masks64).subarray(3 * 4096, 4 * 4096);
    for (const p of fx.pil) assert.ok(maxDiff(resizeBilinear(src, 64, 64, p.width, p.height), f32(p.out)) <= 1e-5, `${p.width}×${p.height}`);
  });
  test("encode and decode leave tf.memory().numTensors flat", () => {
    const masks = tf.zeros([2, 64, 64, 1]);
    const run = () => {
      vae.encode(masks);
      vae.decode([new Array(16).fill(3)]).dispose();
      segEncoder(vae).encode({ data: new Uint8Array(100).fill(1), width: 10, height: 10 }, [1, 1, 8, 9]);
    };
    run();
    const n = tf.memory().numTensors;
    run();
    run();
    assert.equal(tf.memory().numTensors, n);
    masks.dispose();
  });
  test("bad codes and bad checkpoints throw, naming every problem", async () => {
    assert.throws(() => vae.decode([[1, 2, 3]]), /row 0 must be 16 integer codes/);
    assert.throws(() => vae.decode([new Array(16).fill(128)]), /0\.\.127/);
    const w = hashVaeWeights();
    w.delete("decoder.12.bias");
    w.set("decoder.0.weight", { shape: [128, 256, 1, 1], data: new Float32Array(128 * 256) });
    const arrays = new Map([...w].map(([k, v]) => [k, { descr: "<f4", shape: v.shape, data: v.data }]));
    assert.throws(() => VqVae.fromArrays(arrays, "my.npz"), (e: unknown) => e instanceof VqVaeError && /my\.npz/.test(String(e)) && /missing decoder\.12\.bias/.test(String(e)) && /decoder\.0\.weight: shape \[128,256,1,1\]/.test(String(e)));
  });
});

describe("encode → decode round trip on synthetic masks (block-codec weights, vae-oid structure)", () => {
  test("IoU of decode(encode(mask)) with the mask, per shape", async (t) => {
    await withTmpDir(async (tmp) => {
      const path = join(tmp, "vae-block.npz");
      await writeNpz(path, analyticVaeWeights());
      const vae = await VqVae.load(path);
      const enc = segEncoder(vae);
      const W = 160;
      const H = 120;
      const shapes: [string, (x: number, y: number) => boolean, [number, number, number, number]][] = [
        ["rectangle", (x, y) => x >= 20 && x < 100 && y >= 30 && y < 90, [20, 30, 100, 90]],
        ["ellipse", (x, y) => ((x + 0.5 - 80) / 50) ** 2 + ((y + 0.5 - 60) / 35) ** 2 <= 1, [30, 25, 130, 95]],
        ["L shape", (x, y) => (x >= 10 && x < 40 && y >= 10 && y < 110) || (x >= 10 && x < 150 && y >= 80 && y < 110), [10, 10, 150, 110]],
        ["thin bar", (x, y) => x >= 5 && x < 155 && y >= 50 && y < 58, [5, 50, 155, 58]],
        ["small square", (x, y) => x >= 70 && x < 82 && y >= 70 && y < 82, [70, 70, 82, 82]],
      ];
      const rows: string[] = [];
      for (const [name, inside, xyxy] of shapes) {
        const data = new Uint8Array(W * H);
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = inside(x, y) ? 1 : 0;
        const codes = enc.encode({ data, width: W, height: H }, xyxy);
        const locs = encodeBoxLocs(xyxy, { imageWidth: W, imageHeight: H });
        const back = decodeSegMask(vae, codes, locs, { imageWidth: W, imageHeight: H });
        let I = 0;
        let U = 0;
        for (let i = 0; i < data.length; i++) {
          I += data[i] & back[i];
          U += data[i] | back[i];
        }
        const iou = I / U;
        rows.push(`${name} ${iou.toFixed(3)}`);
        assert.ok(iou > 0.75, `${name}: IoU ${iou}`);
      }
      t.diagnostic(`round-trip IoU: ${rows.join(", ")}`);
      vae.dispose();
    });
  });
});
