/**
 * `vision_config` → {@link SiglipVisionConfig}: `SiglipVisionConfig.__init__` defaults (transformers v4.47.0,
 * `models/siglip/configuration_siglip.py`) and the tower `PaliGemmaConfig` builds when `vision_config` is absent.
 */
import type { Fields } from "./fields.js";
import type { SiglipVisionConfig } from "./types.js";

/** `SiglipVisionConfig()` defaults (configuration_siglip.py, v4.47; the SigLIP base/16 shapes). */
export const SIGLIP_VISION_DEFAULTS: Readonly<SiglipVisionConfig> = Object.freeze({
  hiddenSize: 768,
  intermediateSize: 3072,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  numChannels: 3,
  imageSize: 224,
  patchSize: 16,
  layerNormEps: 1e-6,
  hiddenAct: "gelu_pytorch_tanh",
});

/**
 * The vision config `PaliGemmaConfig` builds when `vision_config` is absent (configuration_paligemma.py):
 * `SiglipVisionConfig(intermediate_size=4096, hidden_size=1152, patch_size=14, image_size=224,
 * num_hidden_layers=27, num_attention_heads=16, vocab_size=257152, vision_use_head=False)`.
 * Note 4096, not So400m's 4304: real checkpoints always carry an explicit vision_config.
 */
export const PALIGEMMA_DEFAULT_VISION: Readonly<SiglipVisionConfig> = Object.freeze({
  ...SIGLIP_VISION_DEFAULTS,
  intermediateSize: 4096,
  hiddenSize: 1152,
  patchSize: 14,
  imageSize: 224,
  numHiddenLayers: 27,
  numAttentionHeads: 16,
});

/** SiglipVisionConfig(**vision_config) over `base` (the Siglip defaults, or PaliGemma's default tower). */
export function parseSiglip(v: Fields, base: Readonly<SiglipVisionConfig>): SiglipVisionConfig {
  const modelType = v.raw("model_type");
  if (modelType !== undefined && modelType !== "siglip_vision_model") {
    v.fail("model_type", 'expected "siglip_vision_model" (the SigLIP tower of PaliGemma)');
  }
  const vision: SiglipVisionConfig = {
    hiddenSize: v.posInt("hidden_size", base.hiddenSize),
    intermediateSize: v.posInt("intermediate_size", base.intermediateSize),
    numHiddenLayers: v.posInt("num_hidden_layers", base.numHiddenLayers),
    numAttentionHeads: v.posInt("num_attention_heads", base.numAttentionHeads),
    numChannels: v.posInt("num_channels", base.numChannels),
    imageSize: v.posInt("image_size", base.imageSize),
    patchSize: v.posInt("patch_size", base.patchSize),
    layerNormEps: v.posNum("layer_norm_eps", base.layerNormEps),
    hiddenAct: v.activation("hidden_act", base.hiddenAct), // SiglipMLP: ACT2FN[config.hidden_act]
  };
  if (vision.hiddenSize % vision.numAttentionHeads !== 0) {
    v.fail("num_attention_heads", `vision_config.hidden_size (${vision.hiddenSize}) must be divisible by it`,
      vision.numAttentionHeads);
  }
  if (vision.imageSize % vision.patchSize !== 0) {
    v.fail("image_size", `expected a multiple of vision_config.patch_size (${vision.patchSize})`, vision.imageSize);
  }
  return vision;
}
