/**
 * The per-patch heads of the nano pretraining: the embedding-tied head scores a character class by the cosine
 * between the patch feature and that character's token embedding (×τ), learned rows for background and shapes;
 * the vision phase trains only the vision tower, projector, embedding and head (the decoder is untouched), and a
 * run switched from the vision phase to the decoder phase resumes with zero moments for the decoder and a frozen
 * vision side.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { repoRoot } from "../helpers/paths.js";
import { withTmpDir } from "../helpers/tmp.js";
import { parsePaliGemmaConfig } from "../../src/config/paligemma.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { NANO_CONFIG_JSON, NANO_NAME } from "../../src/nano/checkpoint.js";
import { DEFAULT_PRETRAIN, NanoPretrainer } from "../../src/nano/pretrain.js";
import { TIED_SCALE, headLoss, tiedHead } from "../../src/nano/patch-heads.js";
import { initBackend } from "../../src/backend/select.js";

await initBackend();

const DIR = join(repoRoot(), "models", NANO_NAME);

describe("tiedHead", () => {
  it("logits = τ·cos(x, E[token of c]) for characters, τ·cos(x, own row) otherwise; the argmax of E[id] is its class", () => {
    const E = tf.variable(tf.randomNormal([12, 8], 0, 1, "float32", 3));
    const classIds = [-1, 5, 9, 2, -1]; // background, three characters (token ids 5, 9, 2), one shape
    const head = tiedHead(E, classIds, 1);
    const [[, rows]] = head.variables();
    const x = tf.concat([tf.gather(E, [5, 9, 2]), tf.mul(tf.slice(rows!, [0, 0], [1, 8]), 3)]) as tf.Tensor2D; // [4, 8]
    const logits = head.logits(x);
    assert.deepEqual(logits.shape, [4, 5]);
    assert.deepEqual(Array.from(tf.argMax(logits, -1).dataSync()), [1, 2, 3, 0]);
    const got = logits.arraySync();
    const e = E.arraySync() as number[][];
    const xs = x.arraySync();
    const cos = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0) / Math.hypot(...a) / Math.hypot(...b);
    for (const [i, c, id] of [[0, 2, 9], [1, 1, 5], [3, 3, 2]] as const) assert.ok(Math.abs(got[i]![c]! - TIED_SCALE * cos(xs[i]!, e[id]!)) < 1e-4);
    assert.ok(Math.abs(got[3]![0]! - TIED_SCALE) < 1e-3, "a feature along the background row: cosine 1");
    // the loss reaches the embedding: the gradient of the head's loss w.r.t. E is non-zero on the class tokens only
    const g = tf.grad((emb: tf.Tensor) => {
      const h = tiedHead(emb as tf.Variable, classIds, 1);
      return headLoss(h.logits(x), tf.tensor1d([1, 2, 3, 0], "int32")).loss;
    })(E);
    const rowNorm = Array.from(tf.norm(g, "euclidean", 1).dataSync());
    assert.deepEqual(rowNorm.map((v, i) => v > 0 ? i : -1).filter((i) => i >= 0), [2, 5, 9]);
    head.dispose();
    tf.dispose([E, x, logits, g]);
  });
});

const tinyConfig = () => parsePaliGemmaConfig({
  ...structuredClone(NANO_CONFIG_JSON), projection_dim: 16, hidden_size: 16,
  text_config: { ...NANO_CONFIG_JSON.text_config, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, query_pre_attn_scalar: 8 },
  vision_config: { ...NANO_CONFIG_JSON.vision_config, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, projection_dim: 16 },
});

describe("NanoPretrainer vision phase + tied head", () => {
  it("vision phase: vision tower, projector, embedding, head only; resumed as the decoder phase: the vision side frozen", async () => {
    const processor = await PaliGemmaProcessor.fromPretrained(DIR);
    const config = { ...DEFAULT_PRETRAIN, batchSize: 2, warmupSteps: 1, learningRate: 3e-3, curriculumSteps: 10, orderWeight: 0,
      head: "tied" as const, layout: "grid" as const, phase: "vision" as const };
    const a = new NanoPretrainer(await PaliGemmaForConditionalGeneration.fromConfig(tinyConfig(), { seed: 1 }), processor, config);
    const names = [...a.parameters().keys()];
    assert.ok(names.includes("tied_head.rows") && names.includes("language_model.model.embed_tokens.weight"));
    assert.ok(names.some((n) => n.startsWith("vision_tower.")) && names.includes("multi_modal_projector.linear.weight"));
    assert.ok(!names.some((n) => n.startsWith("language_model.model.layers.")), "no decoder layer in the vision phase");
    const all = a.model.trainableParameters();
    const decoderBefore = await all.get("language_model.model.layers.0.mlp.up_proj.weight")!.data();
    const visionBefore = await all.get("vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight")!.data();
    const r = await a.trainStep();
    assert.equal(r.textLoss, 0);
    assert.ok(r.patchLoss > 0 && Number.isFinite(r.patchLoss));
    assert.deepEqual(await all.get("language_model.model.layers.0.mlp.up_proj.weight")!.data(), decoderBefore);
    assert.notDeepEqual(await all.get("vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight")!.data(), visionBefore);
    const acc = await a.heldOutPatchAccuracy(2);
    assert.ok(acc >= 0 && acc <= 1);
    await withTmpDir(async (run) => {
      await a.save(run);
      const phase2 = { ...config, phase: "decoder" as const };
      const b = new NanoPretrainer(await PaliGemmaForConditionalGeneration.fromPretrained(join(run, "state")), processor, phase2);
      await b.restore(run);
      assert.equal(b.step, 1);
      const names2 = [...b.parameters().keys()];
      assert.ok(names2.some((n) => n.startsWith("language_model.model.layers.")) && names2.includes("tied_head.rows"));
      assert.ok(!names2.some((n) => n.startsWith("vision_tower.") || n.startsWith("multi_modal_projector.")));
      const bp = b.model.trainableParameters();
      const [dec, vis] = [await bp.get("language_model.model.layers.0.mlp.up_proj.weight")!.data(), await bp.get("vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight")!.data()];
      const before = tf.memory().numTensors;
      const s = await b.trainStep();
      assert.equal(tf.memory().numTensors, before, "a step leaves no tensors behind");
      assert.ok(s.textLoss > 0 && s.patchLoss > 0);
      assert.notDeepEqual(await bp.get("language_model.model.layers.0.mlp.up_proj.weight")!.data(), dec);
      assert.deepEqual(await bp.get("vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight")!.data(), vis);
      const joint = new NanoPretrainer(b.model, processor, { ...config, phase: "joint" });
      assert.equal(joint.parameters().size, b.model.trainableParameters().size + 1, "joint: every model parameter + the head's rows");
      joint.dispose();
      b.dispose();
      b.model.dispose();
    });
    a.dispose();
    a.model.dispose();
  });
});
