/**
 * Tests for src/config: PaliGemma 2 config.json parsing with HF transformers 4.47 defaults.
 *
 * Fixtures: test/fixtures/golden/paligemma2-tiny/{config.json, config_full.json} were written by ../gen.py with
 * `model.config.to_json_file()` (non-default keys only) and `to_json_file(use_diff=False)` (every key), so
 * parsing both to the same object proves the defaults we fill in are the ones HF fills in.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";

import {
  ConfigError,
  configToHfJson,
  loadPaliGemmaConfig,
  parsePaliGemmaConfig,
  type PaliGemmaConfig,
} from "../src/config/index.js";
import { benchConfigPath, goldenDir } from "./helpers/paths.js";

const TINY_DIR = goldenDir("paligemma2-tiny");
const SMALL_CONFIG = benchConfigPath("small");

async function readJson(file: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(file, "utf8")) as Record<string, any>;
}

/**
 * google/paligemma2-3b-pt-224 `config.json` as on the hub (written by convert_paligemma2_weights_to_hf.py +
 * to_json_file: only keys that differ from the class defaults). Keys like head_dim, rope_theta, rms_norm_eps,
 * the softcaps and the vision LayerNorm eps are absent and must come from the defaults.
 */
const HUB_3B_224 = {
  _vocab_size: 257152,
  architectures: ["PaliGemmaForConditionalGeneration"],
  bos_token_id: 2,
  eos_token_id: 1,
  hidden_size: 2048,
  image_token_index: 257152,
  model_type: "paligemma",
  num_hidden_layers: 26,
  pad_token_id: 0,
  projection_dim: 2304,
  text_config: {
    hidden_activation: "gelu_pytorch_tanh",
    hidden_size: 2304,
    intermediate_size: 9216,
    model_type: "gemma2",
    num_hidden_layers: 26,
    num_image_tokens: 256,
    num_key_value_heads: 4,
    query_pre_attn_scalar: 256,
    sliding_window: 4096,
    torch_dtype: "bfloat16",
    vocab_size: 257216,
  },
  torch_dtype: "bfloat16",
  transformers_version: "4.47.0.dev0",
  vision_config: {
    hidden_size: 1152,
    intermediate_size: 4304,
    model_type: "siglip_vision_model",
    num_attention_heads: 16,
    num_hidden_layers: 27,
    num_image_tokens: 256,
    num_positions: 256,
    patch_size: 14,
    projection_dim: 2304,
    projector_hidden_act: "gelu_fast",
    torch_dtype: "bfloat16",
    vision_use_head: false,
  },
};

describe("parsePaliGemmaConfig: fixtures", () => {
  it("tiny golden: config.json (non-default keys) and config_full.json (all keys) give identical configs", async () => {
    const diff = parsePaliGemmaConfig(await readJson(path.join(TINY_DIR, "config.json")));
    const full = parsePaliGemmaConfig(await readJson(path.join(TINY_DIR, "config_full.json")));
    assert.deepEqual(diff, full);
    // gen.py: the deliberately odd values survive
    assert.equal(diff.textConfig.headDim, 16);
    assert.equal(diff.textConfig.queryPreAttnScalar, 12);
    assert.equal(diff.textConfig.finalLogitSoftcapping, 3.0);
    assert.equal(diff.textConfig.slidingWindow, 4);
    assert.equal(diff.visionConfig.hiddenAct, "gelu_pytorch_tanh"); // omitted in config.json: a default
    assert.equal(diff.visionConfig.layerNormEps, 1e-6); // omitted in config.json: a default
    assert.equal(diff.numImageTokens, 16); // (56 // 14) ** 2
    assert.equal(diff.imageTokenIndex, 257);
  });

  it("bench small config", async () => {
    const cfg = parsePaliGemmaConfig(await readJson(SMALL_CONFIG));
    const t = cfg.textConfig;
    assert.deepEqual(
      [t.hiddenSize, t.numHiddenLayers, t.numAttentionHeads, t.numKeyValueHeads, t.headDim, t.vocabSize],
      [768, 8, 12, 4, 64, 34048],
    );
    assert.equal(cfg.imageTokenIndex, 34000);
    const v = cfg.visionConfig;
    assert.deepEqual([v.hiddenSize, v.numHiddenLayers, v.imageSize, v.patchSize], [384, 6, 224, 14]);
    assert.equal(cfg.numImageTokens, 256);
    assert.equal(cfg.projectionDim, 768);
  });

  it("hub-style paligemma2-3b-pt-224 config gets HF's defaults", () => {
    const cfg = parsePaliGemmaConfig(structuredClone(HUB_3B_224));
    assert.deepEqual(cfg, {
      textConfig: {
        modelType: "gemma2", vocabSize: 257216, hiddenSize: 2304, intermediateSize: 9216, numHiddenLayers: 26,
        numAttentionHeads: 8, numKeyValueHeads: 4, headDim: 256, rmsNormEps: 1e-6, ropeTheta: 10000,
        queryPreAttnScalar: 256, attnLogitSoftcapping: 50, finalLogitSoftcapping: 30, slidingWindow: 4096,
        hiddenActivation: "gelu_pytorch_tanh", maxPositionEmbeddings: 8192, tieWordEmbeddings: true,
        padTokenId: 0, bosTokenId: 2, eosTokenId: 1,
      },
      visionConfig: {
        hiddenSize: 1152, intermediateSize: 4304, numHiddenLayers: 27, numAttentionHeads: 16, numChannels: 3,
        imageSize: 224, patchSize: 14, layerNormEps: 1e-6, hiddenAct: "gelu_pytorch_tanh",
      },
      imageTokenIndex: 257152, projectionDim: 2304, numImageTokens: 256, padTokenId: 0, bosTokenId: 2, eosTokenId: 1,
    } satisfies PaliGemmaConfig);
  });
});

describe("parsePaliGemmaConfig: HF semantics", () => {
  const base = (): Record<string, any> => structuredClone(HUB_3B_224);
  const cases: { name: string; edit: (j: Record<string, any>) => void; check: (c: PaliGemmaConfig) => void }[] = [
    {
      // configuration_paligemma.py: vision_config None → SiglipVisionConfig(intermediate_size=4096, ...)
      name: "absent vision_config → PaliGemma's default tower (4096 MLP, not 4304)",
      edit: (j) => { delete j.vision_config; },
      check: (c) => assert.deepEqual(c.visionConfig, {
        hiddenSize: 1152, intermediateSize: 4096, numHiddenLayers: 27, numAttentionHeads: 16, numChannels: 3,
        imageSize: 224, patchSize: 14, layerNormEps: 1e-6, hiddenAct: "gelu_pytorch_tanh",
      }),
    },
    {
      name: "empty vision_config → plain SiglipVisionConfig defaults (768 wide, patch 16)",
      edit: (j) => { j.vision_config = {}; j.projection_dim = 2304; },
      check: (c) => {
        assert.deepEqual([c.visionConfig.hiddenSize, c.visionConfig.intermediateSize, c.visionConfig.patchSize],
          [768, 3072, 16]);
        assert.equal(c.numImageTokens, 196); // (224 // 16) ** 2
      },
    },
    {
      name: "null softcaps and sliding_window mean disabled",
      edit: (j) => {
        Object.assign(j.text_config, { attn_logit_softcapping: null, final_logit_softcapping: null, sliding_window: null });
      },
      check: (c) => assert.deepEqual(
        [c.textConfig.attnLogitSoftcapping, c.textConfig.finalLogitSoftcapping, c.textConfig.slidingWindow],
        [null, null, null]),
    },
    {
      name: "hidden_activation and vision hidden_act: exact GELU is honoured",
      edit: (j) => { j.text_config.hidden_activation = "gelu"; j.vision_config.hidden_act = "gelu"; },
      check: (c) => assert.deepEqual([c.textConfig.hiddenActivation, c.visionConfig.hiddenAct], ["gelu", "gelu"]),
    },
    {
      name: "a legacy text hidden_act equal to what transformers uses (hidden_activation's default) is fine",
      edit: (j) => { delete j.text_config.hidden_activation; j.text_config.hidden_act = "gelu_pytorch_tanh"; },
      check: (c) => assert.equal(c.textConfig.hiddenActivation, "gelu_pytorch_tanh"),
    },
    {
      name: "hidden_activation wins over hidden_act, as in transformers",
      edit: (j) => { j.text_config.hidden_activation = "gelu"; j.text_config.hidden_act = "gelu_pytorch_tanh"; },
      check: (c) => assert.equal(c.textConfig.hiddenActivation, "gelu"),
    },
    {
      name: "tie_word_embeddings false is kept (the model then loads lm_head.weight)",
      edit: (j) => { j.text_config.tie_word_embeddings = false; },
      check: (c) => assert.equal(c.textConfig.tieWordEmbeddings, false),
    },
    {
      name: "top-level ids absent: pad 0, bos/eos from the text config",
      edit: (j) => {
        delete j.pad_token_id; delete j.bos_token_id; delete j.eos_token_id;
        Object.assign(j.text_config, { pad_token_id: 5, bos_token_id: 6, eos_token_id: 7 });
      },
      check: (c) => assert.deepEqual([c.padTokenId, c.bosTokenId, c.eosTokenId], [0, 6, 7]),
    },
    {
      name: "stored num_image_tokens is ignored: recomputed from image/patch size (448px → 1024)",
      edit: (j) => { j.vision_config.image_size = 448; },
      check: (c) => assert.equal(c.numImageTokens, 1024),
    },
    {
      name: "absent image_token_index → 256000",
      edit: (j) => { delete j.image_token_index; },
      check: (c) => assert.equal(c.imageTokenIndex, 256000),
    },
    {
      name: "unknown keys are ignored; top-level model_type may be absent",
      edit: (j) => { j.foo = { bar: 1 }; j.text_config.rope_scaling = null; delete j.model_type; },
      check: (c) => assert.equal(c.textConfig.hiddenSize, 2304),
    },
  ];
  for (const { name, edit, check } of cases) {
    it(name, () => {
      const j = base();
      edit(j);
      check(parsePaliGemmaConfig(j));
    });
  }
});

describe("parsePaliGemmaConfig: errors name the field", () => {
  const tiny = (): Record<string, any> => ({
    model_type: "paligemma", image_token_index: 257, projection_dim: 32,
    text_config: {
      model_type: "gemma2", vocab_size: 300, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16,
    },
    vision_config: {
      model_type: "siglip_vision_model", hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
      num_attention_heads: 2, image_size: 56, patch_size: 14,
    },
  });
  type Edit = ((j: Record<string, any>) => void) | { doc: unknown };
  // [why, edit of the tiny document (or { doc } replacing it), field, message must match]
  const table: [string, Edit, string, RegExp][] = [
    ["a text model that is neither Gemma nor Gemma 2", (j) => { j.text_config.model_type = "llama"; },
      "text_config.model_type", /got "llama"; expected "gemma2" \(PaliGemma 2\) or "gemma" \(PaliGemma 1\)/],
    ["absent text_config is PaliGemma 1's 2048-wide Gemma: the tiny projector does not fit it",
      (j) => { delete j.text_config; }, "projection_dim", /got 32; .*"projection_dim": 2048/],
    ["number written as a string", (j) => { j.text_config.hidden_size = "abc"; }, "text_config.hidden_size",
      /^config\.json: field text_config\.hidden_size: got "abc"; expected a positive integer$/],
    ["zero heads", (j) => { j.text_config.num_attention_heads = 0; }, "text_config.num_attention_heads",
      /got 0; expected a positive integer/],
    ["fractional layer count", (j) => { j.vision_config.num_hidden_layers = 2.5; }, "vision_config.num_hidden_layers",
      /got 2\.5/],
    ["query heads not a multiple of kv heads", (j) => { j.text_config.num_key_value_heads = 3; },
      "text_config.num_key_value_heads", /got 3; .*num_attention_heads \(4\) must be a multiple/],
    ["vision width not divisible by heads", (j) => { j.vision_config.num_attention_heads = 3; },
      "vision_config.num_attention_heads", /hidden_size \(32\) must be divisible/],
    ["image size not a multiple of patch size", (j) => { j.vision_config.image_size = 50; },
      "vision_config.image_size", /got 50; expected a multiple of vision_config\.patch_size \(14\)/],
    ["image token outside the vocabulary", (j) => { j.image_token_index = 300; }, "image_token_index",
      /got 300; expected a token id < text_config\.vocab_size \(300\)/],
    ["projector width differs from the text width", (j) => { j.projection_dim = 64; }, "projection_dim",
      /got 64; .*"projection_dim": 32/],
    ["projection_dim absent → default 2048 ≠ hidden 32", (j) => { delete j.projection_dim; }, "projection_dim",
      /got 2048; 2048 is the default when the key is absent; .*"projection_dim": 32/],
    ["sliding_window as a string", (j) => { j.text_config.sliding_window = "4096"; }, "text_config.sliding_window",
      /got "4096"; expected a positive integer, or null/],
    ["negative softcap", (j) => { j.text_config.final_logit_softcapping = -1; },
      "text_config.final_logit_softcapping", /got -1/],
    ["wrong top-level model_type", (j) => { j.model_type = "llava"; }, "model_type", /got "llava"; expected "paligemma"/],
    ["wrong vision model_type", (j) => { j.vision_config.model_type = "clip_vision_model"; },
      "vision_config.model_type", /siglip_vision_model/],
    ["text_config is not an object", (j) => { j.text_config = [1]; }, "text_config", /expected a JSON object/],
    ["eos token id as a list", (j) => { j.eos_token_id = [1, 107]; }, "eos_token_id", /got \[1,107\]/],
    ["attention biases", (j) => { j.text_config.attention_bias = true; }, "text_config.attention_bias", /only false/],
    ["an activation we do not implement", (j) => { j.text_config.hidden_activation = "relu"; },
      "text_config.hidden_activation", /got "relu"; supported activations: "gelu_pytorch_tanh", "gelu"$/],
    ["a vision activation we do not implement", (j) => { j.vision_config.hidden_act = "quick_gelu"; },
      "vision_config.hidden_act", /got "quick_gelu"; supported activations/],
    ["legacy hidden_act that transformers would ignore", (j) => { j.text_config.hidden_act = "gelu"; },
      "text_config.hidden_act", /got "gelu"; transformers ignores hidden_act for Gemma .*set "hidden_activation"/],
    ["top level is an array", { doc: [1, 2] }, "(root)", /got \[1,2\]; expected a JSON object/],
    ["top level is null", { doc: null }, "(root)", /got null; expected a JSON object/],
  ];
  for (const [why, edit, field, message] of table) {
    it(why, () => {
      let doc: unknown;
      if (typeof edit === "function") {
        const j = tiny();
        edit(j);
        doc = j;
      } else {
        doc = edit.doc;
      }
      assert.throws(() => parsePaliGemmaConfig(doc), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        assert.equal(err.field, field);
        assert.equal(err.file, "config.json");
        assert.ok(err.message.startsWith(`config.json: field ${field}: got `), err.message);
        assert.match(err.message, message);
        return true;
      });
    });
  }
  // the fixture itself parses: the errors above come from the one edit each
  it("unedited tiny document parses", () => assert.equal(parsePaliGemmaConfig(tiny()).numImageTokens, 16));
});

describe("loadPaliGemmaConfig", () => {
  const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pg-config-"));
    try { await fn(dir); } finally { await rm(dir, { recursive: true, force: true }); }
  };
  const expectError = async (dir: string, message: RegExp): Promise<void> => {
    const file = path.join(dir, "config.json");
    await assert.rejects(loadPaliGemmaConfig(dir), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.field, "(root)");
      assert.equal(err.file, file);
      assert.ok(err.message.startsWith(`${file}: field (root): got `), err.message);
      assert.match(err.message, message);
      return true;
    });
  };

  it("reads the tiny golden checkpoint folder", async () => {
    const cfg = await loadPaliGemmaConfig(TINY_DIR);
    assert.equal(cfg.textConfig.vocabSize, 300);
  });
  it("missing config.json names the path", () => withDir((dir) => expectError(dir, /no such file/)));
  it("invalid JSON names the path", () => withDir(async (dir) => {
    await writeFile(path.join(dir, "config.json"), "{ \"model_type\": \"paligemma\", ");
    await expectError(dir, /invalid JSON/);
  }));
  it("errors inside the file carry its path", () => withDir(async (dir) => {
    await writeFile(path.join(dir, "config.json"), JSON.stringify({ model_type: "paligemma", projection_dim: 7 }));
    await assert.rejects(loadPaliGemmaConfig(dir), (err: unknown) =>
      err instanceof ConfigError && err.field === "projection_dim" && err.file === path.join(dir, "config.json"));
  }));
});

/**
 * google/paligemma-3b-pt-224 `config.json` as on the hub (PaliGemma 1: a Gemma (1) text model, MQA, no
 * hidden_activation; `projector_hidden_act` is a key HF's PaliGemma never reads).
 */
const HUB_PG1_3B_224 = {
  architectures: ["PaliGemmaForConditionalGeneration"], bos_token_id: 2, eos_token_id: 1, hidden_size: 2048,
  ignore_index: -100, image_token_index: 257152, model_type: "paligemma", pad_token_id: 0, projection_dim: 2048,
  text_config: {
    hidden_size: 2048, intermediate_size: 16384, model_type: "gemma", num_attention_heads: 8, num_hidden_layers: 18,
    num_image_tokens: 256, num_key_value_heads: 1, torch_dtype: "float32", vocab_size: 257216,
  },
  torch_dtype: "float32", transformers_version: "4.41.0.dev0",
  vision_config: {
    hidden_size: 1152, intermediate_size: 4304, model_type: "siglip_vision_model", num_attention_heads: 16,
    num_hidden_layers: 27, num_image_tokens: 256, patch_size: 14, projection_dim: 2048, projector_hidden_act: "gelu_fast",
    vision_use_head: false,
  },
};

describe("parsePaliGemmaConfig: PaliGemma 1 (text_config.model_type \"gemma\", GemmaConfig defaults)", () => {
  it("the hub's paligemma-3b-pt-224 config: Gemma (1) in Gemma 2's terms", () => {
    const t = parsePaliGemmaConfig(structuredClone(HUB_PG1_3B_224)).textConfig;
    assert.deepEqual(t, {
      modelType: "gemma", vocabSize: 257216, hiddenSize: 2048, intermediateSize: 16384, numHiddenLayers: 18,
      numAttentionHeads: 8, numKeyValueHeads: 1, headDim: 256, rmsNormEps: 1e-6, ropeTheta: 10000,
      queryPreAttnScalar: 256, attnLogitSoftcapping: null, finalLogitSoftcapping: null, slidingWindow: null,
      hiddenActivation: "gelu_pytorch_tanh", maxPositionEmbeddings: 8192, tieWordEmbeddings: true,
      padTokenId: 0, bosTokenId: 2, eosTokenId: 1,
    } satisfies PaliGemmaConfig["textConfig"]);
  });
  it("Gemma 2-only keys in a gemma text_config are not read (GemmaConfig ignores them)", () => {
    const j: Record<string, any> = structuredClone(HUB_PG1_3B_224);
    Object.assign(j.text_config, { head_dim: 128, query_pre_attn_scalar: 7, sliding_window: 4, final_logit_softcapping: 3 });
    const t = parsePaliGemmaConfig(j).textConfig;
    assert.deepEqual([t.queryPreAttnScalar, t.slidingWindow, t.finalLogitSoftcapping], [128, null, null]);
  });
  it("text_config without model_type is gemma; hidden_activation null is tanh GELU (GemmaMLP)", () => {
    const j: Record<string, any> = structuredClone(HUB_PG1_3B_224);
    delete j.text_config.model_type;
    j.text_config.hidden_activation = null;
    const t = parsePaliGemmaConfig(j).textConfig;
    assert.deepEqual([t.modelType, t.hiddenActivation], ["gemma", "gelu_pytorch_tanh"]);
  });
  it("absent text_config → PaliGemmaConfig's default Gemma, its vocabulary from the top-level vocab_size", () => {
    const t = parsePaliGemmaConfig({ model_type: "paligemma", vocab_size: 257216 }).textConfig;
    assert.deepEqual(
      [t.modelType, t.hiddenSize, t.numHiddenLayers, t.intermediateSize, t.numAttentionHeads, t.numKeyValueHeads, t.vocabSize],
      ["gemma", 2048, 18, 16384, 8, 1, 257216],
    );
    assert.equal(parsePaliGemmaConfig({ model_type: "paligemma" }).textConfig.vocabSize, 257152);
  });
});

describe("configToHfJson round trip", () => {
  const sources: [string, () => Promise<unknown>][] = [
    ["tiny golden", () => readJson(path.join(TINY_DIR, "config.json"))],
    ["bench small", () => readJson(SMALL_CONFIG)],
    ["hub 3b-224", async () => structuredClone(HUB_3B_224)],
    ["hub PaliGemma 1 3b-224", async () => structuredClone(HUB_PG1_3B_224)],
    ["tiny golden PaliGemma 1", () => readJson(path.join(goldenDir("paligemma1"), "tiny", "config.json"))],
    ["hub 3b-224 without vision_config, softcaps off", async () => {
      const j: Record<string, any> = structuredClone(HUB_3B_224);
      delete j.vision_config;
      j.text_config.final_logit_softcapping = null;
      j.text_config.sliding_window = null;
      return j;
    }],
  ];
  for (const [name, load] of sources) {
    it(name, async () => {
      const cfg = parsePaliGemmaConfig(await load());
      const json = configToHfJson(cfg);
      // survives JSON text, like a file would
      const back = parsePaliGemmaConfig(JSON.parse(JSON.stringify(json)));
      assert.deepEqual(back, cfg);
      assert.equal(json.model_type, "paligemma");
      assert.deepEqual(json.architectures, ["PaliGemmaForConditionalGeneration"]);
      assert.equal((json.text_config as Record<string, unknown>).model_type, cfg.textConfig.modelType);
      assert.equal((json.vision_config as Record<string, unknown>).model_type, "siglip_vision_model");
    });
  }
});
