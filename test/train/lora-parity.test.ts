/**
 * LoRA training parity with the real HF Trainer + PEFT (transformers 4.47.1, peft 0.14.0, torch 2.5.1): the adapter
 * saved by PEFT before training (test/fixtures/train/lora_init, r 4, α 8, q/k/v/o/gate/up/down, B non-zero) is
 * loaded onto the golden tiny model and trained 3 steps exactly as gen_lora_parity.py does (warmup 2, accumulation 2,
 * clipping 0.5, weight decay 0.1, eps 1e-4); the adapter we save must equal PEFT's after those steps within 1e-5.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { SafetensorsFile } from "../../src/io/safetensors.js";
import { PeftModel } from "../../src/lora/index.js";
import { Trainer } from "../../src/train/trainer.js";
import { TINY } from "../helpers/golden.js";
import { repoRoot } from "../helpers/paths.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { useBackend } from "../helpers/backends.js";
import { GoldenCollator, goldenDataset } from "./golden-data.js";

const FIXTURE = join(repoRoot(), "test", "fixtures", "train");

for (const backend of ["cpu", "wasm"] as const) {
  describe(`LoRA training = HF Trainer + PEFT (${backend})`, () => {
    let collator: GoldenCollator;
    let tmp: { path: string; cleanup: () => Promise<void> };
    before(async () => {
      await useBackend(backend);
      collator = await GoldenCollator.load();
      tmp = await makeTmpDir("lora-parity-");
    });
    after(async () => {
      collator.dispose();
      await tmp.cleanup();
    });

    test("adapter weights, losses and grad norms after 3 steps match within 1e-5", async () => {
      const summary = JSON.parse(await readFile(join(FIXTURE, "lora_parity.json"), "utf-8"));
      const s = summary.settings as Record<string, number>;
      const base = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend });
      const peft = await PeftModel.fromPretrained(base, join(FIXTURE, "lora_init"), { isTrainable: true });
      const steps: { loss: number; gradNorm: number; lr: number }[] = [];
      const trainer = new Trainer({
        model: peft, collator, trainDataOrder: "sequential",
        trainDataset: goldenDataset((summary.micro_rows as number[]).map((r) => ({ row: r as 0 | 1 }))),
        args: {
          outputDir: join(tmp.path, "out"), saveStrategy: "no", maxSteps: s["max_steps"], learningRate: s["learning_rate"],
          warmupSteps: s["warmup_steps"], gradientAccumulationSteps: s["gradient_accumulation_steps"], maxGradNorm: s["max_grad_norm"],
          weightDecay: s["weight_decay"], adamEpsilon: s["adam_epsilon"], perDeviceTrainBatchSize: s["per_device_train_batch_size"],
        },
        callbacks: [{ onStepEnd: (e) => void steps.push({ loss: e.loss, gradNorm: e.gradNorm, lr: e.learningRate }) }],
      });
      await trainer.train();
      const ref = await SafetensorsFile.open(join(FIXTURE, "lora_parity.safetensors"));
      const arr = async (n: string) => Array.from((await ref.read(n)).data as Float32Array);
      const micro = await arr("micro_loss");
      const gradNorm = await arr("grad_norm");
      for (let k = 0; k < 3; k++) {
        const refLoss = (micro[2 * k]! + micro[2 * k + 1]!) / 2;
        assert.ok(Math.abs(steps[k]!.loss - refLoss) <= 1e-5, `step ${k + 1} loss ${steps[k]!.loss} vs ${refLoss}`);
        assert.ok(Math.abs(steps[k]!.gradNorm - gradNorm[k]!) <= 1e-4 * gradNorm[k]!, `step ${k + 1} grad norm ${steps[k]!.gradNorm} vs ${gradNorm[k]}`);
      }
      const out = join(tmp.path, "adapter");
      await peft.savePretrained(out);
      const ours = await SafetensorsFile.open(join(out, "adapter_model.safetensors"));
      let worst = 0;
      try {
        assert.deepEqual(ours.keys().sort(), [...summary.adapter_keys].sort());
        for (const k of ours.keys()) {
          const [a, b] = [(await ours.read(k)).data as Float32Array, await arr(`final.${k}`)];
          let d = 0;
          for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
          worst = Math.max(worst, d);
          assert.ok(d <= 1e-5, `${k}: max |Δ| ${d}`);
        }
      } finally {
        await ours.close();
        await ref.close();
      }
      console.log(`LoRA parity (${backend}): worst |Δ| ${worst.toExponential(2)} over ${summary.adapter_keys.length} adapter tensors; grad norms ${steps.map((x) => x.gradNorm.toFixed(5))}`);
      peft.dispose();
    });
  });
}
