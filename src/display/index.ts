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
export { renderAnnotationsPng, boxPixels, lineWidthFor, legendEntries } from "./png.js";
export { matchLayers, boxIou } from "./matching.js";
export { placeLabels, maskOutline, tint, type LabelRequest, type LabelPlace } from "./labels.js";
export { diffJson, diffJsonMany, generalizePath, countLeaves, textDiff, arrayMatchKey } from "./jsondiff.js";
export { TrainingProgress, Throttle, type TrainingEvents, type TrainBeginEvent, type StepEndEvent, type LogEvent, type EvaluateEvent, type SaveEvent, type TrainEndEvent, type TrainingProgressOptions } from "./training.js";
export { dashboardCharts, type DashboardChart } from "./dashboard.js";
export { ProgressState, progressPayload, progressText } from "./progress.js";
export { TerminalProgress, renderProgressLine, type LineSink, type ProgressLineOptions, type TerminalProgressOptions } from "./terminal.js";
export { lineChartSvg, niceTicks, yRange, smoothSeries, type ChartOptions } from "./charts.js";
export { jsonDiffHtml, jsonDiffText, trainingHtml, trainingText, reportHtml, reportText, annotationsSvg, datasetHtml, datasetText, progressHtml, formatProgressLine, DIFF_COLORS, DIFF_COUNT_NOTE } from "./views.js";
export { jsonDiffBundle, trainingBundle, reportBundle, datasetBundle, progressBundle, payloadBundle, isPayload, bundleBytes, type MimeBundle } from "./bundle.js";
export { sampleBundle, predictionBundle, detectionsFromText, suffixKind, isSample, objectsPerLine, type SampleInput, type SuffixKind } from "./sample.js";
export { buildReport, flattenAggregates, type ReportInput, type ReportRowInput, type ReportOptions, type AggregateLike } from "./report.js";
export { buildDatasetSummary, type DatasetSummaryOptions, type DescriptionLike } from "./dataset.js";
