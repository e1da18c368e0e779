/**
 * `text_config.tie_word_embeddings`: tied (the default), logits = h·embed_tokensᵀ; false, the checkpoint's own
 * `language_model.lm_head.weight` [V, D] is loaded, used and trained. (The tiny PaliGemma 1 golden test checks an
 * untied head against transformers' logits; this file checks the round trip and the error on the golden PaliGemma 2.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration, type ForwardInputs } from "../../src/model/paligemma.js";
import { CheckpointError } from "../../src/model/load.js";
import { softcap } from "../../src/ops/elementwise.js";
import { Golden, TINY, maxAbsDiff } from "../helpers/golden.js";
import { withTmpDir } from "../helpers/tmp.js";

describe("untied LM head (tie_word_embeddings: false)", () => {
  let g: Golden;
  let tied: PaliGemmaForConditionalGeneration;
  let train: ForwardInputs;
  before(async () => {
    g = await Golden.open();
    tied = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
    const [pixelValues, inputIds, attentionMask, tokenTypeIds, labels] = await Promise.all(
      ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"].map((k) => g.tensor(`inputs.${k}`)),
    );
    train = { pixelValues, inputIds, attentionMask, tokenTypeIds, labels };
  });
  after(async () => {
    tf.dispose(Object.values(train) as tf.Tensor[]);
    tied.dispose();
    await g.close();
  });

  test("its lm_head.weight is saved, loaded and used for the logits; gradients reach it, not embed_tokens", async () => {
    const cfg = { ...tied.config, textConfig: { ...tied.config.textConfig, tieWordEmbeddings: false } };
    const params = tied.namedParameters();
    const head = tf.variable(tf.randomNormal([300, 32], 0, 0.3, "float32", 7)); // [V, D], as HF stores it
    params.set("language_model.lm_head.weight", head);
    await withTmpDir(async (dir) => {
      await new PaliGemmaForConditionalGeneration(cfg, params).savePretrained(dir);
      const json = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
      assert.equal(json.text_config.tie_word_embeddings, false);
      const m = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend: "cpu" });
      try {
        assert.ok(m.namedParameters().has("language_model.lm_head.weight"));
        const out = m.forward(train, { outputHiddenStates: true });
        const h = out.hiddenStates!.at(-1)!; // final-norm output [B,L,D]
        const want = tf.tidy(() => softcap(tf.einsum("bld,vd->blv", h, head), 3.0)); // final_logit_softcapping 3
        assert.ok(maxAbsDiff(out.logits, want) <= 1e-5, "logits = softcap(h·lm_headᵀ)");
        assert.ok(maxAbsDiff(out.logits, await g.tensor("train.logits")) > 0.1, "not the tied logits");
        const p = m.namedParameters();
        const names = ["language_model.lm_head.weight", "language_model.model.norm.weight"];
        const { value, grads } = tf.variableGrads(() => m.computeLoss(train), names.map((n) => p.get(n)!));
        assert.ok(grads[p.get(names[0]!)!.name]!.abs().sum().dataSync()[0]! > 0);
        tf.dispose([value, ...Object.values(grads), want, out.logits, out.loss!, ...out.hiddenStates!]);
        tf.dispose([...(out.visionHiddenStates ?? []), out.imageFeatures!]);
      } finally {
        m.dispose();
      }
    });
    head.dispose();
  });

  test("a checkpoint without lm_head.weight is refused, and the message names tie_word_embeddings", () =>
    withTmpDir(async (dir) => {
      const json = JSON.parse(await readFile(join(TINY, "config.json"), "utf8"));
      json.text_config.tie_word_embeddings = false;
      await writeFile(join(dir, "config.json"), JSON.stringify(json));
      await copyFile(join(TINY, "model.safetensors"), join(dir, "model.safetensors"));
      await assert.rejects(PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend: "cpu" }), (e: unknown) => {
        assert.ok(e instanceof CheckpointError);
        assert.match(e.message, /missing 1 tensor\(s\): language_model\.lm_head\.weight/);
        assert.match(e.message, /tie_word_embeddings is false/);
        return true;
      });
    }));
});
