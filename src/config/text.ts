/**
 * `text_config` → {@link GemmaTextConfig}: `Gemma2Config.__init__` defaults (transformers v4.47.0,
 * `models/gemma2/configuration_gemma2.py`) for omitted keys, validated.
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

const PALIGEMMA1_FIX =
  "PaliGemma 1 / Gemma 1 text models are not supported yet; PaliGemma 2 checkpoints have " +
  'text_config.model_type "gemma2"';

/**
 * The MLP activation: `hidden_activation` (modeling_gemma2.py: `ACT2FN[config.hidden_activation]`). transformers
 * never reads the legacy `hidden_act` of a Gemma config, so one that names another activation than the one used is
 * refused rather than silently ignored.
 */
function gemmaActivation(t: Fields, dflt: GemmaTextConfig["hiddenActivation"]): GemmaTextConfig["hiddenActivation"] {
  const act = t.activation("hidden_activation", dflt);
  const legacy = t.raw("hidden_act");
  if (t.raw("hidden_activation") === undefined && legacy !== undefined && legacy !== act) {
    t.fail("hidden_act", `transformers ignores hidden_act for Gemma and uses hidden_activation (default "${dflt}"); ` +
      `set "hidden_activation" to the activation you mean ("gelu_pytorch_tanh" or "gelu") and drop hidden_act`);
  }
  return act;
}

/** Gemma2Config(**text_config), with the v4.47 defaults for omitted keys. */
export function parseGemmaText(t: Fields): GemmaTextConfig {
  const modelType = t.raw("model_type");
  if (modelType === undefined) {
    // PaliGemmaConfig: text_config["model_type"] = text_config.get("model_type", "gemma")
    t.fail("model_type", `Hugging Face reads a text_config without model_type as "gemma"; ${PALIGEMMA1_FIX}`);
  }
  if (modelType === "gemma") t.fail("model_type", PALIGEMMA1_FIX);
  if (modelType !== "gemma2") t.fail("model_type", 'expected "gemma2" (PaliGemma 2 text model)');
  if (t.bool("attention_bias", false)) {
    t.fail("attention_bias", "Gemma 2 has no attention biases; only false is supported");
  }
  const d = GEMMA2_DEFAULTS;
  const text: GemmaTextConfig = {
    modelType: "gemma2",
    vocabSize: t.posInt("vocab_size", d.vocabSize),
    hiddenSize: t.posInt("hidden_size", d.hiddenSize),
    intermediateSize: t.posInt("intermediate_size", d.intermediateSize),
    numHiddenLayers: t.posInt("num_hidden_layers", d.numHiddenLayers),
    numAttentionHeads: t.posInt("num_attention_heads", d.numAttentionHeads),
    numKeyValueHeads: t.posInt("num_key_value_heads", d.numKeyValueHeads),
    headDim: t.posInt("head_dim", d.headDim),
    rmsNormEps: t.posNum("rms_norm_eps", d.rmsNormEps),
    ropeTheta: t.posNum("rope_theta", d.ropeTheta),
    queryPreAttnScalar: t.posNum("query_pre_attn_scalar", d.queryPreAttnScalar),
    attnLogitSoftcapping: t.positiveOrNull("attn_logit_softcapping", d.attnLogitSoftcapping, false),
    finalLogitSoftcapping: t.positiveOrNull("final_logit_softcapping", d.finalLogitSoftcapping, false),
    slidingWindow: t.positiveOrNull("sliding_window", d.slidingWindow, true),
    hiddenActivation: gemmaActivation(t, d.hiddenActivation),
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
