/**
 * Tests for src/io/safetensors.ts (reader) and src/io/safetensors-write.ts (writer).
 * Golden fixtures: test/fixtures/golden/paligemma2-tiny (made by test/fixtures/golden/gen.py; see the README there).
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { basename, join } from "node:path";
import {
  SafetensorsCheckpoint, SafetensorsError, SafetensorsFile, bf16ToF32, f16ToF32, type HostTensor,
} from "../src/io/safetensors.js";
import { f32ToBf16, f32ToF16, saveSafetensors, saveShardedSafetensors, type TensorToWrite } from "../src/io/safetensors-write.js";
import { goldenDir } from "./helpers/paths.js";
import { makeTmpDir } from "./helpers/tmp.js";

const GOLDEN = goldenDir("paligemma2-tiny");
let tmp: string;
let cleanup: () => Promise<void>;
before(async () => ({ path: tmp, cleanup } = await makeTmpDir("safetensors-test-")));
after(async () => cleanup());

/** Write a raw safetensors file: 8-byte length, `header` (object → JSON, or a literal string), then `data`. */
async function writeRaw(path: string, header: object | string, data: Uint8Array<ArrayBuffer> = new Uint8Array(0)): Promise<string> {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  await writeFile(path, Buffer.concat([len, json, data]));
  return path;
}

/** Open via SafetensorsFile, then always close. */
async function withFile<T>(path: string, fn: (f: SafetensorsFile) => Promise<T>): Promise<T> {
  const f = await SafetensorsFile.open(path);
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

const u16 = (...v: number[]): Uint16Array => Uint16Array.from(v);
const f32 = (...v: number[]): Float32Array => Float32Array.from(v);
const hex = (a: Uint16Array): string[] => [...a].map((x) => `0x${x.toString(16).padStart(4, "0")}`);

describe("golden fixtures (paligemma2-tiny)", () => {
  interface GoldenTensor { shape: number[]; dtype: string; sum: number; abs_sum: number; first: number[] }
  interface Golden { parameters: Record<string, number[]>; tensors: Record<string, GoldenTensor> }
  let golden: Golden;
  before(async () => { golden = JSON.parse(await readFile(join(GOLDEN, "golden.json"), "utf-8")) as Golden; });

  test("model.safetensors: every weight's shape matches golden.json parameters", async () => {
    const ckpt = await SafetensorsCheckpoint.open(GOLDEN); // the directory → model.safetensors (no index)
    try {
      assert.deepEqual(ckpt.files, [join(GOLDEN, "model.safetensors")]);
      assert.deepEqual(ckpt.metadata, { format: "pt" });
      assert.equal(ckpt.keys().length, 63); // 64 parameters minus the tied lm_head, as save_pretrained stores
      for (const name of ckpt.keys()) {
        assert.equal(ckpt.info(name).dtype, "F32", name);
        assert.deepEqual(ckpt.info(name).shape, golden.parameters[name], name);
      }
      const emb = await ckpt.read("language_model.model.embed_tokens.weight");
      assert.equal(emb.dtype, "float32");
      assert.deepEqual(emb.shape, [300, 32]);
      // python3: a = struct.unpack('<9600f', <bytes of the tensor>); math.fsum(a), a[:4], a[-1]
      const head = [0.036020275205373764, -0.03476705402135849, -0.05069352313876152, 0.019165636971592903];
      assert.deepEqual([...emb.data.subarray(0, 4)], head);
      assert.equal(emb.data[emb.data.length - 1], 0.10761839151382446);
      assert.ok(Math.abs(sum(emb.data) - -5.738080223667566) < 1e-9);
    } finally {
      await ckpt.close();
    }
  });

  test("outputs.safetensors: shape, dtype, sum, abs-sum and first 6 values of all tensors", async () => {
    await withFile(join(GOLDEN, "outputs.safetensors"), async (f) => {
      assert.deepEqual(f.keys().sort(), Object.keys(golden.tensors).sort());
      const stored: Record<string, string> = { float32: "F32", int64: "I64", uint8: "U8" };
      const host: Record<string, string> = { float32: "float32", int64: "int32", uint8: "int32" };
      for (const [name, g] of Object.entries(golden.tensors)) {
        const t = await f.read(name);
        assert.equal(f.info(name).dtype, stored[g.dtype], name);
        assert.equal(t.dtype, host[g.dtype], name);
        assert.deepEqual(t.shape, g.shape, name);
        assert.equal(t.data.length, g.shape.reduce((a, d) => a * d, 1), name);
        const tol = 1e-9 * Math.max(1, g.abs_sum); // float64 sums in a different order than numpy's
        assert.ok(Math.abs(sum(t.data) - g.sum) <= tol, `${name}: sum ${sum(t.data)} vs ${g.sum}`);
        assert.ok(Math.abs(absSum(t.data) - g.abs_sum) <= tol, `${name}: abs_sum ${absSum(t.data)} vs ${g.abs_sum}`);
        assert.deepEqual([...t.data.subarray(0, 6)], g.first, name);
      }
      const ids = await f.read("inputs.input_ids"); // I64 [2,28] → int32
      assert.deepEqual(ids.shape, [2, 28]);
      assert.ok(ids.data instanceof Int32Array);
      const allowed = await f.read("train.allowed_global"); // U8 [2,28,28] → int32
      assert.deepEqual(allowed.shape, [2, 28, 28]);
      assert.equal(f.info("train.allowed_global").byteLength, 2 * 28 * 28);
    });
  });
});

describe("dtype conversions", () => {
  test("f16ToF32 on special bit patterns", () => {
    const cases: Array<[number, number]> = [
      [0x3c00, 1], [0xc000, -2], [0x7bff, 65504], // max finite
      [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x8001, -(2 ** -24)], // subnormals
      [0x0400, 2 ** -14], [0x0000, 0], [0x8000, -0], [0x7c00, Infinity], [0xfc00, -Infinity], [0x3555, 0.333251953125],
    ];
    const out = f16ToF32(u16(...cases.map((c) => c[0])));
    cases.forEach(([h, v], i) => assert.ok(Object.is(out[i], v), `0x${h.toString(16)} → ${out[i]}, expected ${v}`));
    assert.ok(Number.isNaN(f16ToF32(u16(0x7e00))[0]));
  });

  test("f32ToF16 rounds to nearest even, overflows to inf, underflows to subnormal/zero", () => {
    const cases: Array<[number, number, string]> = [
      [1, 0x3c00, "exact"], [65504, 0x7bff, "max finite"], [65519, 0x7bff, "just below the rounding boundary"],
      [65520, 0x7c00, "ties up to inf"], [1e6, 0x7c00, "overflow"], [-1e6, 0xfc00, "negative overflow"],
      [2 ** -24, 0x0001, "smallest subnormal"], [2 ** -25, 0x0000, "tie → even (0)"], [3 * 2 ** -26, 0x0001, "above tie"],
      [1.5 * 2 ** -24, 0x0002, "subnormal tie → even (2)"], [1e-8, 0x0000, "underflow"], [-0, 0x8000, "-0"],
      [1 + 2 ** -11, 0x3c00, "tie → even (down)"], [1 + 3 * 2 ** -11, 0x3c02, "tie → even (up)"],
      [2 ** -14 - 2 ** -25, 0x0400, "rounds up into the smallest normal"], [Infinity, 0x7c00, "inf"],
    ];
    assert.deepEqual(hex(f32ToF16(f32(...cases.map((c) => c[0])))), hex(u16(...cases.map((c) => c[1]))));
    const nan = f32ToF16(f32(NaN))[0]!;
    assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, "NaN stays NaN");
  });

  test("f32ToBf16 rounds to nearest even and keeps NaN", () => {
    const cases: Array<[number, number, string]> = [
      [1, 0x3f80, "exact"], [-2, 0xc000, "exact"], [1 + 2 ** -8, 0x3f80, "tie → even (down)"],
      [1 + 3 * 2 ** -8, 0x3f82, "tie → even (up)"], [1 + 2 ** -8 + 2 ** -20, 0x3f81, "above tie"],
      [3.4e38, 0x7f80, "rounds past max bf16 → inf"], [-Infinity, 0xff80, "-inf"], [-0, 0x8000, "-0"],
      [1e-40, 0x0001, "f32 subnormal"],
    ];
    assert.deepEqual(hex(f32ToBf16(f32(...cases.map((c) => c[0])))), hex(u16(...cases.map((c) => c[1]))));
    assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(f32(NaN)))[0]));
    const sNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer); // payload only in the low 16 bits
    assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(sNaN))[0]), "a NaN whose payload truncates away stays NaN");
  });

  test("every non-NaN f16 and bf16 bit pattern survives decode → encode", () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f16 = f32ToF16(f16ToF32(all));
    const bf16 = f32ToBf16(bf16ToF32(all));
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0) assert.equal(f16[h], h, `f16 0x${h.toString(16)}`);
      if ((h & 0x7f80) !== 0x7f80 || (h & 0x7f) === 0) assert.equal(bf16[h], h, `bf16 0x${h.toString(16)}`);
    }
  });
});

describe("write → read round trips", () => {
  const bf16Exact = [1, -2, 0.5, 3.140625, 0, -0, Infinity, -Infinity, 65536, 2 ** -130 /* f32 subnormal */];
  const noisy = Float32Array.from({ length: 257 }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 9) - 4));
  const cases: Array<{ what: string; t: TensorToWrite; dtype: HostTensor["dtype"]; check: (d: HostTensor["data"]) => void }> = [
    { what: "F32 exact incl. inf/NaN", t: { shape: [2, 3], data: f32(1.5, -2, 3.25e-5, Infinity, NaN, -0) }, dtype: "float32",
      check: (d) => assert.deepEqual([...d], [1.5, -2, Math.fround(3.25e-5), Infinity, NaN, -0]) },
    { what: "BF16 exact for bf16 values", t: { dtype: "BF16", shape: [10], data: f32(...bf16Exact) }, dtype: "float32",
      check: (d) => assert.deepEqual([...d], bf16Exact) },
    // half an ulp of bf16's 8-bit significand is at most 2^-8 relative
    { what: "BF16 within bf16 rounding", t: { dtype: "BF16", shape: [257], data: noisy }, dtype: "float32",
      check: (d) => noisy.forEach((v, i) => assert.ok(Math.abs(d[i]! - v) <= Math.abs(v) * 2 ** -8, `${i}: ${d[i]} vs ${v}`)) },
    { what: "BF16 NaN preserved", t: { dtype: "BF16", shape: [1], data: f32(NaN) }, dtype: "float32",
      check: (d) => assert.ok(Number.isNaN(d[0])) },
    { what: "F16 subnormal/inf/nan", t: { dtype: "F16", shape: [6], data: f32(2 ** -24, 5 * 2 ** -24, -Infinity, NaN, 1e5, 0.1) },
      dtype: "float32", check: (d) => assert.deepEqual([...d], [2 ** -24, 5 * 2 ** -24, -Infinity, NaN, Infinity, 0.0999755859375]) },
    { what: "F16 within f16 rounding", t: { dtype: "F16", shape: [257], data: noisy.map((v) => v * 1e-2 + 1) }, dtype: "float32",
      check: (d) => noisy.forEach((v, i) => {
        const x = Math.fround(v * 1e-2 + 1);
        assert.ok(Math.abs(d[i]! - x) <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -25), `${i}: ${d[i]} vs ${x}`); // half an ulp
      }) },
    { what: "F64 from Float32Array", t: { dtype: "F64", shape: [3], data: f32(0.1, -7, 1e30) }, dtype: "float32",
      check: (d) => assert.deepEqual([...d], [...f32(0.1, -7, 1e30)]) },
    { what: "I64 from Int32Array, negatives", dtype: "int32",
      t: { dtype: "I64", shape: [5], data: Int32Array.from([-1, -100, 0, 2 ** 31 - 1, -(2 ** 31)]) }, check: (d) => assert.deepEqual([...d], [-1, -100, 0, 2 ** 31 - 1, -(2 ** 31)]) },
    { what: "I64 from BigInt64Array", t: { shape: [2, 2], data: BigInt64Array.from([-5n, 7n, -(2n ** 31n), 257n]) }, dtype: "int32",
      check: (d) => assert.deepEqual([...d], [-5, 7, -(2 ** 31), 257]) },
    { what: "I32", t: { shape: [3], data: Int32Array.from([-3, 0, 123456789]) }, dtype: "int32",
      check: (d) => assert.deepEqual([...d], [-3, 0, 123456789]) },
    { what: "U8", t: { shape: [4], data: Uint8Array.from([0, 1, 200, 255]) }, dtype: "int32",
      check: (d) => assert.deepEqual([...d], [0, 1, 200, 255]) },
    { what: "BOOL (nonzero → 1)", t: { dtype: "BOOL", shape: [4], data: Uint8Array.from([0, 1, 0, 7]) }, dtype: "bool",
      check: (d) => assert.deepEqual([...d], [0, 1, 0, 1]) },
    { what: "scalar", t: { shape: [], data: f32(42) }, dtype: "float32", check: (d) => assert.deepEqual([...d], [42]) },
    { what: "empty", t: { shape: [0, 3], data: new Float32Array(0) }, dtype: "float32", check: (d) => assert.equal(d.length, 0) },
  ];
  for (const [i, c] of cases.entries()) {
    test(c.what, async () => {
      const path = join(tmp, `roundtrip-${i}.safetensors`);
      await saveSafetensors(path, { t: c.t }, { case: c.what });
      await withFile(path, async (f) => {
        assert.deepEqual(f.metadata, { case: c.what });
        const back = await f.read("t");
        assert.equal(back.dtype, c.dtype);
        assert.deepEqual(back.shape, c.t.shape);
        c.check(back.data);
      });
    });
  }

  test("I64 outside int32: error names the tensor; clamp option saturates", async () => {
    const path = join(tmp, "big-i64.safetensors");
    await saveSafetensors(path, { "big.ids": { shape: [3], data: BigInt64Array.from([1n, 2n ** 40n, -(2n ** 40n)]) } });
    await withFile(path, async (f) => {
      await assert.rejects(f.read("big.ids"), (e: unknown) =>
        e instanceof SafetensorsError && e.tensor === "big.ids" && /big-i64\.safetensors: tensor "big.ids".*1099511627776/.test(e.message));
      assert.deepEqual([...(await f.read("big.ids", { int64: "clamp" })).data], [1, 2 ** 31 - 1, -(2 ** 31)]);
    });
  });

  test("header layout: __metadata__ first, names sorted, padded with spaces to 8 bytes, data in header order", async () => {
    const path = join(tmp, "layout.safetensors");
    const tensors = { b: { shape: [1], data: f32(2) }, "10": { shape: [1], data: f32(10) }, a: { shape: [3], data: Uint8Array.from([1, 2, 3]) } };
    await saveSafetensors(path, tensors, { format: "pt" });
    const bytes = await readFile(path);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + n).toString("utf-8");
    assert.equal(n % 8, 0);
    assert.match(header, /^\{"__metadata__":\{"format":"pt"\},"10":.*,"a":.*,"b":.*\} *$/);
    assert.equal(JSON.parse(header)["10"].data_offsets[0], 0);
    assert.equal(bytes.length, 8 + n + 4 + 3 + 4);
    assert.deepEqual((await readdir(tmp)).filter((e) => e.includes(".tmp-")), [], "no temp files left behind");
  });

  test("writer rejects bad tensors with the tensor named, leaving no file", async () => {
    const path = join(tmp, "never.safetensors");
    const bad: Array<[TensorToWrite, RegExp]> = [
      [{ shape: [2, 2], data: f32(1, 2, 3) }, /shape \[2,2\] \(4 elements\) but 3 values/],
      [{ dtype: "I32", shape: [1], data: f32(1) }, /cannot be written as I32 from a Float32Array/],
      [{ shape: [-1], data: f32(1) }, /non-negative integers/],
    ];
    for (const [t, re] of bad) {
      await assert.rejects(saveSafetensors(path, { "w.x": t }), (e: unknown) =>
        e instanceof SafetensorsError && e.tensor === "w.x" && e.message.startsWith(`${path}: tensor "w.x"`) && re.test(e.message));
    }
    assert.ok(!(await readdir(tmp)).some((e) => e.startsWith("never.safetensors")));
  });
});

describe("sharded checkpoints", () => {
  const tensors: Record<string, TensorToWrite> = {};
  for (let i = 0; i < 7; i++) {
    tensors[`layers.${i}.weight`] = { shape: [10, i + 1], data: Float32Array.from({ length: 10 * (i + 1) }, (_, j) => i * 1000 + j) };
  }
  tensors["layers.0.bf16"] = { dtype: "BF16", shape: [4], data: f32(1, 2, 3, 4) };
  tensors["ids"] = { dtype: "I64", shape: [3], data: Int32Array.from([-1, 5, 9]) };

  test("saveShardedSafetensors writes ≥3 shards + index; opening the directory reads every tensor back", async () => {
    const dir = join(tmp, "sharded");
    const res = await saveShardedSafetensors(dir, tensors, { maxShardBytes: 100, metadata: { format: "pt" } });
    assert.ok(res.files.length >= 3, `${res.files.length} shards`);
    const n = res.files.length;
    assert.deepEqual(res.files.map((f) => basename(f)), res.files.map((_, i) => `model-0000${i + 1}-of-0000${n}.safetensors`));
    type Index = { metadata: { total_size: number }; weight_map: Record<string, string> };
    const index = JSON.parse(await readFile(join(dir, "model.safetensors.index.json"), "utf-8")) as Index;
    const expectedBytes = 4 * 10 * (1 + 2 + 3 + 4 + 5 + 6 + 7) + 2 * 4 + 8 * 3;
    assert.equal(index.metadata.total_size, expectedBytes);
    assert.equal(res.totalSize, expectedBytes);
    assert.deepEqual(Object.keys(index.weight_map), Object.keys(tensors).sort());

    const ckpt = await SafetensorsCheckpoint.open(dir);
    try {
      assert.deepEqual(ckpt.files, res.files);
      assert.equal(ckpt.metadata["total_size"], String(expectedBytes));
      assert.deepEqual(ckpt.keys().sort(), Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        const back = await ckpt.read(name);
        assert.deepEqual(back.shape, t.shape, name);
        assert.deepEqual([...back.data], [...t.data].map(Number), name);
        assert.equal(basename(ckpt.info(name).file), index.weight_map[name]);
      }
    } finally {
      await ckpt.close();
    }
  });

  test("re-saving as one shard removes stale shards and the stale index", async () => {
    const dir = join(tmp, "resharded");
    await saveShardedSafetensors(dir, tensors, { maxShardBytes: 100 });
    const res = await saveShardedSafetensors(dir, tensors, { maxShardBytes: 1e9 });
    assert.equal(res.indexFile, undefined);
    assert.deepEqual(await readdir(dir), ["model.safetensors"]);
    const ckpt = await SafetensorsCheckpoint.open(dir);
    assert.equal(ckpt.keys().length, Object.keys(tensors).length);
    await ckpt.close();
  });
});

describe("bad input throws SafetensorsError naming the file (and tensor)", () => {
  const f4 = (n: number) => new Uint8Array(4 * n);
  const cases: Array<{
    what: string;
    make: (dir: string) => Promise<string>; // returns the path to open
    file?: (opened: string) => string; // the file the error must name (default: the opened path)
    tensor?: string;
    message: RegExp;
  }> = [
    { what: "3-byte file", message: /3 bytes, too short/,
      make: async (d) => { await writeFile(join(d, "short.safetensors"), "abc"); return join(d, "short.safetensors"); } },
    { what: "header length beyond the file", message: /declares a 1000-byte header but the file has only 2 bytes/,
      make: async (d) => {
        const b = Buffer.alloc(10);
        b.writeBigUInt64LE(1000n);
        await writeFile(join(d, "long.safetensors"), b);
        return join(d, "long.safetensors");
      } },
    { what: "header over 100 MB (sparse file)", message: /over the 100000000-byte limit/,
      make: async (d) => {
        const p = join(d, "huge.safetensors");
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(200_000_000n);
        await writeFile(p, b);
        await truncate(p, 200_000_100); // sparse: costs no disk
        return p;
      } },
    { what: "invalid JSON", message: /header is not valid UTF-8 JSON/, make: (d) => writeRaw(join(d, "json.safetensors"), "{not json") },
    { what: "header not an object", message: /expected a JSON object/, make: (d) => writeRaw(join(d, "array.safetensors"), "[1, 2]") },
    { what: "unknown dtype", tensor: "w.weight", message: /tensor "w.weight" has unknown dtype "F8_E4M3X"; supported: F64, F32, F16, BF16/,
      make: (d) => writeRaw(join(d, "dtype.safetensors"),
        { "w.weight": { dtype: "F8_E4M3X", shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)) },
    { what: "shape/offset mismatch", tensor: "w", message: /F32\[2,3\] = 24 bytes but data_offsets \[0, 20\] span 20 bytes/,
      make: (d) => writeRaw(join(d, "mismatch.safetensors"), { w: { dtype: "F32", shape: [2, 3], data_offsets: [0, 20] } }, f4(5)) },
    { what: "negative dim", tensor: "w", message: /shape \[-1\]/,
      make: (d) => writeRaw(join(d, "neg.safetensors"), { w: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }) },
    { what: "begin > end", tensor: "w", message: /begin <= end/,
      make: (d) => writeRaw(join(d, "order.safetensors"), { w: { dtype: "F32", shape: [1], data_offsets: [8, 4] } }, f4(2)) },
    { what: "overlapping tensors", message: /"a" and "b" overlap/,
      make: (d) => writeRaw(join(d, "overlap.safetensors"), {
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      }, f4(3)) },
    { what: "truncated data section", tensor: "vision_tower.vision_model.post_layernorm.weight", // the last tensor in the file
      message: new RegExp('tensor "vision_tower.vision_model.post_layernorm.weight" claims bytes 288000..288128 ' +
        "but the data section holds 288112 bytes \\(file truncated\\?\\)"),
      make: async (d) => {
        const p = join(d, "model-00002-of-00003.safetensors");
        await copyFile(join(GOLDEN, "model.safetensors"), p);
        await truncate(p, 295784 - 16); // python3: 8 + header 7648 + data 288128 = 295784 bytes
        return p;
      } },
    { what: "missing file", message: /does not exist/, make: async (d) => join(d, "nope.safetensors") },
    { what: "directory with no safetensors",
      message: /has neither model.safetensors.index.json nor model.safetensors; it holds no \.safetensors files/,
      make: async (d) => {
        await mkdir(join(d, "empty"));
        await writeFile(join(d, "empty", "README.md"), "hi");
        return join(d, "empty");
      } },
    { what: "missing shard", file: (dir) => join(dir, "model-00002-of-00002.safetensors"),
      message: /model-00002-of-00002\.safetensors: is missing: .*model\.safetensors\.index\.json maps 1 tensors to it \(e\.g\. "b"\)/,
      make: async (d) => {
        const dir = join(d, "missing-shard");
        const two = { a: { shape: [4], data: f32(1, 2, 3, 4) }, b: { shape: [4], data: f32(5, 6, 7, 8) } };
        await saveShardedSafetensors(dir, two, { maxShardBytes: 16 });
        await rm(join(dir, "model-00002-of-00002.safetensors"));
        return dir;
      } },
    { what: "index maps a tensor its shard lacks", tensor: "ghost", file: (dir) => join(dir, "model.safetensors"),
      message: /tensor "ghost" is listed in .*index\.json but absent from the shard/,
      make: async (d) => {
        const dir = join(d, "ghost");
        await saveShardedSafetensors(dir, { a: { shape: [1], data: f32(1) } }, { maxShardBytes: 100 });
        const weightMap = { a: "model.safetensors", ghost: "model.safetensors" };
        await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
        return dir;
      } },
  ];
  for (const c of cases) {
    test(c.what, async () => {
      const opened = await c.make(tmp);
      const expectFile = c.file?.(opened) ?? opened;
      await assert.rejects(SafetensorsCheckpoint.open(opened), (e: unknown) => {
        assert.ok(e instanceof SafetensorsError, `not a SafetensorsError: ${String(e)}`);
        assert.equal(e.file, expectFile);
        assert.ok(e.message.startsWith(`${expectFile}: `), e.message);
        assert.equal(e.tensor, c.tensor);
        assert.match(e.message, c.message);
        return true;
      });
    });
  }

  test("unknown tensor name lists near names", async () => {
    const path = join(GOLDEN, "model.safetensors");
    const ckpt = await SafetensorsCheckpoint.open(path);
    try {
      const typo = "language_model.model.embed_token.weight";
      for (const attempt of [() => ckpt.read(typo), async () => ckpt.info(typo)]) {
        await assert.rejects(attempt(), (e: unknown) =>
          e instanceof SafetensorsError && e.file === path && e.tensor === "language_model.model.embed_token.weight" &&
          /not found among 63 tensors; nearest: "language_model\.model\.embed_tokens\.weight"/.test(e.message));
      }
    } finally {
      await ckpt.close();
    }
  });
});

describe("laziness", () => {
  test("open + reading a small tensor touches only the header and that tensor's bytes", async () => {
    const path = join(tmp, "lazy.safetensors");
    const big = new Float32Array(16 * 1024 * 1024); // 64 MB
    await saveSafetensors(path, { big: { shape: [4096, 4096], data: big }, small: { shape: [4], data: f32(1, 2, 3, 4) } });
    await withFile(path, async (f) => {
      const afterOpen = f.bytesRead;
      assert.ok(afterOpen < 1024, `open read ${afterOpen} bytes`);
      assert.deepEqual([...(await f.read("small")).data], [1, 2, 3, 4]);
      assert.equal(f.bytesRead, afterOpen + 16);
      assert.equal(f.info("big").byteLength, 64 * 1024 * 1024);
      await f.read("big");
      assert.equal(f.bytesRead, afterOpen + 16 + 64 * 1024 * 1024);
    });
  });

  test("reads after close fail clearly", async () => {
    const path = join(GOLDEN, "model.safetensors");
    const f = await SafetensorsFile.open(path);
    await f.close();
    await assert.rejects(f.read("language_model.model.norm.weight"), /model\.safetensors: is closed/);
  });
});

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

function absSum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!);
  return s;
}
