/**
 * Memory on purpose: after a warm-up, repeated forward, forward+backward and generate calls leave
 * `tf.memory().numTensors` (and numBytes) exactly where they were, on every backend present.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../src/tf.js";
import { PaliGemmaForConditionalGeneration, type ForwardInputs } from "../src/model/paligemma.js";
import { Golden, TINY } from "./helpers/golden.js";
import { presentBackends, useBackend } from "./helpers/backends.js";

const backends = await presentBackends();

/** Run `fn` once to warm up, then 3 more times, asserting tensor count and bytes stay flat. */
async function assertFlat(what: string, fn: () => Promise<void> | void): Promise<void> {
  await fn();
  const before = tf.memory();
  for (let i = 0; i < 3; i++) await fn();
  const now = tf.memory();
  assert.equal(now.numTensors, before.numTensors, `${what}: numTensors ${before.numTensors} → ${now.numTensors}`);
  assert.equal(now.numBytes, before.numBytes, `${what}: numBytes ${before.numBytes} → ${now.numBytes}`);
}

for (const backend of backends) {
  describe(`tensor memory stays flat on ${backend}`, () => {
    let g: Golden;
    let model: PaliGemmaForConditionalGeneration;
    let train: ForwardInputs;

    before(async () => {
      await useBackend(backend);
      g = await Golden.open();
      model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend });
      const [pixelValues, inputIds, attentionMask, tokenTypeIds, labels] = await Promise.all(
        ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"].map((k) => g.tensor(`inputs.${k}`)),
      );
      train = { pixelValues, inputIds, attentionMask, tokenTypeIds, labels };
    });

    after(async () => {
      tf.dispose(Object.values(train) as tf.Tensor[]);
      model.dispose();
      await g.close();
    });

    test("forward (with loss and hidden states)", async () => {
      await assertFlat("forward", () => {
        const out = model.forward(train, { outputHiddenStates: true });
        tf.dispose([out.logits, out.loss!, ...out.hiddenStates!, ...out.visionHiddenStates!, out.imageFeatures!]);
      });
    });

    test("forward + backward over every parameter", async () => {
      const vars = [...model.namedParameters().values()];
      await assertFlat("forward+backward", () => {
        const { value, grads } = tf.variableGrads(() => model.forward(train).loss as tf.Scalar, vars);
        assert.equal(Object.keys(grads).length, vars.length);
        tf.dispose([value, ...Object.values(grads)]);
      });
    });

    test("forward + backward with gradient checkpointing", async () => {
      const vars = [...model.namedParameters().values()];
      model.gradientCheckpointingEnable();
      try {
        await assertFlat("checkpointed forward+backward", () => {
          const { value, grads } = tf.variableGrads(() => model.computeLoss(train), vars);
          tf.dispose([value, ...Object.values(grads)]);
        });
      } finally {
        model.gradientCheckpointingEnable(false);
      }
    });

    test("an optimizer step", async () => {
      const opt = tf.train.adam(1e-3);
      const vars = [...model.namedParameters().values()];
      const snapshot = vars.map((v) => v.clone());
      await assertFlat("adam step", () => {
        opt.minimize(() => model.forward(train).loss as tf.Scalar, false, vars);
      });
      vars.forEach((v, i) => v.assign(snapshot[i])); // leave the weights as loaded
      tf.dispose(snapshot);
      opt.dispose();
    });

    test("generate: greedy and beam search", async () => {
      const px = tf.slice(train.pixelValues!, [0, 0, 0, 0], [1, -1, -1, -1]);
      const prompt = await g.tensor("gen.s0.prompt_ids");
      await assertFlat("generate", async () => {
        await model.generate({ pixelValues: px, inputIds: prompt }, { maxNewTokens: 4 });
        await model.generate({ pixelValues: px, inputIds: prompt }, { maxNewTokens: 4, numBeams: 3 });
      });
      tf.dispose([px, prompt]);
    });
  });
}
