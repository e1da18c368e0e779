/**
 * Generation-based evaluation of a split for a job: `evaluateModel` (generate → registry metrics → per-sample
 * rows) with the task's metrics and the run's generation settings, reporting progress as `ProgressEvent`s (task
 * "generate", unit "sample", samples/s) so the terminal and notebook bars draw it.
 *
 *     const report = await evaluateSplit(model, processor, test, { task: getTask("json"), maxNewTokens: 212, minNewTokens: 90, numBeams: 3 });
 *     getTask("json").headline(report); // { json_parse_rate, json_field_f1, json_ted_accuracy, bleu }
 */
import type { TrainableModel } from "../model/trainable.js";
import type { PaliGemmaProcessor } from "../data/processor.js";
import type { ExampleDataset } from "../data/types.js";
import { evaluateModel, type EvaluationReport } from "../generate/evaluate.js";
import type { ProgressCallback } from "../events/progress.js";
import type { JobTask } from "./tasks.js";

export interface EvaluateSplitOptions {
  task: JobTask;
  maxNewTokens: number;
  /** `<eos>` not before this many new tokens (HF `min_new_tokens`; the run's, from the data). Default 0. */
  minNewTokens?: number;
  numBeams: number;
  /** Label of the progress bar, e.g. "before fine-tuning: beam search (3 beams) on test". */
  label?: string;
  limit?: number;
  onProgress?: ProgressCallback;
}

export async function evaluateSplit(model: TrainableModel, processor: PaliGemmaProcessor, dataset: ExampleDataset, o: EvaluateSplitOptions): Promise<EvaluationReport> {
  const label = o.label ?? `${o.numBeams > 1 ? `beam search (${o.numBeams} beams)` : "greedy"}, ≤ ${o.maxNewTokens} tokens`;
  return evaluateModel(model, processor, dataset, {
    metrics: o.task.metrics, context: o.task.context, limit: o.limit, batchSize: 1,
    generation: { maxNewTokens: o.maxNewTokens, minNewTokens: o.minNewTokens, numBeams: o.numBeams },
    onProgress: o.onProgress, progress: { task: "generate", label },
  });
}
