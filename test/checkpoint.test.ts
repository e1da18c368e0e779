/**
 * Checkpoint loading end to end (config.json + safetensors → PaliGemmaForConditionalGeneration → logits) on altered
 * copies of the golden tiny PaliGemma 2 (test/fixtures/golden/paligemma2-tiny): BF16 weights, sharded files, the
 * stateDict round trip, newer HF tensor names, and broken inputs that must fail with a clear error (class, file,
 * tensor or field) instead of a TypeError from inside TF.js. Backend: cpu (exact reference arithmetic).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { tf } from "../src/tf.js";
import { initBackend } from "../src/backend/select.js";
import { PaliGemmaForConditionalGeneration, type ForwardInputs } from "../src/model/paligemma.js";
import { CheckpointError } from "../src/model/load.js";
import { InputError } from "../src/model/inputs.js";
import { ConfigError } from "../src/config/errors.js";
import { INDEX_FILE, SINGLE_FILE, SafetensorsCheckpoint, SafetensorsError, bf16ToF32 } from "../src/io/safetensors.js";
import { internalShape, toInternalLayout } from "../src/io/keymap.js";
import { paliGemmaParamSpecs } from "../src/model/layers.js";
import { f32ToBf16, saveSafetensors, type TensorToWrite } from "../src/io/safetensors-write.js";
import { Golden, TINY, maxAbsDiff } from "./helpers/golden.js";
import { makeTmpDir } from "./helpers/tmp.js";
import {
  CORRUPT,
  copyConfig,
  makeBf16Copy,
  makeCorruptCopy,
  makeNewerNamingCopy,
  makeShardedCopy,
  readGoldenWeights,
  type CorruptCopy,
  type CorruptKind,
  type HostWeight,
} from "./helpers/checkpoints.js";

await initBackend({ backend: "cpu", force: true });

/** Same weights, same backend: the logits can differ only by float noise (in practice they are identical). */
const SAME_WEIGHTS_TOL = 1e-6;
/**
 * BF16 weights vs the F32 golden logits. BF16 keeps 8 significant bits: round-to-nearest moves a weight by up to
 * 2^-8 relative (half an ulp just above a power of two). The final softcap 3·tanh(x/3) bounds |logit| < 3 with
 * slope ≤ 1 (the golden logits are ≤ 1.3 in size), so it does not amplify. Measured on cpu: max |Δ| 5.30e-2,
 * mean |Δ| 4.0e-3. Most of it comes from the vision tower (vision+projector alone in bf16: 5.7e-2; text alone:
 * 2.1e-2): the tiny model's weights are deliberately not at the 0.02 scale (see the fixture README), so the SigLIP
 * layers are sensitive. A random ±2^-9 relative perturbation of every weight (half bf16's worst case) gives
 * 2.7e-2, so 5.3e-2 is the model's sensitivity, not a loader error; the exact-weights test below pins that down.
 * Bounds: max ≤ 0.1 (≈2× the measurement), mean ≤ 0.01 (2.5×). A wrong bf16 decode (f16 or truncated-f32 bits)
 * puts logits off by O(1).
 */
const BF16_LOGITS_TOL = 0.1;
const BF16_LOGITS_MEAN_TOL = 0.01;
/** A BF16 model whose logits are within this of the F32 ones would mean the rounding never happened. */
const BF16_MIN_EFFECT = 1e-5;

const tmp = await makeTmpDir("checkpoint-test-");
let caseNo = 0;
/** A fresh subdirectory of this file's temp dir (all removed in the final `after`). */
const freshDir = (label: string): string => join(tmp.path, `${String(++caseNo).padStart(2, "0")}-${label}`);

let golden: Golden;
let inputs: ForwardInputs; // inference inputs: pixelValues, inputIds, attentionMask
let goldenWeights: Map<string, HostWeight>;
let f32Model: PaliGemmaForConditionalGeneration; // the golden directory itself
let f32Logits: tf.Tensor;
let goldenInferLogits: tf.Tensor;

before(async () => {
  golden = await Golden.open();
  const [pixelValues, inputIds, attentionMask] = await Promise.all(
    ["pixel_values", "input_ids", "attention_mask"].map((k) => golden.tensor(`inputs.${k}`)),
  );
  inputs = { pixelValues, inputIds, attentionMask };
  goldenInferLogits = await golden.tensor("infer.logits");
  goldenWeights = await readGoldenWeights();
  f32Model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
  f32Logits = f32Model.forward(inputs).logits;
  // The reference itself must be right, or every comparison below is against the wrong thing.
  assert.ok(maxAbsDiff(f32Logits, goldenInferLogits) <= 1e-4, "the F32 golden model reproduces infer.logits");
});

after(async () => {
  for (const t of [inputs.pixelValues, inputs.inputIds, inputs.attentionMask, f32Logits, goldenInferLogits]) t?.dispose();
  f32Model?.dispose();
  await golden?.close();
  await tmp.cleanup();
});

/** Load `dir` on cpu, run the inference forward, dispose the model; returns the logits (caller disposes). */
async function logitsOf(dir: string): Promise<tf.Tensor> {
  const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend: "cpu" });
  try {
    return model.forward(inputs).logits;
  } finally {
    model.dispose();
  }
}

/** mean |a − b| over all elements (float64 on the host). */
function meanAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const [x, y] = [a.dataSync(), b.dataSync()];
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i]! - y[i]!);
  return sum / x.length;
}

/** Index of the first element where `a` and `b` differ bit for bit (NaN-safe), or -1. */
function firstMismatch(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Assert that `actual` equals `expected` tensor by tensor, bit for bit, with the same names and shapes. */
function assertSameWeights(actual: Map<string, HostWeight>, expected: Map<string, HostWeight>, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: tensor names`);
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    assert.deepEqual(a.shape, e.shape, `${what}: shape of ${name}`);
    const i = firstMismatch(a.data, e.data);
    assert.equal(i, -1, `${what}: ${name}[${i}] = ${a.data[i]}, expected ${e.data[i]}`);
  }
}

/** Dtypes stored in a checkpoint, by tensor name. */
async function storedDtypes(dir: string): Promise<Map<string, string>> {
  const ckpt = await SafetensorsCheckpoint.open(dir);
  try {
    return new Map(ckpt.keys().map((k) => [k, ckpt.info(k).dtype]));
  } finally {
    await ckpt.close();
  }
}

// ---------------------------------------------------------------- BF16

describe("BF16 checkpoint", () => {
  let dir: string;
  let model: PaliGemmaForConditionalGeneration;
  let logits: tf.Tensor;

  before(async () => {
    dir = await makeBf16Copy(freshDir("bf16"));
    model = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend: "cpu" });
    logits = model.forward(inputs).logits;
  });
  after(() => {
    logits?.dispose();
    model?.dispose();
  });

  test("every tensor in the file is stored as BF16", async () => {
    const dtypes = await storedDtypes(dir);
    assert.equal(dtypes.size, goldenWeights.size);
    for (const [name, dtype] of dtypes) assert.equal(dtype, "BF16", name);
  });

  test("loaded weights equal the bf16-rounded golden weights exactly", async () => {
    const expected = new Map<string, HostWeight>();
    let changed = 0;
    for (const [name, w] of goldenWeights) {
      const rounded = bf16ToF32(f32ToBf16(w.data));
      if (firstMismatch(rounded, w.data) !== -1) changed++;
      expected.set(name, { shape: w.shape, data: rounded });
    }
    // Non-vacuous: rounding to bf16 really changes (almost) every golden weight tensor.
    assert.ok(changed >= goldenWeights.size / 2, `only ${changed} of ${goldenWeights.size} tensors change in bf16`);
    assertSameWeights(await model.stateDict(), expected, "bf16 model");
  });

  test("logits equal those of a model built in memory from the bf16-rounded golden weights", () => {
    // So the whole logits difference to F32 is the rounding itself, nothing the loader adds.
    const params = new Map<string, tf.Variable>();
    for (const spec of paliGemmaParamSpecs(f32Model.config)) {
      const rounded = bf16ToF32(f32ToBf16(goldenWeights.get(spec.name)!.data));
      params.set(spec.name, tf.variable(tf.tensor(toInternalLayout(spec, rounded), internalShape(spec), "float32"), true));
    }
    const inMemory = new PaliGemmaForConditionalGeneration(f32Model.config, params);
    try {
      const want = inMemory.forward(inputs).logits;
      const d = maxAbsDiff(logits, want);
      want.dispose();
      assert.ok(d <= SAME_WEIGHTS_TOL, `bf16 file vs in-memory bf16 weights: max |Δ| ${d}`);
    } finally {
      inMemory.dispose();
    }
  });

  test(`inference logits within ${BF16_LOGITS_TOL} of golden infer.logits, yet not the F32 logits`, (t) => {
    const diff = maxAbsDiff(logits, goldenInferLogits);
    const mean = meanAbsDiff(logits, goldenInferLogits);
    const vsF32 = maxAbsDiff(logits, f32Logits);
    t.diagnostic(`bf16 logits vs golden infer.logits: max |Δ| ${diff.toExponential(3)}, mean |Δ| ` +
      `${mean.toExponential(3)}; max |Δ| vs the F32 model ${vsF32.toExponential(3)}`);
    assert.ok(diff <= BF16_LOGITS_TOL, `bf16 max |Δ| ${diff} > ${BF16_LOGITS_TOL}`);
    assert.ok(mean <= BF16_LOGITS_MEAN_TOL, `bf16 mean |Δ| ${mean} > ${BF16_LOGITS_MEAN_TOL}`);
    assert.ok(vsF32 > BF16_MIN_EFFECT, `bf16 logits equal the F32 ones (max |Δ| ${vsF32}): the bf16 path was not taken`);
  });
});

// ---------------------------------------------------------------- sharded

describe("sharded checkpoints (≥ 3 shards + index)", () => {
  // maxShardBytes: the biggest tensor (patch_embedding, 75 264 B in F32) must fit, and the ~295 kB (F32) or
  // ~148 kB (BF16) of weights must need at least 3 shards.
  const cases: { dtype: "F32" | "BF16"; maxShardBytes: number; reference: () => Promise<tf.Tensor> }[] = [
    { dtype: "F32", maxShardBytes: 80_000, reference: async () => f32Logits.clone() },
    { dtype: "BF16", maxShardBytes: 40_000, reference: async () => logitsOf(await makeBf16Copy(freshDir("bf16-single"))) },
  ];
  for (const { dtype, maxShardBytes, reference } of cases) {
    test(`${dtype}: loads to the same logits as the single-file ${dtype} model`, async () => {
      const dir = freshDir(`sharded-${dtype}`);
      const res = await makeShardedCopy(dir, { maxShardBytes, dtype });
      const onDisk = (await readdir(dir)).sort();
      assert.ok(onDisk.includes(INDEX_FILE), `no ${INDEX_FILE} in ${onDisk}`);
      assert.ok(!onDisk.includes(SINGLE_FILE), `a ${SINGLE_FILE} was written next to the shards`);
      const shards = onDisk.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
      assert.ok(shards.length >= 3, `only ${shards.length} shards`);
      assert.deepEqual(shards, res.files.map((f) => basename(f)).sort());
      // The reader really goes through the index and opens every shard.
      const ckpt = await SafetensorsCheckpoint.open(dir);
      try {
        assert.equal(ckpt.files.length, shards.length);
        assert.equal(ckpt.keys().length, goldenWeights.size);
        for (const k of ckpt.keys()) assert.equal(ckpt.info(k).dtype, dtype, k);
      } finally {
        await ckpt.close();
      }
      const [got, want] = [await logitsOf(dir), await reference()];
      try {
        const d = maxAbsDiff(got, want);
        assert.ok(d <= SAME_WEIGHTS_TOL, `sharded ${dtype} vs single-file ${dtype}: max |Δ| ${d}`);
        if (dtype === "BF16") assert.ok(maxAbsDiff(got, f32Logits) > BF16_MIN_EFFECT, "sharded BF16 equals F32");
      } finally {
        got.dispose();
        want.dispose();
      }
    });
  }
});

// ---------------------------------------------------------------- stateDict

describe("stateDict", () => {
  test("equals the golden model.safetensors tensor by tensor (F32, exact)", async () => {
    assertSameWeights(await f32Model.stateDict(), goldenWeights, "stateDict");
  });

  test("is a copy: editing it leaves the model's weights alone", async () => {
    // On cpu, variable.data() returns the variable's own storage; a stateDict entry must not alias it.
    // (Its own model, so a failure here cannot spoil the shared one.)
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
    try {
      const sd = await model.stateDict();
      for (const name of ["language_model.model.norm.weight", "multi_modal_projector.linear.weight"]) sd.get(name)!.data.fill(7);
      assertSameWeights(await model.stateDict(), goldenWeights, "stateDict after editing an earlier stateDict");
      const logits = model.forward(inputs).logits;
      const d = maxAbsDiff(logits, f32Logits);
      logits.dispose();
      assert.equal(d, 0, "logits changed after editing a stateDict");
    } finally {
      model.dispose();
    }
  });

  test("saved with saveSafetensors and reloaded with fromPretrained gives the same logits", async () => {
    const dir = freshDir("statedict");
    await copyConfig(dir);
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of await f32Model.stateDict()) tensors[name] = { shape: t.shape, data: t.data };
    await saveSafetensors(join(dir, SINGLE_FILE), tensors, { format: "pt" });
    const dtypes = await storedDtypes(dir);
    assert.deepEqual([...dtypes.keys()].sort(), [...goldenWeights.keys()].sort());
    const reloaded = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend: "cpu" });
    try {
      assertSameWeights(await reloaded.stateDict(), goldenWeights, "reloaded stateDict");
      const logits = reloaded.forward(inputs).logits;
      const d = maxAbsDiff(logits, f32Logits);
      logits.dispose();
      assert.ok(d <= SAME_WEIGHTS_TOL, `round-trip logits max |Δ| ${d}`);
    } finally {
      reloaded.dispose();
    }
  });
});

// ---------------------------------------------------------------- newer HF names

describe("newer transformers naming (model.language_model.*, model.vision_tower.*, lm_head.weight)", () => {
  test("loads to the same parameters and logits", async () => {
    const dir = freshDir("newer-names");
    const names = await makeNewerNamingCopy(dir);
    // The file really uses the new names only (otherwise this would just re-test the golden file).
    const stored = [...(await storedDtypes(dir)).keys()];
    assert.deepEqual(stored.sort(), [...names].sort());
    assert.ok(stored.includes("lm_head.weight"));
    assert.ok(stored.includes("model.language_model.layers.0.self_attn.q_proj.weight"));
    assert.ok(stored.includes("model.vision_tower.vision_model.embeddings.patch_embedding.weight"));
    assert.ok(stored.includes("model.multi_modal_projector.linear.weight"));
    assert.equal(stored.filter((n) => /^(language_model|vision_tower|multi_modal_projector)\./.test(n)).length, 0);

    const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend: "cpu" });
    try {
      // Parameters are keyed by the canonical (file) names.
      assert.deepEqual([...model.namedParameters().keys()].sort(), [...goldenWeights.keys()].sort());
      assertSameWeights(await model.stateDict(), goldenWeights, "renamed checkpoint");
      const logits = model.forward(inputs).logits;
      const d = maxAbsDiff(logits, f32Logits);
      logits.dispose();
      assert.ok(d <= SAME_WEIGHTS_TOL, `renamed-checkpoint logits max |Δ| ${d}`);
    } finally {
      model.dispose();
    }
  });
});

// ---------------------------------------------------------------- broken checkpoints

/** Await `fn`, which must reject; returns the error. */
async function rejection(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected a rejection, but it resolved");
}

/** Escape a literal for a RegExp. */
const lit = (s: string): RegExp => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

describe("broken checkpoints fail with a clear error", () => {
  const cases: {
    kind: CorruptKind;
    what: string;
    cls: new (...args: any[]) => Error;
    /** Every pattern must occur in the message. */
    expect: (c: CorruptCopy) => RegExp[];
    /** At least one of these must occur (e.g. one of the cut tensors). */
    anyOf?: (c: CorruptCopy) => string[];
    extra?: (e: Error, c: CorruptCopy) => void;
  }[] = [
    {
      kind: "truncated", what: "model.safetensors cut by 100 bytes", cls: SafetensorsError,
      expect: (c) => [lit(c.file), /truncated/], anyOf: (c) => c.tensors.map((t) => `"${t}"`),
      extra: (e, c) => assert.equal((e as SafetensorsError).file, c.file),
    },
    {
      kind: "header-length", what: "header length beyond the end of the file", cls: SafetensorsError,
      expect: (c) => [lit(c.file), /-byte header/, /only \d+ bytes/],
    },
    {
      kind: "missing-shard", what: "one shard of a sharded checkpoint deleted", cls: SafetensorsError,
      expect: (c) => [lit(c.file), lit(basename(c.file)), /missing/, lit(INDEX_FILE)],
      anyOf: (c) => c.tensors,
      extra: (_e, c) => assert.match(basename(c.file), /^model-00002-of-\d{5}\.safetensors$/),
    },
    {
      kind: "unknown-dtype", what: `a header entry with dtype ${CORRUPT.unknownDtype}`, cls: SafetensorsError,
      expect: (c) => [lit(c.file), lit(`"${CORRUPT.unknownDtypeTensor}"`), lit(CORRUPT.unknownDtype), /unknown dtype/],
      extra: (e) => assert.equal((e as SafetensorsError).tensor, CORRUPT.unknownDtypeTensor),
    },
    {
      kind: "text-intermediate-96", what: "config text_config.intermediate_size 96, weights 64", cls: CheckpointError,
      expect: (c) => [lit(c.file), lit(`"${c.tensors[0]}"`), /gate_proj/, /\[64,32\]/, /\[96,32\]/, /config\.json/],
    },
    {
      kind: "vision-intermediate-96", what: "config vision_config.intermediate_size 96, weights 64", cls: CheckpointError,
      expect: (c) => [lit(c.file), lit(`"${c.tensors[0]}"`), /mlp\.fc1\.weight/, /\[64,32\]/, /\[96,32\]/],
    },
    {
      // transformers builds PaliGemma 1's default 2048-wide Gemma without text_config: the 32-wide projector does not fit
      kind: "config-no-text_config", what: "config.json without text_config", cls: ConfigError,
      expect: (c) => [lit(c.file), /field projection_dim\b/, /"projection_dim": 2048 \(= text_config\.hidden_size\)/],
      extra: (e, c) => {
        assert.equal((e as ConfigError).field, "projection_dim");
        assert.equal((e as ConfigError).file, c.file);
      },
    },
    {
      kind: "config-absent", what: "no config.json", cls: ConfigError,
      expect: (c) => [lit(c.file), /no such file/],
      extra: (e, c) => assert.equal((e as ConfigError).file, c.file),
    },
    {
      kind: "missing-and-extra", what: "a tensor missing and an unknown one present", cls: CheckpointError,
      expect: (c) => [lit(c.dir), /missing 1 tensor/, lit(CORRUPT.missingTensor), /1 tensor\(s\) the config does not use/,
        lit(CORRUPT.extraTensor)],
      extra: (e, c) => assert.equal((e as CheckpointError).path, c.dir),
    },
    {
      kind: "int-weight", what: "a weight stored as I32", cls: CheckpointError,
      expect: (c) => [lit(c.file), lit(`"${CORRUPT.intTensor}"`), /dtype I32/, /must be F32, BF16, F16 or F64/],
    },
    {
      kind: "duplicate-names", what: "one weight under both its old and its new HF name", cls: CheckpointError,
      expect: (c) => [lit(c.dir), lit(`"${c.tensors[0]}"`), lit(`"${c.tensors[1]}"`), /keep only one/],
    },
  ];

  for (const c of cases) {
    test(`${c.kind}: ${c.what} → ${c.cls.name}`, async () => {
      const copy = await makeCorruptCopy(freshDir(c.kind), c.kind);
      const before = tf.memory().numTensors;
      const err = await rejection(() => PaliGemmaForConditionalGeneration.fromPretrained(copy.dir, { backend: "cpu" }));
      assert.ok(!(err instanceof TypeError), `a TypeError leaked out: ${err.stack}`);
      assert.ok(err instanceof c.cls, `expected ${c.cls.name}, got ${err.name}: ${err.message}`);
      for (const re of c.expect(copy)) assert.match(err.message, re);
      const any = c.anyOf?.(copy);
      if (any) {
        assert.ok(any.length > 0);
        assert.ok(any.some((s) => err.message.includes(s)), `message names none of ${any.join(", ")}: ${err.message}`);
      }
      c.extra?.(err, copy);
      // A failed load frees whatever it had uploaded already.
      assert.equal(tf.memory().numTensors, before, "tensors leaked by the failed load");
    });
  }
});

// ---------------------------------------------------------------- bad forward inputs

describe("forward rejects wrong inputs, naming the argument", () => {
  const ids = (): tf.Tensor => inputs.inputIds;
  /** inputIds with one more/less <image> token than the images provide. */
  const withImageIds = (change: (row0: Int32Array, imageId: number) => void): tf.Tensor => {
    const data = Int32Array.from(ids().dataSync());
    change(data, f32Model.config.imageTokenIndex);
    return tf.tensor2d(data, ids().shape as [number, number], "int32");
  };
  const cases: { what: string; cls: new (...args: any[]) => Error; make: () => ForwardInputs; expect: RegExp[] }[] = [
    {
      what: "float32 inputIds", cls: InputError,
      make: () => ({ ...inputs, inputIds: tf.cast(ids(), "float32") }),
      expect: [/^inputIds:/, /int32/, /float32/],
    },
    {
      what: "pixelValues of the wrong size", cls: InputError,
      make: () => ({ ...inputs, pixelValues: tf.zeros([2, 3, 28, 28]) }),
      expect: [/^pixelValues:/, /\[2,3,56,56\]/, /\[2,3,28,28\]/],
    },
    {
      what: "an id ≥ vocab_size", cls: InputError,
      make: () => ({ ...inputs, inputIds: withImageIds((d) => void (d[d.length - 1] = 300)) }),
      expect: [/^inputIds:/, /id 300/, /vocabulary/, /0\.\.299/],
    },
    {
      what: "attentionMask shape ≠ inputIds shape", cls: InputError,
      make: () => ({ ...inputs, attentionMask: tf.ones([2, 27], "int32") }),
      expect: [/^attentionMask:/, /\[2,27\]/, /\[2, 28\]/],
    },
    {
      what: "one <image> token fewer than the images need", cls: Error,
      make: () => ({
        ...inputs,
        inputIds: withImageIds((d, img) => void (d[d.indexOf(img)] = 5)),
      }),
      expect: [/inputIds/, /<image>/, /31/, /32 features/],
    },
    {
      what: "<image> tokens but no pixelValues", cls: Error,
      make: () => ({ inputIds: ids(), attentionMask: inputs.attentionMask }),
      expect: [/inputIds/, /<image>/, /pixelValues/],
    },
  ];

  for (const c of cases) {
    test(`${c.what} → ${c.cls.name}`, () => {
      const x = c.make();
      const mine = Object.values(x).filter((t) => t && !Object.values(inputs).includes(t)) as tf.Tensor[];
      const before = tf.memory().numTensors;
      try {
        let err: Error | undefined;
        try {
          f32Model.forward(x).logits.dispose();
        } catch (e) {
          err = e as Error;
        }
        assert.ok(err, "forward accepted the bad input");
        assert.ok(!(err instanceof TypeError), `a TypeError leaked out: ${err.stack}`);
        assert.ok(err instanceof c.cls, `expected ${c.cls.name}, got ${err.name}: ${err.message}`);
        for (const re of c.expect) assert.match(err.message, re);
        assert.equal(tf.memory().numTensors, before, "tensors leaked by the failed forward");
      } finally {
        for (const t of mine) t.dispose();
      }
    });
  }

  test("the same inputs, unaltered, are accepted (the cases above fail for their one change)", () => {
    const out = f32Model.forward(inputs);
    try {
      assert.deepEqual(out.logits.shape, [2, 28, 300]);
    } finally {
      out.logits.dispose();
    }
  });
});
