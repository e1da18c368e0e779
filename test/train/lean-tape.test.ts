/**
 * withLeanTape (src/train/lean-tape.ts): the same gradients bit for bit as plain tf.variableGrads on the golden tiny
 * model (full fine-tune; LoRA with dropout; LoRA with gradient checkpointing, whose backward runs a nested tape),
 * fewer bytes held when the forward pass ends, nothing left behind, and the engine restored afterwards.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { LoraConfig, getPeftModel } from "../../src/lora/index.js";
import type { TrainableModel } from "../../src/model/trainable.js";
import type { ForwardInputs } from "../../src/model/inputs.js";
import { SavedShape, withLeanTape } from "../../src/train/lean-tape.js";
import { Golden, TINY, maxAbsDiff } from "../helpers/golden.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

for (const backend of await presentBackends()) {
  describe(`withLeanTape on ${backend}`, () => {
    let g: Golden;
    let x: ForwardInputs;
    before(async () => {
      await useBackend(backend);
      g = await Golden.open();
      x = {
        pixelValues: await g.tensor("inputs.pixel_values"), inputIds: await g.tensor("inputs.input_ids"),
        attentionMask: await g.tensor("inputs.attention_mask"), tokenTypeIds: await g.tensor("inputs.token_type_ids"), labels: await g.tensor("inputs.labels"),
      };
    });
    after(async () => {
      tf.dispose(Object.values(x) as tf.Tensor[]);
      await g.close();
    });

    /** Gradients of the loss (and the bytes held when the forward pass ended) with or without the lean tape. */
    const gradsOf = (model: TrainableModel, lean: boolean, seed = 5) => {
      model.setTrainingSeed(seed);
      const vars = [...model.trainableParameters().values()];
      let heldAfterForward = 0;
      const start = tf.memory().numBytes;
      const run = () =>
        tf.variableGrads(() => {
          const loss = model.computeLoss(x);
          heldAfterForward = tf.memory().numBytes - start;
          return loss;
        }, vars);
      const { value, grads } = lean ? withLeanTape(run) : run();
      value.dispose();
      return { grads, heldAfterForward };
    };

    const same = (a: tf.NamedTensorMap, b: tf.NamedTensorMap) => {
      assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
      let worst = 0;
      for (const k of Object.keys(a)) worst = Math.max(worst, maxAbsDiff(a[k]!, b[k]!));
      assert.equal(worst, 0, "lean-tape gradients must equal the plain ones bit for bit");
    };

    test("full fine-tune: same gradients, less held after the forward pass, nothing left behind, engine restored", async () => {
      const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend });
      model.train();
      const engine = tf.engine() as unknown as Record<string, unknown>;
      const methods = ["getTensorsForGradient", "saveTensorsForBackwardMode", "addTapeNode"].map((m) => engine[m]);
      const plain = gradsOf(model, false);
      const before = tf.memory().numTensors;
      const lean = gradsOf(model, true);
      same(plain.grads, lean.grads);
      assert.ok(lean.heldAfterForward < 0.9 * plain.heldAfterForward, `held after forward: lean ${lean.heldAfterForward} vs plain ${plain.heldAfterForward} bytes`);
      tf.dispose([...Object.values(plain.grads), ...Object.values(lean.grads)]);
      assert.equal(tf.memory().numTensors, before - Object.keys(plain.grads).length);
      assert.deepEqual(["getTensorsForGradient", "saveTensorsForBackwardMode", "addTapeNode"].map((m) => engine[m]), methods);
      model.dispose();
    });

    test("LoRA with dropout, with and without gradient checkpointing: same gradients", async () => {
      const base = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend });
      const peft = getPeftModel(base, new LoraConfig({ r: 4, loraAlpha: 8, loraDropout: 0.3, targetModules: ["q_proj", "v_proj", "fc1", "down_proj"], initLoraWeights: false }), { seed: 2 });
      peft.train();
      for (const ckpt of [false, true]) {
        base.gradientCheckpointingEnable(ckpt);
        const plain = gradsOf(peft, false);
        const lean = gradsOf(peft, true);
        same(plain.grads, lean.grads);
        tf.dispose([...Object.values(plain.grads), ...Object.values(lean.grads)]);
      }
      base.gradientCheckpointingEnable(false);
      peft.unload();
      base.dispose();
    });

    test("a throwing loss restores the engine; SavedShape carries shape, rank, size and dtype only", () => {
      const engine = tf.engine() as unknown as Record<string, unknown>;
      const before = engine["addTapeNode"];
      const v = tf.variable(tf.ones([2, 3]));
      assert.throws(() => withLeanTape(() => tf.variableGrads(() => { throw new Error("boom"); }, [v])), /boom/);
      assert.equal(engine["addTapeNode"], before);
      const s = new SavedShape([2, 3, 4], "float32");
      assert.deepEqual([s.shape, s.rank, s.size, s.dtype], [[2, 3, 4], 3, 24, "float32"]);
      v.dispose();
    });
  });
}
