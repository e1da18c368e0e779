/** TrainingArguments: HF 4.47 defaults, validation naming field and fix, unknown fields with the nearest name. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TrainingArguments, TRAINING_ARGUMENTS_DEFAULTS } from "../../src/train/arguments.js";
import { ConfigError } from "../../src/config/errors.js";
import { nearestName } from "../../src/util/suggest.js";

describe("TrainingArguments", () => {
  test("HF defaults (transformers 4.47 training_args.py)", () => {
    const a = new TrainingArguments();
    const hf = { numTrainEpochs: 3, maxSteps: -1, perDeviceTrainBatchSize: 8, perDeviceEvalBatchSize: 8, gradientAccumulationSteps: 1,
      learningRate: 5e-5, warmupSteps: 0, warmupRatio: 0, lrSchedulerType: "linear", weightDecay: 0, adamBeta1: 0.9, adamBeta2: 0.999,
      adamEpsilon: 1e-8, maxGradNorm: 1, loggingSteps: 500, evalStrategy: "no", saveStrategy: "steps", saveSteps: 500, saveTotalLimit: null,
      loadBestModelAtEnd: false, seed: 42 };
    for (const [k, v] of Object.entries(hf)) assert.equal((a as unknown as Record<string, unknown>)[k], v, k);
    assert.equal(a.evalSteps, 500, "evalSteps defaults to loggingSteps");
    assert.equal(a.dataSeed, 42, "dataSeed defaults to seed");
    assert.equal(a.metricForBestModel, null);
  });

  test("derived: metricForBestModel 'loss' with loadBestModelAtEnd; greaterIsBetter from the metric name", () => {
    const a = new TrainingArguments({ loadBestModelAtEnd: true, evalStrategy: "steps", evalSteps: 10, saveSteps: 20 });
    assert.equal(a.metricForBestModel, "loss");
    assert.equal(a.greaterIsBetter, false);
    const b = new TrainingArguments({ metricForBestModel: "eval_accuracy" });
    assert.equal(b.greaterIsBetter, true);
  });

  // [init, field named in the error, text the fix must contain]
  const bad: [Record<string, unknown>, string, string][] = [
    [{ learning_rate: 1e-4 }, "learning_rate", "did you mean learningRate?"], // snake_case from a Python notebook
    [{ bnb_4bit_compute_type: "float16" }, "bnb_4bit_compute_type", "unknown field"], // the seed's silent typo
    [{ warmupStep: 2 }, "warmupStep", "did you mean warmupSteps?"],
    [{ gradientAccumulationStep: 4 }, "gradientAccumulationStep", "did you mean gradientAccumulationSteps?"],
    [{ num_train_epochs: 1 }, "num_train_epochs", "did you mean numTrainEpochs?"],
    [{ learningRate: -1 }, "learningRate", "≥ 0"],
    [{ perDeviceTrainBatchSize: 0 }, "perDeviceTrainBatchSize", "integer ≥ 1"],
    [{ gradientAccumulationSteps: 1.5 }, "gradientAccumulationSteps", "integer"],
    [{ lrSchedulerType: "cosin" }, "lrSchedulerType", 'did you mean "cosine"'],
    [{ evalStrategy: "step" }, "evalStrategy", 'did you mean "steps"'],
    [{ warmupRatio: 1.5 }, "warmupRatio", "≤ 1"],
    [{ adamBeta2: 1 }, "adamBeta2", "< 1"],
    [{ maxSteps: 0 }, "maxSteps", "-1"],
    [{ bf16: true }, "bf16", "float32"],
    [{ loadBestModelAtEnd: true }, "evalStrategy", "loadBestModelAtEnd needs evaluations"],
    [{ loadBestModelAtEnd: true, evalStrategy: "steps", saveStrategy: "epoch" }, "saveStrategy", "equal to evalStrategy"],
    [{ loadBestModelAtEnd: true, evalStrategy: "steps", evalSteps: 30, saveSteps: 50 }, "saveSteps", "multiple of evalSteps"],
    [{ earlyStoppingPatience: 2 }, "earlyStoppingPatience", "needs evaluations"],
  ];
  for (const [init, field, fix] of bad) {
    test(`rejects ${JSON.stringify(init)}: names ${field} and the fix`, () => {
      assert.throws(() => new TrainingArguments(init as never), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.field, field);
        assert.ok(e.message.includes(fix), `message "${e.message}" lacks "${fix}"`);
        assert.ok(e.message.startsWith(`TrainingArguments: field ${field}`), e.message);
        return true;
      });
    });
  }

  test("accepts the HF notebook's no-op fields (removeUnusedColumns, dataloaderPinMemory, reportTo)", () => {
    const a = new TrainingArguments({ removeUnusedColumns: false, dataloaderPinMemory: false, reportTo: ["tensorboard"] });
    assert.equal(a.removeUnusedColumns, false);
  });

  test("toJSON/with round-trip and is frozen", () => {
    const a = new TrainingArguments({ learningRate: 2e-5, saveTotalLimit: 1, loadBestModelAtEnd: true, evalStrategy: "epoch", saveStrategy: "epoch" });
    const b = a.with({ seed: 7 });
    assert.equal(b.learningRate, 2e-5);
    assert.equal(b.seed, 7);
    assert.equal(b.dataSeed, 42, "a resolved dataSeed is kept");
    assert.deepEqual(new TrainingArguments(a.toJSON() as never).toJSON(), a.toJSON());
    assert.throws(() => ((a as unknown as Record<string, number>).learningRate = 1), TypeError);
    assert.equal(Object.keys(a.toJSON()).length, Object.keys(TRAINING_ARGUMENTS_DEFAULTS).length);
  });

  test("nearestName: nothing close → no suggestion", () => {
    assert.equal(nearestName("completelyUnrelatedThing", ["seed", "learningRate"]), undefined);
    assert.equal(nearestName("SEED", ["seed"]), "seed");
  });
});
