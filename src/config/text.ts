/**
 * `text_config` → {@link GemmaTextConfig}, by `model_type`: "gemma2" (PaliGemma 2; `Gemma2Config.__init__`
 * defaults, transformers v4.47.0 `models/gemma2/configuration_gemma2.py`) or "gemma" (PaliGemma 1; `GemmaConfig`,
 * `models/gemma/configuration_gemma.py`), omitted keys filled with that class's defaults, validated.
 * Gemma (1) is held in Gemma 2's terms: scores × head_dim^-0.5 (`queryPreAttnScalar = headDim`), no soft-caps, no
 * sliding window; Gemma 2-only keys in a "gemma" text_config are not read (GemmaConfig does not either).
 */
import type { Fields } from "./fields.js";
import type { GemmaTextConfig } from "./types.js";

/** `Gemma2Config()` defaults (configuration_gemma2.py, v4.47; the Gemma 2 2B shapes). */
export const GEMMA2_DEFAULTS: Readonly<GemmaTextConfig> = Object.freeze({
  modelType: "gemma2",
  vocabSize: 256000,
  hiddenSize: 2304,
  intermediateSize: 9216,
  numHiddenLayers: 26,
  numAttentionHeads: 8,
  numKeyValueHeads: 4,
  headDim: 256,
  rmsNormEps: 1e-6,
  ropeTheta: 10000.0,
  queryPreAttnScalar: 256,
  attnLogitSoftcapping: 50.0,
  finalLogitSoftcapping: 30.0,
  slidingWindow: 4096,
  hiddenActivation: "gelu_pytorch_tanh",
  maxPositionEmbeddings: 8192,
  tieWordEmbeddings: true,
  padTokenId: 0,
  bosTokenId: 2,
  eosTokenId: 1,
});

/** `GemmaConfig()` defaults (configuration_gemma.py, v4.47; the Gemma 7B shapes), in Gemma 2's terms. */
export const GEMMA_DEFAULTS: Readonly<GemmaTextConfig> = Object.freeze({
  ...GEMMA2_DEFAULTS,
  modelType: "gemma",
  vocabSize: 256000,
  hiddenSize: 3072,
  intermediateSize: 24576,
  numHiddenLayers: 28,
  numAttentionHeads: 16,
  numKeyValueHeads: 16,
  headDim: 256,
  queryPreAttnScalar: 256, // = head_dim: GemmaAttention scales by 1/sqrt(head_dim)
  attnLogitSoftcapping: null,
  finalLogitSoftcapping: null,
  slidingWindow: null,
});

/**
 * The text config `PaliGemmaConfig` builds when `text_config` is absent (configuration_paligemma.py): PaliGemma 1's
 * `GemmaConfig(hidden_size=2048, num_hidden_layers=18, intermediate_size=16384, num_attention_heads=8,
 * num_key_value_heads=1, vocab_size=vocab_size)` (the top-level `vocab_size`, default 257152).
 */
export const PALIGEMMA_DEFAULT_TEXT: Readonly<GemmaTextConfig> = Object.freeze({
  ...GEMMA_DEFAULTS,
  hiddenSize: 2048,
  numHiddenLayers: 18,
  intermediateSize: 16384,
  numAttentionHeads: 8,
  numKeyValueHeads: 1,
  vocabSize: 257152,
});

/**
 * The MLP activation: `hidden_activation` (modeling_gemma2.py: `ACT2FN[config.hidden_activation]`). transformers
 * never reads the legacy `hidden_act` of a Gemma config, so one that names another activation than the one used is
 * refused rather than silently ignored.
 */
function gemmaActivation(t: Fields, modelType: GemmaTextConfig["modelType"]): GemmaTextConfig["hiddenActivation"] {
  const dflt = "gelu_pytorch_tanh";
  // GemmaMLP: `if config.hidden_activation is None: … "gelu_pytorch_tanh"`; Gemma2Config has no None default
  const absent = t.raw("hidden_activation") === undefined || (modelType === "gemma" && t.raw("hidden_activation") === null);
  const act = absent ? dflt : t.activation("hidden_activation", dflt);
  const legacy = t.raw("hidden_act");
  if (absent && legacy !== undefined && legacy !== act) {
    t.fail("hidden_act", `transformers ignores hidden_act for Gemma and uses hidden_activation (default "${dflt}"); ` +
      `set "hidden_activation" to the activation you mean ("gelu_pytorch_tanh" or "gelu") and drop hidden_act`);
  }
  return act;
}

/**
 * GemmaConfig / Gemma2Config(**text_config) over `base` (the class defaults, or PaliGemma's default text model for
 * an absent text_config). A text_config without model_type is "gemma", as `PaliGemmaConfig` reads it.
 */
export function parseGemmaText(t: Fields, base?: Readonly<GemmaTextConfig>): GemmaTextConfig {
  const modelType = t.raw("model_type") ?? "gemma";
  if (modelType !== "gemma" && modelType !== "gemma2") {
    t.fail("model_type", 'expected "gemma2" (PaliGemma 2) or "gemma" (PaliGemma 1)');
  }
  const gemma2 = modelType === "gemma2";
  if (t.bool("attention_bias", false)) {
    t.fail("attention_bias", "Gemma has no attention biases; only false is supported");
  }
  const d = base ?? (gemma2 ? GEMMA2_DEFAULTS : GEMMA_DEFAULTS);
  const headDim = t.posInt("head_dim", d.headDim);
  const text: GemmaTextConfig = {
    modelType,
    vocabSize: t.posInt("vocab_size", d.vocabSize),
    hiddenSize: t.posInt("hidden_size", d.hiddenSize),
    intermediateSize: t.posInt("intermediate_size", d.intermediateSize),
    numHiddenLayers: t.posInt("num_hidden_layers", d.numHiddenLayers),
    numAttentionHeads: t.posInt("num_attention_heads", d.numAttentionHeads),
    numKeyValueHeads: t.posInt("num_key_value_heads", d.numKeyValueHeads),
    headDim,
    rmsNormEps: t.posNum("rms_norm_eps", d.rmsNormEps),
    ropeTheta: t.posNum("rope_theta", d.ropeTheta),
    queryPreAttnScalar: gemma2 ? t.posNum("query_pre_attn_scalar", d.queryPreAttnScalar) : headDim,
    attnLogitSoftcapping: gemma2 ? t.positiveOrNull("attn_logit_softcapping", d.attnLogitSoftcapping, false) : null,
    finalLogitSoftcapping: gemma2 ? t.positiveOrNull("final_logit_softcapping", d.finalLogitSoftcapping, false) : null,
    slidingWindow: gemma2 ? t.positiveOrNull("sliding_window", d.slidingWindow, true) : null,
    hiddenActivation: gemmaActivation(t, modelType),
    maxPositionEmbeddings: t.posInt("max_position_embeddings", d.maxPositionEmbeddings),
    tieWordEmbeddings: t.bool("tie_word_embeddings", d.tieWordEmbeddings),
    padTokenId: t.tokenId("pad_token_id", d.padTokenId),
    bosTokenId: t.tokenId("bos_token_id", d.bosTokenId),
    eosTokenId: t.tokenId("eos_token_id", d.eosTokenId),
  };
  if (text.numAttentionHeads % text.numKeyValueHeads !== 0) {
    t.fail("num_key_value_heads",
      `text_config.num_attention_heads (${text.numAttentionHeads}) must be a multiple of it (grouped-query attention)`,
      text.numKeyValueHeads);
  }
  for (const [key, id] of [["pad_token_id", text.padTokenId], ["bos_token_id", text.bosTokenId],
    ["eos_token_id", text.eosTokenId]] as const) {
    if (id >= text.vocabSize) t.fail(key, `expected a token id < text_config.vocab_size (${text.vocabSize})`, id);
  }
  return text;
}
