/**
 * PaliGemma (1) — SigLIP + a Gemma (1) decoder (`text_config.model_type "gemma"`) — against transformers 4.47.1 on a
 * tiny random model made by test/fixtures/golden/paligemma1/gen.py (its docstring lists what the files hold). The
 * decoder is Gemma's: two pre-norms per layer, no soft-caps, no sliding window, scores × head_dim^-0.5, multi-query
 * attention. Tolerances are those of the PaliGemma 2 golden test (test/model.golden.test.ts): logits ≤ 1e-4 absolute
 * (float32 kernels of a 2+2-layer model differ from torch's by ≤ 1e-5 there), loss ≤ 1e-5 relative. Runs on every
 * backend present, like the PaliGemma 2 golden test.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration, type ForwardInputs } from "../../src/model/paligemma.js";
import { LoraConfig } from "../../src/lora/config.js";
import { getPeftModel } from "../../src/lora/peft-model.js";
import { SafetensorsCheckpoint } from "../../src/io/safetensors.js";
import { paliGemmaParamSpecs } from "../../src/model/layers.js";
import { maxAbsDiff } from "../helpers/golden.js";
import { goldenDir } from "../helpers/paths.js";
import { withTmpDir } from "../helpers/tmp.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

const DIR = `${goldenDir("paligemma1")}/tiny`;
const backends = await presentBackends();

for (const backend of backends) describe(`golden tiny PaliGemma (1), made by transformers 4.47.1, on ${backend}`, () => {
  let ref: SafetensorsCheckpoint;
  let model: PaliGemmaForConditionalGeneration;
  let train: ForwardInputs;
  const tensor = async (name: string) => {
    const t = await ref.read(name);
    return tf.tensor(t.data, t.shape, t.dtype === "bool" ? "int32" : t.dtype);
  };
  const scalar = async (name: string) => (await ref.read(name)).data[0]!;

  before(async () => {
    await useBackend(backend);
    ref = await SafetensorsCheckpoint.open(`${DIR}/outputs.safetensors`);
    model = await PaliGemmaForConditionalGeneration.fromPretrained(DIR, { backend });
    const [pixelValues, inputIds, attentionMask, tokenTypeIds, labels] = await Promise.all(
      ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"].map((k) => tensor(`inputs.${k}`)),
    );
    train = { pixelValues, inputIds, attentionMask, tokenTypeIds, labels };
  });
  after(async () => {
    tf.dispose(Object.values(train) as tf.Tensor[]);
    model.dispose();
    await ref.close();
  });

  test("config.json (as on the hub: no hidden_activation) reads as a Gemma (1) decoder", () => {
    const tc = model.config.textConfig;
    assert.equal(tc.modelType, "gemma");
    assert.deepEqual([tc.attnLogitSoftcapping, tc.finalLogitSoftcapping, tc.slidingWindow], [null, null, null]);
    assert.equal(tc.queryPreAttnScalar, tc.headDim); // GemmaAttention: scaling = 1 / sqrt(head_dim)
    assert.equal(tc.hiddenActivation, "gelu_pytorch_tanh"); // GemmaMLP: hidden_activation None → tanh GELU
    assert.equal(tc.numKeyValueHeads, 1);
    const names = paliGemmaParamSpecs(model.config).map((s) => s.name).filter((n) => n.startsWith("language_model.model.layers.0."));
    assert.deepEqual(names.filter((n) => n.includes("layernorm")), [
      "language_model.model.layers.0.input_layernorm.weight",
      "language_model.model.layers.0.post_attention_layernorm.weight",
    ]);
  });

  test("training forward (prefix-LM mask): logits and loss", async () => {
    const out = model.forward(train);
    const want = await tensor("train.logits");
    assert.ok(maxAbsDiff(out.logits, want) <= 1e-4, `train.logits ${maxAbsDiff(out.logits, want)}`);
    const refLoss = await scalar("train.loss"); // 5.689377784729004
    const loss = out.loss!.dataSync()[0]!;
    assert.ok(Math.abs(loss - refLoss) / refLoss <= 1e-5, `loss ${loss} vs ${refLoss}`);
    tf.dispose([out.logits, out.loss!, want]);
  });

  test("inference forward (whole input bidirectional): logits", async () => {
    const out = model.forward({ pixelValues: train.pixelValues, inputIds: train.inputIds, attentionMask: train.attentionMask });
    const want = await tensor("infer.logits");
    assert.ok(maxAbsDiff(out.logits, want) <= 1e-4, `infer.logits ${maxAbsDiff(out.logits, want)}`);
    tf.dispose([out.logits, want]);
  });

  test("greedy generation with the KV cache gives transformers' ids", async () => {
    const prompt = await tensor("gen.s0.prompt_ids");
    const px = tf.slice(train.pixelValues!, [0, 0, 0, 0], [1, -1, -1, -1]);
    const out = await model.generate({ pixelValues: px, inputIds: prompt }, { maxNewTokens: 6 });
    assert.deepEqual(out.sequences[0], Array.from((await ref.read("gen.s0.greedy.sequences")).data));
    tf.dispose([prompt, px]);
  });

  test("exact GELU (hidden_activation / hidden_act \"gelu\") and an untied lm_head, saved and reloaded", async () => {
    const cfg = {
      ...model.config,
      textConfig: { ...model.config.textConfig, hiddenActivation: "gelu" as const, tieWordEmbeddings: false },
      visionConfig: { ...model.config.visionConfig, hiddenAct: "gelu" as const },
    };
    const params = model.namedParameters();
    const head = tf.variable(await tensor("untied_gelu.lm_head.weight"));
    params.set("language_model.lm_head.weight", head);
    await withTmpDir(async (dir) => {
      await new PaliGemmaForConditionalGeneration(cfg, params).savePretrained(dir); // config.json + weights
      const m = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend });
      try {
        const out = m.forward(train);
        const want = await tensor("untied_gelu.train.logits");
        assert.ok(maxAbsDiff(out.logits, want) <= 1e-4, `untied_gelu.train.logits ${maxAbsDiff(out.logits, want)}`);
        const refLoss = await scalar("untied_gelu.train.loss");
        assert.ok(Math.abs(out.loss!.dataSync()[0]! - refLoss) / refLoss <= 1e-5);
        tf.dispose([out.logits, out.loss!, want]);
      } finally {
        m.dispose();
      }
    });
    head.dispose();
  });

  test("a LoRA step: gradients flow through the named slots, and the loss goes down", () => {
    const peft = getPeftModel(model, new LoraConfig({ r: 4, loraAlpha: 8, targetModules: ["q_proj", "v_proj", "gate_proj", "down_proj", "fc1"], initLoraWeights: false }), { seed: 1 });
    try {
      const vars = [...peft.trainableParameters()];
      // A and B per wrapped slot: Gemma q/v/gate/down × 2 layers, SigLIP q/v/fc1 × 2 layers (suffixes match both, as in PEFT)
      assert.equal(vars.length, 2 * (4 * 2 + 3 * 2));
      assert.ok(vars.some(([n]) => n.includes("language_model.model.layers.1.mlp.down_proj.lora_B")));
      const lossOf = () => peft.computeLoss(train);
      const { value, grads } = tf.variableGrads(lossOf, vars.map(([, v]) => v));
      for (const [name, v] of vars) {
        assert.ok(grads[v.name]!.abs().sum().dataSync()[0]! > 0, `no gradient reaches ${name}`);
      }
      const before = value.dataSync()[0]!;
      for (const [, v] of vars) v.assign(tf.tidy(() => tf.sub(v, tf.mul(grads[v.name]!, 0.05))));
      const after = tf.tidy(() => lossOf().dataSync()[0]!);
      assert.ok(after < before, `loss ${before} → ${after}`);
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      peft.unload();
    }
  });
});
