/** Typed configs read from Hugging Face JSON: re-exports only. */
export type { Activation, Gemma2TextConfig, GemmaTextConfig, PaliGemmaConfig, SiglipVisionConfig } from "./types.js";
export { ConfigError, describeValue } from "./errors.js";
export { ACTIVATIONS } from "./fields.js";
export { GEMMA2_DEFAULTS, GEMMA_DEFAULTS, PALIGEMMA_DEFAULT_TEXT } from "./text.js";
export { PALIGEMMA_DEFAULT_VISION, SIGLIP_VISION_DEFAULTS } from "./vision.js";
export {
  PALIGEMMA_DEFAULTS,
  configToHfJson,
  loadPaliGemmaConfig,
  parsePaliGemmaConfig,
} from "./paligemma.js";
