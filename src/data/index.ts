/** Datasets, processor, converters and synthetic data: re-exports only. */
export type { Example, ModelBatch, ExampleDataset, Collator, CollateOptions, TextDecoder } from "./types.js";
export {
  PaliGemmaProcessor, parsePreprocessorConfig, ProcessorError,
  type ImageProcessorConfig, type ProcessorOptions, type ProcessorCallOptions, type ProcessorInputs,
} from "./processor.js";
export { IGNORE_INDEX, type HostBatch, type Padding } from "./prompt.js";
export {
  loadDataset, loadJsonlDataset, JsonlDataset, SPLITS, ANNOTATIONS_FILE,
  type DatasetSplits, type DatasetPolicy, type LoadOptions as DatasetLoadOptions, type BatchOptions,
} from "./dataset.js";
export {
  validateJsonlFile, formatProblem, DatasetError,
  type DatasetProblem, type ProblemKind, type ValidatedEntry, type ValidateOptions, type ValidateResult,
} from "./validate.js";
export { describeEntries, formatDescription, numberStats, type DatasetDescription, type NumberStats, type LengthEncoder } from "./describe.js";
export { readJsonlLines, parseExampleLine, writeJsonl, type JsonlExample } from "./jsonl.js";
export { mulberry32, shuffleInPlace } from "./random.js";
export {
  cocoToPaliGemma, convertCocoFile, convertCocoDataset, cocoClassNames, readCocoFile,
  type CocoDataset, type CocoConvertOptions, type SegEncoder,
} from "./converters/coco.js";
export { yoloToPaliGemma, convertYoloDataset, parseYoloNames, type YoloConvertOptions } from "./converters/yolo.js";
export { ConversionError, type ConversionResult } from "./converters/output.js";
export {
  segmentationToMask, polygonsToMask, encodeRle, decodeRle, maskArea, maskBbox,
  type BinaryMask as CocoMask, type CocoRle, type CocoSegmentation,
} from "./converters/coco-mask.js";
export { synthManifests, MANIFEST_PREFIX, MANIFEST_FORMATS, type ManifestDocument, type CompactManifestDocument, type ManifestFormat, type ManifestOptions } from "./synth/manifests.js";
export { synthDetection, synthSegmentation, SHAPE_CLASSES, type ShapesOptions, type SegmentationSynthOptions } from "./synth/shapes.js";
export { synthInstanceMask, synthMaskBatch, heldOutInstanceMasks, trainingMaskBatch, MASK_FAMILIES, type InstanceMask } from "./synth/masks.js";
