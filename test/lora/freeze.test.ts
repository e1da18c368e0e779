/**
 * Freezing: trainable flags from groups and name patterns, patterns that match nothing throw with the names that
 * exist, full fine-tuning freezes nothing, and an optimizer over `trainableParameters()` leaves frozen weights as
 * they were (maestro's "freeze" strategy: vision tower and projector frozen).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { freeze } from "../../src/lora/freeze.js";
import { TINY, maxAbsDiff } from "../helpers/golden.js";
import { goldenInputs } from "./peft-fixture.js";

let model: PaliGemmaForConditionalGeneration;
let inputs: Awaited<ReturnType<typeof goldenInputs>>;
before(async () => {
  model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
  inputs = await goldenInputs();
});
after(() => {
  inputs.dispose();
  model.dispose();
});

describe("freeze", () => {
  test("maestro's freeze: vision tower and projector frozen, the language model trains", () => {
    const r = freeze(model, { visionTower: true, multiModalProjector: true });
    const all = [...model.namedParameters().keys()];
    assert.deepEqual(r.trainable, all.filter((n) => n.startsWith("language_model.")));
    assert.deepEqual(r.frozen, all.filter((n) => !n.startsWith("language_model.")));
    assert.deepEqual([...model.trainableParameters().keys()], r.trainable);
  });

  test("full fine-tuning is freeze(model, {}): nothing frozen; flags are set explicitly every call", () => {
    freeze(model, { languageModel: true });
    assert.ok([...model.trainableParameters().keys()].every((n) => !n.startsWith("language_model.")));
    const r = freeze(model, {});
    assert.equal(r.frozen.length, 0);
    assert.equal(model.trainableParameters().size, model.namedParameters().size);
  });

  test("patterns: strings match whole names (regex), RegExps are tested; both combine with groups", () => {
    const r = freeze(model, { visionTower: true, patterns: ["language_model\\.model\\.embed_tokens\\.weight", /layers\.1\..*_layernorm/] });
    assert.ok(r.frozen.includes("language_model.model.embed_tokens.weight"));
    assert.ok(r.frozen.includes("language_model.model.layers.1.post_feedforward_layernorm.weight"));
    assert.ok(r.trainable.includes("language_model.model.layers.0.post_feedforward_layernorm.weight"));
    assert.ok(!r.frozen.includes("language_model.model.norm.weight"));
    assert.throws(() => freeze(model, { patterns: ["embed_tokens"] }), /patterns\[0\] embed_tokens matches no parameter; parameters are named like: vision_tower/); // full match
  });

  const bad: [string, object, RegExp][] = [
    ["an unknown field", { visionEncoder: true }, /freeze: unknown field visionEncoder; use visionTower, multiModalProjector, languageModel, patterns/],
    ["a non-boolean group", { visionTower: "yes" }, /freeze: visionTower must be true or false/],
    ["a pattern matching nothing", { patterns: [/^text_model\./] }, /patterns\[0\] \/\^text_model\\.\/ matches no parameter/],
    ["an invalid regex", { patterns: ["(("] }, /patterns\[0\] "\(\(" is not a valid regular expression/],
  ];
  for (const [label, spec, re] of bad) {
    test(`throws for ${label}, changing no flag`, () => {
      freeze(model, { visionTower: true });
      const before = [...model.trainableParameters().keys()];
      assert.throws(() => freeze(model, spec as never), re);
      assert.deepEqual([...model.trainableParameters().keys()], before);
    });
  }

  test("an optimizer over trainableParameters() moves only the unfrozen weights", () => {
    freeze(model, { visionTower: true, multiModalProjector: true });
    const snap = new Map([...model.namedParameters()].map(([k, v]) => [k, v.clone()]));
    const opt = tf.train.adam(0.01);
    opt.minimize(() => model.forward(inputs.train).loss as tf.Scalar, false, [...model.trainableParameters().values()]);
    const moved = [...model.namedParameters()].filter(([k, v]) => maxAbsDiff(v, snap.get(k)!) > 0).map(([k]) => k);
    assert.deepEqual(moved, [...model.trainableParameters().keys()]); // every trainable weight moved, no frozen one
    for (const [k, v] of model.namedParameters()) v.assign(snap.get(k)!);
    tf.dispose([...snap.values()]);
    opt.dispose();
    freeze(model, {});
  });
});
