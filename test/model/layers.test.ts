/**
 * The layer table (src/model/layers.ts) is the one list of parameters: the checkpoint keymap, the modules and the
 * named linear slots all come from it, and it names and shapes exactly what transformers 4.47 saves (the golden tiny
 * PaliGemma 2's `golden.json` lists `model.state_dict()` from gen.py).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { paliGemmaParamSpecs } from "../../src/model/layers.js";
import { Linear } from "../../src/model/linear.js";
import { TINY } from "../helpers/golden.js";

describe("layer table on the golden tiny PaliGemma 2", () => {
  let model: PaliGemmaForConditionalGeneration;
  before(async () => {
    model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
  });
  after(() => model.dispose());

  test("its tensors are transformers' state_dict: same names, same shapes (tied lm_head aside)", async () => {
    // gen.py: golden["parameters"] = {k: list(v.shape) for k, v in model.state_dict().items()}
    const hf = JSON.parse(await readFile(join(TINY, "golden.json"), "utf8")).parameters as Record<string, number[]>;
    delete hf["language_model.lm_head.weight"]; // tied: the same tensor as embed_tokens, not saved
    const ours = Object.fromEntries(paliGemmaParamSpecs(model.config).map((s) => [s.name, s.hfShape]));
    assert.deepEqual(ours, hf);
  });

  test("the named slots are the table's linears, each over the table's own variables", () => {
    const specs = paliGemmaParamSpecs(model.config);
    const linearWeights = specs.filter((s) => s.layout === "linear").map((s) => s.name);
    const slots = model.namedLinears();
    assert.deepEqual(slots.map((s) => `${s.name}.weight`), linearWeights);
    assert.equal(slots.length, 2 * 6 + 1 + 2 * 7); // SigLIP q k v out fc1 fc2, projector, Gemma q k v o gate up down
    const params = model.namedParameters();
    for (const slot of slots) {
      const layer = slot.get();
      assert.ok(layer instanceof Linear, slot.name);
      assert.equal(layer.weight, params.get(`${slot.name}.weight`), `${slot.name}: the module reads the registered variable`);
      assert.equal(layer.bias, params.get(`${slot.name}.bias`) ?? null, `${slot.name}.bias`);
    }
  });

  test("a slot swaps what the forward uses, and refuses a layer of other widths", () => {
    const slot = model.namedLinears().find((s) => s.name === "language_model.model.layers.1.mlp.down_proj")!;
    const original = slot.get();
    assert.equal(`${slot.inFeatures}→${slot.outFeatures}`, "64→32");
    const wrong = new Linear(tf.variable(tf.zeros([32, 64])));
    assert.throws(() => slot.set(wrong), /layers\.1\.mlp\.down_proj: a \[32 → 64\] layer cannot replace the \[64 → 32\] one/);
    assert.equal(slot.get(), original);
    const zero = new Linear(tf.variable(tf.zeros([64, 32])));
    slot.set(zero);
    const y = tf.tidy(() => slot.forward(tf.ones([2, 64])).abs().sum().dataSync()[0]);
    assert.equal(y, 0); // the slot forwards to what it holds now
    slot.set(original);
    tf.dispose([wrong.weight, zero.weight]);
  });
});
