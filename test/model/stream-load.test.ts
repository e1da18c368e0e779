/**
 * Streamed loading (src/model/stream-load.ts) on the golden tiny model, single-file and sharded:
 * - what it loads equals a plain decode of every tensor (read → float32 → our layout) bit for bit;
 * - quantize-while-loading (`quantizationConfig`) equals `fromPretrained` then `quantizeModel` bit for bit (codes,
 *   scales, remaining parameters, frozen biases, report), and no float32 copy of a quantized weight ever reaches
 *   the backend while loading;
 * - bad quantization configs fail before any read; a failure mid-load frees everything (tensor counts flat).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { loadPaliGemmaConfig } from "../../src/config/paligemma.js";
import { ConfigError } from "../../src/config/errors.js";
import { SafetensorsCheckpoint, SINGLE_FILE } from "../../src/io/safetensors.js";
import { internalShape, toInternalLayout } from "../../src/io/keymap.js";
import { paliGemmaParamSpecs } from "../../src/model/layers.js";
import { saveSafetensors } from "../../src/io/safetensors-write.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { streamCheckpoint } from "../../src/model/stream-load.js";
import { CheckpointError } from "../../src/model/load.js";
import { QuantLinear } from "../../src/quant/quant-linear.js";
import { disposeQuantizedLayers, quantizeModel, type QuantizeReport } from "../../src/quant/quantize-model.js";
import type { DeviceQuantized } from "../../src/quant/device.js";
import type { ProgressEvent } from "../../src/events/progress.js";
import { TINY } from "../helpers/golden.js";
import { copyConfig, makeBf16Copy, makeShardedCopy, readGoldenWeights, toWritable } from "../helpers/checkpoints.js";
import { useBackend } from "../helpers/backends.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { writeRandomBf16Checkpoint } from "../helpers/random-checkpoint.js";

const NF4 = { loadIn4bit: true, bnb4bitUseDoubleQuant: true } as const;

/** Bits of a tensor, as uint32 words (float32 NaN payloads and -0 included). */
function bits(t: tf.Tensor): Uint32Array {
  const d = t.dataSync() as Float32Array | Int32Array;
  return new Uint32Array(d.buffer, d.byteOffset, d.length);
}

function assertSameBits(a: tf.Tensor | null, b: tf.Tensor | null, what: string): void {
  assert.equal(a === null, b === null, what);
  if (!a || !b) return;
  assert.deepEqual(a.shape, b.shape, what);
  assert.equal(a.dtype, b.dtype, what);
  assert.ok(Buffer.from(bits(a).buffer).equals(Buffer.from(bits(b).buffer)), `${what}: bits differ`);
}

function assertSameQuantized(a: DeviceQuantized, b: DeviceQuantized, what: string): void {
  assert.deepEqual([a.quantType, a.blockSize, a.shape, a.numel, a.blocks], [b.quantType, b.blockSize, b.shape, b.numel, b.blocks], what);
  assertSameBits(a.words, b.words, `${what} codes`);
  assertSameBits(a.absmax, b.absmax, `${what} absmax`);
  assert.equal(a.dq === null, b.dq === null, what);
  if (a.dq && b.dq) {
    assertSameBits(a.dq.words, b.dq.words, `${what} absmax codes`);
    assertSameBits(a.dq.absmax2, b.dq.absmax2, `${what} absmax2`);
    assertSameBits(a.dq.offset, b.dq.offset, `${what} offset`);
  }
}

function dispose(model: PaliGemmaForConditionalGeneration): void {
  disposeQuantizedLayers(model);
  model.dispose();
}

describe("streamed loading", () => {
  let tmp: Awaited<ReturnType<typeof makeTmpDir>>;
  let sharded: string;
  let bf16: string;
  before(async () => {
    await useBackend("cpu");
    tmp = await makeTmpDir("stream-load-");
    sharded = join(tmp.path, "sharded");
    await makeShardedCopy(sharded, { maxShardBytes: 40_000, dtype: "BF16" });
    bf16 = await makeBf16Copy(join(tmp.path, "bf16"));
  });
  after(() => tmp.cleanup());

  for (const [name, dir] of [["golden F32 single file", () => TINY], ["BF16 single file", () => bf16], ["BF16 sharded", () => sharded]] as const) {
    test(`${name}: every parameter equals a plain decode of its tensor, bit for bit`, async () => {
      const cfg = await loadPaliGemmaConfig(dir());
      const before = tf.memory().numTensors;
      const { params, linears, report } = await streamCheckpoint(cfg, dir());
      const ckpt = await SafetensorsCheckpoint.open(dir());
      try {
        assert.equal(linears.size, 0);
        assert.equal(report, null);
        const specs = paliGemmaParamSpecs(cfg);
        assert.deepEqual([...params.keys()], specs.map((s) => s.name)); // keymap order, whatever the file order
        for (const spec of specs) {
          const host = await ckpt.read(spec.name);
          const ref = tf.tensor(toInternalLayout(spec, host.data as Float32Array), internalShape(spec), "float32");
          assertSameBits(params.get(spec.name)!, ref, spec.name);
          ref.dispose();
        }
      } finally {
        await ckpt.close();
        for (const v of params.values()) v.dispose();
      }
      assert.equal(tf.memory().numTensors, before);
    });
  }

  test("BF16 sharded and BF16 single file load the same bits", async () => {
    const a = await PaliGemmaForConditionalGeneration.fromPretrained(bf16, { backend: "cpu" });
    const b = await PaliGemmaForConditionalGeneration.fromPretrained(sharded, { backend: "cpu" });
    for (const [n, v] of a.namedParameters()) assertSameBits(v, b.namedParameters().get(n)!, n);
    dispose(a);
    dispose(b);
  });

  const cases: { what: string; config: Parameters<typeof PaliGemmaForConditionalGeneration.fromPretrained>[1] & object; quantize: Parameters<typeof quantizeModel>[1] }[] = [
    { what: "NF4, double-quantized absmax", config: { quantizationConfig: NF4 }, quantize: { bits: 4, doubleQuant: true } },
    { what: "NF4, float absmax (transformers' default)", config: { quantizationConfig: { loadIn4bit: true } }, quantize: { bits: 4 } },
    { what: "int8", config: { quantizationConfig: { loadIn8bit: true } }, quantize: { bits: 8 } },
    {
      what: "NF4 with the projector and every fc2 kept float32",
      config: { quantizationConfig: { ...NF4, llmInt8SkipModules: ["multi_modal_projector.linear", "fc2"] } },
      quantize: { bits: 4, doubleQuant: true, skip: ["multi_modal_projector.linear", "fc2"] },
    },
  ];
  for (const c of cases) {
    test(`quantize while loading (${c.what}) equals fromPretrained then quantizeModel, bit for bit`, async () => {
      const start = tf.memory().numTensors;
      const reference = await PaliGemmaForConditionalGeneration.fromPretrained(sharded, { backend: "cpu" });
      const report: QuantizeReport = quantizeModel(reference, c.quantize);
      const afterReference = tf.memory();
      const events: ProgressEvent[] = [];
      let peakBytes = 0;
      const streamed = await PaliGemmaForConditionalGeneration.fromPretrained(sharded, {
        backend: "cpu",
        ...c.config,
        onProgress: (e) => {
          events.push(e);
          peakBytes = Math.max(peakBytes, tf.memory().numBytes - afterReference.numBytes);
        },
      });
      try {
        // same resident tensors: the float weights of quantized linears were never made parameters
        assert.deepEqual([...streamed.namedParameters().keys()], [...reference.namedParameters().keys()]);
        for (const [n, v] of reference.namedParameters()) {
          const w = streamed.namedParameters().get(n)!;
          assertSameBits(w, v, n);
          assert.equal(w.trainable, v.trainable, `${n}.trainable`); // quantized layers' biases frozen in both
        }
        const slotsA = reference.namedLinears();
        const slotsB = streamed.namedLinears();
        let quantized = 0;
        for (const [i, a] of slotsA.entries()) {
          const la = a.get();
          const lb = slotsB[i]!.get();
          assert.equal(lb.constructor, la.constructor, a.name);
          if (la instanceof QuantLinear && lb instanceof QuantLinear) {
            assertSameQuantized(lb.weight, la.weight, a.name);
            assert.deepEqual(lb.options, la.options, a.name);
            assert.equal(lb.bias, lb.bias === null ? null : streamed.namedParameters().get(`${a.name}.bias`), `${a.name}: bias is the model's parameter`);
            quantized++;
          }
        }
        assert.equal(quantized, report.quantized.length);
        assert.ok(quantized > 0);
        const now = tf.memory();
        assert.equal(now.numTensors - afterReference.numTensors, afterReference.numTensors - start); // same count
        // after every tensor, never more on the backend than the quantized model holds at the end: the float32 model
        // is never resident (loading float32 first, then quantizeModel, fails this)
        assert.ok(peakBytes <= now.numBytes - afterReference.numBytes, `peak ${peakBytes} B while loading, ${now.numBytes - afterReference.numBytes} B at the end`);
        const specs = paliGemmaParamSpecs(streamed.config).length;
        assert.deepEqual(events.map((e) => e.phase), ["begin", ...Array(specs).fill("update"), "end"]);
        assert.equal(events.at(-1)!.done, specs);
      } finally {
        dispose(reference);
        dispose(streamed);
      }
      assert.equal(tf.memory().numTensors, start);
    });
  }

  test("quantized bytes: the loader's report equals quantizeModel's", async () => {
    const cfg = await loadPaliGemmaConfig(sharded);
    const { params, linears, report } = await streamCheckpoint(cfg, sharded, { quantize: { bits: 4, blockSize: 64, doubleQuant: true, skip: [] } });
    const reference = await PaliGemmaForConditionalGeneration.fromPretrained(sharded, { backend: "cpu" });
    const expected = quantizeModel(reference, { bits: 4, doubleQuant: true });
    assert.deepEqual(report, expected);
    for (const l of linears.values()) (l as QuantLinear).dispose();
    for (const v of params.values()) v.dispose();
    dispose(reference);
  });

  const refusals: [string, unknown, RegExp][] = [
    ["both 4 and 8 bits", { loadIn4bit: true, loadIn8bit: true }, /field quantizationConfig\.loadIn4bit: got true; set exactly one of loadIn4bit and loadIn8bit/],
    ["neither", {}, /set exactly one of loadIn4bit and loadIn8bit/],
    ["the compute_type typo", { loadIn4bit: true, bnb4bitComputeType: "float32" }, /field quantizationConfig\.bnb4bitComputeType: got "float32"; unknown field \(did you mean "bnb4bitComputeDtype"\?\)/],
    ["fp4", { loadIn4bit: true, bnb4bitQuantType: "fp4" }, /bnb4bitQuantType: got "fp4"; use "nf4"/],
    ["bfloat16 compute", { loadIn4bit: true, bnb4bitComputeDtype: "bfloat16" }, /bnb4bitComputeDtype: got "bfloat16"; use "float32"/],
    ["a skip list of numbers", { loadIn4bit: true, llmInt8SkipModules: [3] }, /llmInt8SkipModules: got \[3\]/],
  ];
  for (const [what, config, message] of refusals) {
    test(`quantizationConfig with ${what}: a ConfigError naming the field, nothing allocated`, async () => {
      const before = tf.memory().numTensors;
      await assert.rejects(
        PaliGemmaForConditionalGeneration.fromPretrained(sharded, { backend: "cpu", quantizationConfig: config as never }),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
      assert.equal(tf.memory().numTensors, before);
    });
  }

  test("a skip module that matches no linear is refused before any read", async () => {
    const before = tf.memory().numTensors;
    await assert.rejects(
      PaliGemmaForConditionalGeneration.fromPretrained(sharded, { backend: "cpu", quantizationConfig: { ...NF4, llmInt8SkipModules: ["lm_head"] } }),
      /llmInt8SkipModules: "lm_head" matches no linear module; the model has: /,
    );
    assert.equal(tf.memory().numTensors, before);
  });

  test("a corrupt tensor late in the file: CheckpointError, everything loaded so far freed (quantized or not)", async () => {
    const dir = join(tmp.path, "nan-last");
    await copyConfig(dir);
    const weights = await readGoldenWeights();
    const last = "language_model.model.norm.weight";
    weights.get(last)!.data[1] = Number.NaN;
    await saveSafetensors(join(dir, SINGLE_FILE), toWritable(weights, "F32"), { format: "pt" });
    for (const quantizationConfig of [undefined, NF4]) {
      const before = tf.memory().numTensors;
      await assert.rejects(
        PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend: "cpu", quantizationConfig }),
        (e: unknown) => e instanceof CheckpointError && /tensor "language_model\.model\.norm\.weight" holds NaN at flat index 1/.test(e.message),
      );
      assert.equal(tf.memory().numTensors, before);
    }
  });
});

test("the random full-size checkpoint writer (bench --only 3b) makes hub-style shards that stream-load", async () => {
  await useBackend("cpu");
  const tmp = await makeTmpDir("random-ckpt-");
  try {
    const dir = await writeRandomBf16Checkpoint(TINY, tmp.path, { seed: 1, maxShardBytes: 60_000 });
    const ckpt = await SafetensorsCheckpoint.open(dir);
    assert.ok(ckpt.files.length >= 2, `${ckpt.files.length} shard(s)`);
    assert.match(ckpt.files[0]!, new RegExp(`model-00001-of-0000${ckpt.files.length}\\.safetensors$`));
    await ckpt.close();
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend: "cpu", quantizationConfig: NF4 });
    const params = model.namedParameters();
    const ln = params.get("vision_tower.vision_model.post_layernorm.weight")!.dataSync();
    assert.ok(ln.every((v) => v === 1)); // LayerNorm γ = 1
    const emb = params.get("language_model.model.embed_tokens.weight")!;
    const std = tf.tidy(() => tf.moments(emb).variance.sqrt().dataSync()[0]!);
    assert.ok(Math.abs(std - 0.02) < 0.002, `embedding std ${std}`); // N(0, 0.02)
    disposeQuantizedLayers(model);
    model.dispose();
  } finally {
    await tmp.cleanup();
  }
});
