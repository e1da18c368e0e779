/**
 * Typed PaliGemma configuration: the camelCase mirror of a Hugging Face `config.json` (`PaliGemmaConfig` with a
 * Gemma 2 `text_config` (PaliGemma 2) or a Gemma one (PaliGemma 1), and a SigLIP `vision_config`).
 * Every field is filled in: `parsePaliGemmaConfig` supplies HF's defaults for keys the file omits.
 */

/**
 * An activation by its transformers `ACT2FN` name: `gelu_pytorch_tanh` (GELU, tanh approximation) or `gelu` (exact,
 * erf). The supported list is `ACTIVATIONS` (config/fields.ts).
 */
export type Activation = "gelu_pytorch_tanh" | "gelu";

/** SigLIP vision tower (`SiglipVisionConfig`, `vision_use_head=False` in PaliGemma). */
export interface SiglipVisionConfig {
  hiddenSize: number; // width D_v (1152 for So400m)
  intermediateSize: number; // MLP width (4304 for So400m)
  numHiddenLayers: number; // 27 for So400m
  numAttentionHeads: number; // 16; head_dim = hiddenSize / numAttentionHeads
  numChannels: number; // 3
  imageSize: number; // 224 / 448 / 896
  patchSize: number; // 14
  layerNormEps: number; // 1e-6
  hiddenAct: Activation; // the MLP's, "gelu_pytorch_tanh"
}

/**
 * The decoder: Gemma 2 (`Gemma2Config`, PaliGemma 2) or Gemma (1) (`GemmaConfig`, PaliGemma 1). Gemma (1) is held in
 * Gemma 2's terms: `queryPreAttnScalar` = `headDim` (scores × head_dim^-0.5), soft-caps and sliding window null.
 */
export interface GemmaTextConfig {
  modelType: "gemma2" | "gemma"; // selects the decoder-layer table (model/layers.ts)
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  queryPreAttnScalar: number;
  attnLogitSoftcapping: number | null; // 50 in Gemma 2; null disables
  finalLogitSoftcapping: number | null; // 30 in Gemma 2; null disables
  slidingWindow: number | null; // 4096; applied on even layers; null disables
  hiddenActivation: Activation; // the GeGLU MLP's gate activation, "gelu_pytorch_tanh"
  maxPositionEmbeddings: number; // written back to config.json only: default RoPE has no length limit (HF neither)
  tieWordEmbeddings: boolean; // true: logits = h·embed_tokensᵀ; false: the checkpoint's own lm_head.weight
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
}

/** The former name of {@link GemmaTextConfig}. */
export type Gemma2TextConfig = GemmaTextConfig;

/** Whole PaliGemma model (`PaliGemmaConfig`). */
export interface PaliGemmaConfig {
  textConfig: GemmaTextConfig;
  visionConfig: SiglipVisionConfig;
  imageTokenIndex: number; // id of `<image>` (257152 in PaliGemma 2 checkpoints)
  projectionDim: number; // projector output width (= text hiddenSize)
  numImageTokens: number; // (imageSize / patchSize)^2
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;
}
