/** Typed configs read from Hugging Face JSON: re-exports only. */
export type { Gemma2TextConfig, PaliGemmaConfig, SiglipVisionConfig } from "./types.js";
export { ConfigError, describeValue } from "./errors.js";
export {
  GEMMA2_DEFAULTS,
  PALIGEMMA_DEFAULTS,
  PALIGEMMA_DEFAULT_VISION,
  SIGLIP_VISION_DEFAULTS,
  configToHfJson,
  loadPaliGemmaConfig,
  parsePaliGemmaConfig,
} from "./paligemma.js";
