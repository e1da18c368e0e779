/**
 * planMemory against the things it predicts: the keymap's parameter table (tiny golden and the real 3B config),
 * what quantizeModel and getPeftModel really hold, the real peak bytes of a forward+backward on cpu, and the
 * headline: a real-3B-config checkpoint on WASM is refused in seconds with nothing allocated.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { open, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { loadPaliGemmaConfig } from "../../src/config/paligemma.js";
import type { PaliGemmaConfig } from "../../src/config/types.js";
import { paliGemmaParamSpecs } from "../../src/model/layers.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { planMemory } from "../../src/memory/plan.js";
import { formatMemoryPlan } from "../../src/memory/format.js";
import { MemoryPlanError } from "../../src/memory/check.js";
import { quantizeModel } from "../../src/quant/quantize-model.js";
import { getPeftModel } from "../../src/lora/peft-model.js";
import { LoraConfig } from "../../src/lora/config.js";
import { Golden, TINY } from "../helpers/golden.js";
import { useBackend } from "../helpers/backends.js";
import { repoRoot } from "../helpers/paths.js";
import { makeTmpDir } from "../helpers/tmp.js";

/** config.json of google/paligemma2-3b-pt-224, written from the published architecture (see the fixture). */
const REAL_3B = join(repoRoot(), "test", "fixtures", "memory", "paligemma2-3b-pt-224");

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const specValues = (cfg: PaliGemmaConfig) => paliGemmaParamSpecs(cfg).reduce((s, p) => s + numel(p.hfShape), 0);

describe("planMemory: weights", () => {
  for (const [name, dir] of [["golden tiny", TINY], ["real 3B config", REAL_3B]] as const) {
    test(`${name}: float32 and BF16 bytes are the keymap's parameter table`, async () => {
      const cfg = await loadPaliGemmaConfig(dir);
      const plan = planMemory(cfg);
      assert.equal(plan.parameters, specValues(cfg));
      assert.equal(plan.float32WeightBytes, 4 * specValues(cfg));
      assert.equal(plan.diskBytes, 2 * specValues(cfg));
      assert.equal(plan.residentWeightBytes, plan.float32WeightBytes); // inference keeps every weight float32
    });
  }

  test("the real 3B config is a 3B model (So400m/14 + Gemma 2 2B, 257216-token vocabulary)", async () => {
    const cfg = await loadPaliGemmaConfig(REAL_3B);
    assert.equal(cfg.numImageTokens, 256);
    const plan = planMemory(cfg);
    // PaliGemma 2 3B: 3.03B parameters (0.4B SigLIP So400m + 2.6B Gemma 2 2B with its embedding)
    assert.ok(plan.parameters > 3.0e9 && plan.parameters < 3.1e9, `${plan.parameters}`);
    const qlora = planMemory(cfg, { mode: "qlora" });
    assert.ok(qlora.residentWeightBytes < plan.residentWeightBytes / 3, "NF4 base far below float32");
  });

  test("bad options name the field", async () => {
    const cfg = await loadPaliGemmaConfig(TINY);
    assert.throws(() => planMemory(cfg, { batchSize: 0 }), /batchSize must be a positive integer; got 0/);
    assert.throws(() => planMemory(cfg, { mode: "train" as never }), /mode must be/);
    assert.throws(() => planMemory(cfg, { quant: { bits: 2 as never } }), /quant\.bits must be 4 or 8; got 2/);
  });
});

describe("planMemory against what the library allocates (cpu)", () => {
  before(() => useBackend("cpu"));

  for (const doubleQuant of [false, true]) {
    test(`QLoRA weights = quantizeModel's bytes + the float32 rest (doubleQuant ${doubleQuant})`, async () => {
      const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
      try {
        const report = quantizeModel(model, { bits: 4, doubleQuant });
        const plan = planMemory(model.config, { mode: "qlora", quant: { bits: 4, doubleQuant } });
        assert.equal(plan.residentWeightBytes, plan.float32WeightBytes - report.floatBytes + report.quantBytes);
      } finally {
        model.dispose();
      }
    });
  }

  test("LoRA trainable values = getPeftModel's trainable count (maestro targets, r=8)", async () => {
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
    try {
      const peft = getPeftModel(model, LoraConfig.preset("maestro"));
      const [trainable] = peft.getNbTrainableParameters();
      assert.equal(planMemory(model.config, { mode: "lora" }).trainableValues, trainable);
    } finally {
      model.dispose();
    }
  });

  // Measured on the golden inputs: real peak tensor bytes of a forward+backward (tf.profile's peak − the bytes held
  // before) against the plan's activations + backward transients + gradients for the same B, text tokens and labelled rows.
  const FACTOR = 2;
  for (const checkpointing of [false, true]) {
    test(`activation estimate within ${FACTOR}× of the measured fwd+bwd peak (checkpointing ${checkpointing})`, async () => {
      const g = await Golden.open();
      const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
      const keys = ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"];
      const [pixelValues, inputIds, attentionMask, tokenTypeIds, labels] = await Promise.all(keys.map((k) => g.tensor(`inputs.${k}`)));
      try {
        model.gradientCheckpointingEnable(checkpointing);
        const inputs = { pixelValues, inputIds, attentionMask, tokenTypeIds, labels };
        const vars = [...model.namedParameters().values()];
        const step = () => {
          const { value, grads } = tf.variableGrads(() => model.computeLoss(inputs), vars);
          tf.dispose([value, ...Object.values(grads)]);
        };
        step(); // warm-up
        const start = tf.memory().numBytes;
        const profile = await tf.profile(step);
        const measured = profile.peakBytes - start;
        const [B, L] = inputIds!.shape as [number, number];
        const lab = labels!.dataSync();
        const labelled = Math.ceil(lab.filter((v) => v !== -100).length / B);
        const plan = planMemory(model.config, {
          mode: "full",
          batchSize: B,
          textTokens: L - model.config.numImageTokens,
          labelledTokens: labelled,
          gradientCheckpointing: checkpointing,
        });
        const predicted = plan.activationBytes + plan.backwardBytes + plan.trainableValues * 4; // + float32 gradients
        const ratio = predicted / measured;
        console.log(`checkpointing ${checkpointing}: predicted ${predicted} B, measured peak ${measured} B, ratio ${ratio.toFixed(2)}`);
        assert.ok(ratio > 1 / FACTOR && ratio < FACTOR, `predicted ${predicted} vs measured ${measured} (ratio ${ratio.toFixed(2)})`);
      } finally {
        tf.dispose([pixelValues!, inputIds!, attentionMask!, tokenTypeIds!, labels!]);
        model.dispose();
        await g.close();
      }
    });
  }
});

/**
 * A checkpoint directory with the real 3B config.json and one BF16 model.safetensors whose header lists every
 * tensor of the keymap: the header is written, then the file is truncated to its full length (sparse: ~6 GB
 * long, nothing written past the header).
 */
async function writeSparse3bCheckpoint(dir: string): Promise<number> {
  const cfg = await loadPaliGemmaConfig(REAL_3B);
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const spec of paliGemmaParamSpecs(cfg)) {
    const bytes = 2 * numel(spec.hfShape);
    header[spec.name] = { dtype: "BF16", shape: spec.hfShape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // safetensors pads the header to 8 bytes with spaces
  const file = join(dir, "model.safetensors");
  const fh = await open(file, "w");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  await fh.write(len);
  await fh.write(Buffer.from(json, "utf8"));
  await fh.close();
  const total = 8 + json.length + offset;
  await truncate(file, total);
  await writeFile(join(dir, "config.json"), await readFile(join(REAL_3B, "config.json")));
  return total;
}

describe("fromPretrained refuses what does not fit, before allocating", () => {
  let tmp: Awaited<ReturnType<typeof makeTmpDir>>;
  before(async () => {
    tmp = await makeTmpDir("memplan-3b-");
  });
  after(() => tmp.cleanup());

  test("real-3B-config BF16 checkpoint on WASM: refused in seconds, memory message, no tensor allocated", async () => {
    const size = await writeSparse3bCheckpoint(tmp.path);
    assert.ok(size > 6e9, `sparse file of ${size} bytes`);
    await useBackend("wasm");
    const tensorsBefore = tf.memory().numTensors;
    const t0 = performance.now();
    const err = await PaliGemmaForConditionalGeneration.fromPretrained(tmp.path, { backend: "wasm" }).then(
      () => assert.fail("loaded a 12 GB float32 model into a 4 GiB heap"),
      (e: unknown) => e,
    );
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(err instanceof MemoryPlanError, String(err));
    assert.ok(seconds < 5, `refused after ${seconds.toFixed(1)} s`);
    assert.equal(tf.memory().numTensors, tensorsBefore);
    const m = err.message;
    assert.match(m, /needs 13\.\d\d GB/); // the figure: 3.03B float32 values + the BF16 embedding in transit
    assert.match(m, /4-bit weights \(fromPretrained with quantizationConfig[^\n]*: 4\.\d\d GB to load/);
    assert.match(m, /WASM heap of backend "wasm" holds 4\.29 GB/); // the limit: 4 GiB
    assert.match(m, /npm run setup:native/); // the ways out
    assert.match(m, /memoryCheck: false/);
    assert.equal(err.plan.float32WeightBytes, 4 * specValues(await loadPaliGemmaConfig(REAL_3B)));
  });

  test("a plan for training names QLoRA, batch and checkpointing with their figures", async () => {
    await useBackend("cpu");
    const err = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, {
      backend: "cpu",
      memoryLimitBytes: 1e6,
      memoryPlan: { mode: "lora", batchSize: 4 },
    }).then(() => assert.fail("loaded past a 1 MB limit"), (e: unknown) => e);
    assert.ok(err instanceof MemoryPlanError);
    assert.match(err.message, /QLoRA \(fromPretrained with quantizationConfig[^\n]*: \d/);
    assert.match(err.message, /batch size 1: \d/);
    assert.match(err.message, /gradient checkpointing[^\n]*: \d/);
    assert.match(err.message, /memory plan: lora, B=4/); // the table is part of the message
  });

  test("memoryCheck: false loads anyway; the table prints the limit and the verdict", async () => {
    await useBackend("cpu");
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu", memoryLimitBytes: 1e6, memoryCheck: false });
    try {
      const plan = planMemory(model.config);
      const bytes = [...model.namedParameters().values()].reduce((s, v) => s + v.size * 4, 0);
      assert.equal(plan.float32WeightBytes, bytes); // what loading really made resident
      const table = formatMemoryPlan(plan, { bytes: 1e6, is: "RAM", backend: "cpu", freeBytes: 0 });
      assert.match(table, /limit\s+1\.0 MB\s+RAM of backend cpu: DOES NOT FIT/);
    } finally {
      model.dispose();
    }
  });
});
