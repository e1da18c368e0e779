/**
 * exportTrainingJob: the generated Python job compiles (`python3 -m py_compile`), job.json carries the same
 * hyperparameters under HF TrainingArguments names and the same PEFT LoraConfig (target modules included), and
 * bad specs are refused. (Running the job needs torch/transformers/peft: see test/fixtures/train/check_job.py.)
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LoraConfig } from "../../src/lora/index.js";
import { TrainingArguments } from "../../src/train/arguments.js";
import { exportTrainingJob, camelToSnake } from "../../src/train/export.js";
import { TrainingError } from "../../src/train/errors.js";
import { withTmpDir } from "../helpers/tmp.js";

describe("exportTrainingJob", () => {
  test("writes train.py (compiles), job.json (mapped args), requirements.txt, README.md", async () => {
    await withTmpDir(async (dir) => {
      const args = new TrainingArguments({ learningRate: 2e-5, gradientAccumulationSteps: 16, perDeviceTrainBatchSize: 1, warmupSteps: 2,
        weightDecay: 1e-6, numTrainEpochs: 2, saveTotalLimit: 1, evalStrategy: "steps", evalSteps: 50, saveSteps: 100,
        loadBestModelAtEnd: true, earlyStoppingPatience: 3, lrSchedulerType: "cosine", removeUnusedColumns: false });
      const lora = new LoraConfig({ r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] });
      const { files } = await exportTrainingJob(dir, {
        modelId: "google/paligemma2-3b-pt-224", dataset: { train: "data/train.jsonl", eval: "data/valid.jsonl" },
        loraConfig: lora, trainingArguments: args, quantization: "nf4", freeze: { visionTower: true },
      });
      assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), ["train.py", "job.json", "requirements.txt", "README.md"]);
      execFileSync("python3", ["-m", "py_compile", join(dir, "train.py")]); // throws with the SyntaxError when it does not compile
      const job = JSON.parse(await readFile(join(dir, "job.json"), "utf-8"));
      const ta = job.training_arguments;
      // one row per hyperparameter: HF name → value
      for (const [k, v] of Object.entries({ learning_rate: 2e-5, gradient_accumulation_steps: 16, per_device_train_batch_size: 1, warmup_steps: 2,
        weight_decay: 1e-6, num_train_epochs: 2, save_total_limit: 1, eval_strategy: "steps", eval_steps: 50, save_steps: 100, load_best_model_at_end: true,
        metric_for_best_model: "loss", greater_is_better: false, lr_scheduler_type: "cosine", adam_beta1: 0.9, adam_beta2: 0.999, adam_epsilon: 1e-8,
        max_grad_norm: 1, seed: 42, optim: "adamw_torch", remove_unused_columns: false, output_dir: "output" })) {
        assert.deepEqual(ta[k], v, `training_arguments.${k}`);
      }
      assert.equal(Object.keys(ta).some((k) => /[A-Z]/.test(k)), false, "only snake_case HF names");
      assert.equal("early_stopping_patience" in ta, false, "early stopping is a callback in HF");
      assert.deepEqual(job.early_stopping, { early_stopping_patience: 3, early_stopping_threshold: 0 });
      assert.deepEqual([...job.lora.target_modules].sort(), ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
      assert.equal(job.lora.r, 8);
      assert.equal(job.lora.lora_alpha, 16);
      assert.equal(job.lora.lora_dropout, 0.05);
      assert.equal(job.lora.inference_mode, false);
      assert.equal(job.quantization, "nf4");
      assert.deepEqual(job.freeze, { visionTower: true });
      const py = await readFile(join(dir, "train.py"), "utf-8");
      for (const s of ["TrainingArguments(**", "get_peft_model", "EarlyStoppingCallback(**", 'bnb_4bit_quant_type="nf4"', "trainer.save_model"]) assert.ok(py.includes(s), s);
      const req = await readFile(join(dir, "requirements.txt"), "utf-8");
      assert.match(req, /^transformers==4\.47\.1$/m);
      assert.match(req, /^peft==0\.14\.0$/m);
    });
  });

  // [spec change, error text]
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ modelId: "" }, /modelId must name a checkpoint/],
    [{ dataset: {} }, /dataset\.train must be a JSONL path/],
    [{ loraConfig: undefined, quantization: "nf4" }, /quantization "nf4" needs loraConfig/],
    [{ trainingArguments: { evalStrategy: "epoch" }, dataset: { train: "t.jsonl" } }, /evalStrategy is "epoch" but dataset\.eval is missing/],
    [{ trainingArguments: { learning_rate: 1 } }, /did you mean learningRate/],
  ];
  for (const [change, msg] of bad) {
    test(`refuses ${JSON.stringify(change)}`, async () => {
      await withTmpDir(async (dir) => {
        const spec = { modelId: "m", dataset: { train: "t.jsonl" }, loraConfig: new LoraConfig({}), ...change };
        await assert.rejects(exportTrainingJob(dir, spec as never), (e: Error) => (assert.match(e.message, msg), e instanceof TrainingError || e.name === "ConfigError"));
      });
    });
  }

  test("camelToSnake follows HF's spelling", () => {
    assert.equal(camelToSnake("adamBeta1"), "adam_beta1");
    assert.equal(camelToSnake("perDeviceTrainBatchSize"), "per_device_train_batch_size");
    assert.equal(camelToSnake("bf16"), "bf16");
  });
});
