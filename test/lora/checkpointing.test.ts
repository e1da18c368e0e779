/**
 * Gradient checkpointing under LoRA dropout: the backward recomputation replays the forward's dropout masks, so
 * gradients equal the non-checkpointed run exactly (and differ from a run with other masks, so the test can fail).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { initBackend } from "../../src/backend/select.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { LoraConfig, getPeftModel } from "../../src/lora/index.js";
import { Golden, TINY, maxAbsDiff } from "../helpers/golden.js";

test("LoRA dropout + gradient checkpointing = the same gradients as without checkpointing", async () => {
  await initBackend({ backend: "cpu", force: true });
  const base = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
  const peft = getPeftModel(base, new LoraConfig({ r: 4, loraAlpha: 8, loraDropout: 0.5, targetModules: ["q_proj", "v_proj", "fc1"], initLoraWeights: false }), { seed: 3 });
  const g = await Golden.open();
  const x = {
    pixelValues: await g.tensor("inputs.pixel_values"), inputIds: await g.tensor("inputs.input_ids"),
    attentionMask: await g.tensor("inputs.attention_mask"), tokenTypeIds: await g.tensor("inputs.token_type_ids"), labels: await g.tensor("inputs.labels"),
  };
  const vars = [...peft.trainableParameters().values()];
  const gradsWith = (seed: number, ckpt: boolean) => {
    base.gradientCheckpointingEnable(ckpt);
    peft.setTrainingSeed(seed);
    const { value, grads } = tf.variableGrads(() => peft.computeLoss(x), vars);
    value.dispose();
    return grads;
  };
  peft.train();
  const plain = gradsWith(7, false);
  const checkpointed = gradsWith(7, true);
  const otherMasks = gradsWith(8, false);
  let same = 0;
  let differs = 0;
  for (const v of vars) {
    same = Math.max(same, maxAbsDiff(plain[v.name], checkpointed[v.name]));
    differs = Math.max(differs, maxAbsDiff(plain[v.name], otherMasks[v.name]));
  }
  assert.equal(same, 0, "checkpointed gradients must equal the plain ones bit for bit");
  assert.ok(differs > 1e-4, `dropout must matter in this setup (other masks differ by only ${differs})`);
  base.gradientCheckpointingEnable(false);
  tf.dispose([...Object.values(plain), ...Object.values(checkpointed), ...Object.values(otherMasks), ...Object.values(x)]);
  await g.close();
});
