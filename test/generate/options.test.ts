/**
 * generate()'s inference options (repetitionPenalty, stopStrings, stopOnRepeatedLoc) are the same hooks as passing
 * the processors/criteria by hand, on the real (golden tiny) model.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { initBackend } from "../../src/backend/select.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { repetitionPenalty } from "../../src/generate/penalties.js";
import { Golden, TINY } from "../helpers/golden.js";

let model: PaliGemmaForConditionalGeneration;
let inputs: { pixelValues: tf.Tensor; inputIds: tf.Tensor };

before(async () => {
  await initBackend({ backend: "cpu", force: true });
  model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
  const g = await Golden.open();
  const px = await g.tensor("inputs.pixel_values");
  inputs = { pixelValues: tf.slice(px, [0, 0, 0, 0], [1, -1, -1, -1]), inputIds: await g.tensor("gen.s0.prompt_ids") };
  px.dispose();
  await g.close();
});

test("repetitionPenalty option = the processor passed by hand, and it changes the greedy output", async () => {
  const plain = await model.generate(inputs, { maxNewTokens: 6 });
  const viaOption = await model.generate(inputs, { maxNewTokens: 6, repetitionPenalty: 5 });
  const byHand = await model.generate(inputs, { maxNewTokens: 6, logitsProcessors: [repetitionPenalty(5)] });
  assert.deepEqual(viaOption.sequences, byHand.sequences);
  // HF 4.47 greedy on this prompt repeats (245 245 121 253 253 253); a strong penalty must break the repeats
  const fresh = viaOption.sequences[0].slice(-6);
  assert.notDeepEqual(fresh, plain.sequences[0].slice(-6));
  assert.equal(new Set(fresh).size, fresh.length, `penalised output repeats a token: ${fresh}`);
});

test("stopStrings stop a row once the decoded text contains the string, keeping the token", async () => {
  const decoder = { decode: (ids: readonly number[]) => ids.map((i) => `[${i}]`).join("") };
  const plain = await model.generate(inputs, { maxNewTokens: 6 });
  const third = plain.sequences[0][plain.sequences[0].length - 4]; // the 3rd generated id
  const stopped = await model.generate(inputs, { maxNewTokens: 6, stopStrings: [`[${third}]`], decoder });
  assert.deepEqual(stopped.sequences[0], plain.sequences[0].slice(0, plain.sequences[0].length - 3));
  await assert.rejects(model.generate(inputs, { maxNewTokens: 6, stopStrings: ["x"] }), /need a decoder/);
});
