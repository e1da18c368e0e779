/** Jobs: the main job (`npm start`), fine-tuning into a run directory, run loading, reports. Re-exports only. */
export { runMainJob, defaultRunDir, MAIN_JOB_TRAINING, mainJobTraining, type MainJobOptions } from "./main-job.js";
export { fineTune, type FineTuneOptions, type FineTuneResult } from "./fine-tune.js";
export { evaluateSplit, type EvaluateSplitOptions } from "./evaluate-run.js";
export { loadForInference, readRunConfig, writeRunConfig, isRunDir, RUN_FILE, type RunConfig, type Loaded } from "./run-dir.js";
export { STRATEGIES, DEFAULT_LORA, checkStrategy, prepareModel, saveTrained, loadTrained, type Strategy } from "./strategy.js";
export { TASKS, TASK_NAMES, getTask, taskForPrefix, type JobTask } from "./tasks.js";
export { maxNewTokensFor, suffixLengths } from "./generation-length.js";
export { resolveModelDir, packageRoot, NANO_MODEL } from "./model-ref.js";
export { writeJobReport, readJobReport, renderReportHtml, jobReportHtml, curvesOf, predictionRows, type JobReport, type PredictionRow } from "./report.js";
