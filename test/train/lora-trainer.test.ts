/**
 * The Trainer with a LoRA PeftModel (src/lora): dropout randomness and checkpoints. A run with LoRA dropout,
 * checkpointed every 2 steps, resumed from checkpoint-2 into a freshly built PeftModel, ends with exactly the
 * adapter of the uninterrupted run (the trainer RNG seeds the dropout masks and is saved in the checkpoint); the
 * checkpoint holds a PEFT adapter (adapter_config.json + adapter_model.safetensors with PEFT key names).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { LoraConfig, getPeftModel, type PeftModel } from "../../src/lora/index.js";
import { Trainer } from "../../src/train/trainer.js";
import { TINY } from "../helpers/golden.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { useBackend } from "../helpers/backends.js";
import { GoldenCollator, variedDataset } from "./golden-data.js";

await useBackend("wasm");

describe("Trainer + PeftModel", () => {
  let collator: GoldenCollator;
  let tmp: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    collator = await GoldenCollator.load();
    tmp = await makeTmpDir("lora-trainer-");
  });
  after(async () => {
    collator.dispose();
    await tmp.cleanup();
  });

  const build = async (): Promise<PeftModel> => {
    const base = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "wasm" });
    return getPeftModel(base, new LoraConfig({ r: 4, loraAlpha: 8, loraDropout: 0.2, targetModules: ["q_proj", "v_proj", "down_proj"] }), { seed: 3 });
  };
  const adapter = async (m: PeftModel) => new Map(await Promise.all([...m.trainableParameters()].map(async ([k, v]) => [k, (await v.data()) as Float32Array] as const)));
  const trainer = (model: PeftModel, outputDir: string) => new Trainer({
    model, collator, trainDataset: variedDataset(5),
    args: { outputDir, maxSteps: 4, perDeviceTrainBatchSize: 2, gradientAccumulationSteps: 2, learningRate: 1e-2, weightDecay: 0.01,
      saveStrategy: "steps", saveSteps: 2, loggingSteps: 1 },
  });

  test("resume from checkpoint-2 into a fresh PeftModel = the uninterrupted run (dropout included)", async () => {
    const full = await build();
    const dirA = join(tmp.path, "a");
    const before = tf.memory().numTensors;
    await trainer(full, dirA).train();
    assert.equal(tf.memory().numTensors, before, "no tensors left behind by a LoRA run");
    const files = await readdir(join(dirA, "checkpoint-2"));
    for (const f of ["adapter_config.json", "adapter_model.safetensors", "trainable_params.safetensors", "optimizer.safetensors", "trainer_state.json"]) {
      assert.ok(files.includes(f), `${f} in checkpoint-2: ${files}`);
    }
    const want = await adapter(full);

    const resumed = await build(); // fresh adapters (same seed): everything must come from the checkpoint
    full.dispose();
    await trainer(resumed, join(tmp.path, "c")).train({ resumeFromCheckpoint: join(dirA, "checkpoint-2") });
    const got = await adapter(resumed);
    assert.equal(got.size, want.size);
    for (const [k, v] of want) assert.deepEqual(Array.from(got.get(k)!), Array.from(v), k);

    // without the saved RNG the dropout masks would differ: a run with another seed ends elsewhere
    const other = await build();
    await new Trainer({ model: other, collator, trainDataset: variedDataset(5),
      args: { outputDir: join(tmp.path, "d"), maxSteps: 4, perDeviceTrainBatchSize: 2, gradientAccumulationSteps: 2, learningRate: 1e-2,
        weightDecay: 0.01, saveStrategy: "no", seed: 8, dataSeed: 42 } }).train(); // same data order, other dropout seeds
    const diff = await adapter(other);
    assert.ok([...want].some(([k, v]) => v.some((x, i) => x !== diff.get(k)![i])), "the trainer seed reaches the dropout masks");
    resumed.dispose();
    other.dispose();
  });
});
