/** paligemma-ts public API: re-exports only. */
export { tf } from "./tf.js";
export { initBackend, backendInfo, BACKEND_NAMES, BackendError, type BackendName, type BackendInfo } from "./backend/select.js";
export * from "./config/index.js";
export {
  SafetensorsFile,
  SafetensorsCheckpoint,
  SafetensorsError,
  type SafetensorsDtype,
  type TensorInfo,
  type HostTensor,
} from "./io/safetensors.js";
export { saveSafetensors, saveShardedSafetensors } from "./io/safetensors-write.js";
export { paliGemmaParamSpecs, canonicalName, type ParamSpec } from "./io/keymap.js";
export {
  PaliGemmaForConditionalGeneration,
  type ForwardInputs,
  type ForwardOptions,
  type ForwardOutput,
  type LoadOptions,
  type LinearSlot,
} from "./model/paligemma.js";
export type { TrainableModel } from "./model/trainable.js";
export { GemmaTokenizer, TokenizerError, IMAGE_TOKEN, NUM_LOC_TOKENS, NUM_SEG_TOKENS, type EncodeOptions, type DecodeOptions } from "./io/tokenizer.js";
export {
  loadImageRgb, loadPixelValues, pixelLut, pillowResize, ImageError, RESAMPLES,
  type ImageInput, type Resample, type AlphaMode, type Normalization,
} from "./io/images.js";
export * from "./data/index.js";
export * from "./codecs/index.js";
export type { LogitsProcessor, StoppingCriterion } from "./generate/generate.js";
export { InputError } from "./model/inputs.js";
export { CheckpointError } from "./model/load.js";
export { Linear, type LinearLayer } from "./model/linear.js";
export type { GenerateInputs, GenerateOptions, GenerateOutput } from "./generate/generate.js";
