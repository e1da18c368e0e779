/**
 * Display layer: pure data → MIME bundles (vendor JSON for the JupyterLab extension + HTML/SVG/PNG/text
 * fallbacks). No tslab, no DOM, no TF.js; `kernel/` sends these bundles, `lab-extension/` renders them.
 */
export * from "./protocol.js";
export { DisplayError } from "./errors.js";
export { escapeHtml, formatNumber, formatDuration } from "./html.js";
export { DEFAULT_PALETTE, colorForClass, resolveColor, normalizeColor, ColorError, type ColorOption } from "./palette.js";
export { loadPreview, imageSize, isImageInput, isRawImage, type ImageInput, type RawImage, type PreviewOptions, type Preview } from "./image.js";
export { encodeMaskRle, decodeMaskRle, maskRleArea } from "./mask.js";
export { toBoxes, isDetectionsInput, type DetectionsLike, type DetectionObject, type DetectionsInput } from "./detections.js";
export { buildAnnotations, annotationsBundle, annotationsText, isLayers, type AnnotateOptions, type AnnotationLayersInput } from "./annotations.js";
export { renderAnnotationsPng, boxPixels, lineWidthFor } from "./png.js";
export { diffJson, diffJsonMany, generalizePath, countLeaves } from "./jsondiff.js";
export { TrainingProgress, Throttle, type TrainingEvents, type TrainBeginEvent, type StepEndEvent, type LogEvent, type EvaluateEvent, type SaveEvent, type TrainEndEvent, type TrainingProgressOptions } from "./training.js";
export { TerminalProgress, type LineSink } from "./terminal.js";
export { lineChartSvg, type ChartOptions } from "./charts.js";
export { jsonDiffHtml, jsonDiffText, trainingHtml, trainingText, reportHtml, reportText, datasetHtml, datasetText, formatProgressLine, DIFF_COLORS } from "./views.js";
export { jsonDiffBundle, trainingBundle, reportBundle, datasetBundle, bundleBytes, type MimeBundle } from "./bundle.js";
export { sampleBundle, predictionBundle, detectionsFromText, suffixKind, isSample, type SampleInput, type SuffixKind } from "./sample.js";
export { buildReport, type ReportInput, type ReportRowInput, type ReportOptions } from "./report.js";
export { buildDatasetSummary, type DatasetSummaryOptions, type DescriptionLike } from "./dataset.js";
