/** paligemma-ts public API: re-exports only. */
export { tf } from "./tf.js";
export {
  initBackend,
  backendInfo,
  formatBackendReport,
  BACKEND_NAMES,
  BackendError,
  type BackendName,
  type BackendInfo,
  type DeviceInfo,
} from "./backend/select.js";
export { BACKEND_TRAITS, traitsOf, activeTraits, tensorByteLimit, setMaxTensorBytes, type BackendTraits, type BackendProvider } from "./backend/traits.js";
export { dawnAdapterReport, type DawnAdapterReport } from "./backend/dawn.js";
export * from "./config/index.js";
export { planMemory, type MemoryPlan, type MemoryPlanOptions, type MemoryPlanRow, type TrainingMode } from "./memory/plan.js";
export { formatMemoryPlan, formatBytes } from "./memory/format.js";
export { memoryLimit, type MemoryLimit } from "./memory/limit.js";
export { checkMemory, MemoryPlanError, type MemoryCheckOptions } from "./memory/check.js";
export {
  SafetensorsFile,
  SafetensorsCheckpoint,
  SafetensorsError,
  type SafetensorsDtype,
  type TensorInfo,
  type HostTensor,
} from "./io/safetensors.js";
export { saveSafetensors, saveShardedSafetensors } from "./io/safetensors-write.js";
export { canonicalName, type ParamSpec } from "./io/keymap.js";
export { paliGemmaParamSpecs } from "./model/layers.js";
export {
  PaliGemmaForConditionalGeneration,
  type ForwardInputs,
  type ForwardOptions,
  type ForwardOutput,
  type LoadOptions,
  type PretrainedOptions,
  type LinearSlot,
} from "./model/paligemma.js";
export { resolveQuantization, type BitsAndBytesConfig } from "./config/quantization.js";
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
export { evaluate, getMetric, registerMetric, METRICS, type Metric, type MetricContext, type MetricResult } from "./eval/registry.js";
export { cocoEvaluate, type CocoImage, type CocoResult } from "./eval/coco.js";
export { detectionScores, maskScores, semanticIou, maskIou, type DetectionScores } from "./eval/detection.js";
export { corpusBleu, rougeL, normalizedEditDistance, tokenize13a } from "./eval/text.js";
export { parseJson, type JsonValue, type JsonParse } from "./codecs/json.js";
export { jsonFieldScores, type JsonFieldOptions, type JsonFieldScores } from "./eval/json/fields.js";
export { donutTedAccuracy, donutF1 } from "./eval/json/donut.js";
export { VqVae, VqVaeError } from "./codecs/vqvae/model.js";
export { readNpz, parseNpz, writeNpz, encodeNpz, NpzError } from "./codecs/vqvae/npz.js";
export { loadSegVae, defaultSegVaePath, DEFAULT_SEG_VAE } from "./codecs/vqvae/default.js";
export { VqVaeTrainer, trainVqVae, type VqVaeTrainConfig, type VqVaeStepStats, type TrainVqVaeOptions } from "./codecs/vqvae/train.js";
export { roundTripIou, type RoundTripReport } from "./codecs/vqvae/evaluate.js";
export { segEncoder, decodeSegMask, decodeSegMasks, cropMask64, resizeBilinear } from "./codecs/seg.js";
export { segmentationFromPaligemma, segmentationParser } from "./codecs/segmentation.js";
export { repetitionPenalty } from "./generate/penalties.js";
export { minNewTokensProcessor } from "./generate/min-new-tokens.js";
export { stopStrings, stopOnRepeatedLocGroup, generationHooks } from "./generate/stopping.js";
export { constrainedProcessor, TokenTable, type Grammar, type Vocabulary } from "./generate/constrained.js";
export { jsonGrammar, inferJsonSchema, type JsonSchema } from "./generate/constrained-json.js";
export { detectionGrammar, classesFromPrompt } from "./generate/constrained-detection.js";
export { evaluateModel, type EvaluationReport, type ReportRow } from "./generate/evaluate.js";
export * from "./lora/index.js";
export * from "./quant/index.js";
export * from "./train/index.js";
export * from "./jobs/index.js";
