/**
 * The evaluation report: generate for every example of a dataset, score the generations with the metrics
 * registry (eval/registry.ts), and return per-sample rows (worst first) plus corpus aggregates, all plain JSON.
 * This module runs the model; eval/ stays pure (no TF.js, no model).
 *
 * @example
 *   const report = await evaluateModel(model, processor, validSet, {
 *     metrics: ["json_field_f1", "json_ted_accuracy"], generation: { maxNewTokens: 128 }, batchSize: 4 });
 *   report.aggregates.json_field_f1.value;  // corpus field F1
 *   report.rows[0];                          // the worst sample: image, prefix, target, prediction, scores
 *   JSON.stringify(report);                  // for the notebook renderer / a file
 */
import type { TrainableModel } from "../model/trainable.js";
import type { Collator, Example, ExampleDataset, TextDecoder } from "../data/types.js";
import { generateOverDataset, type DatasetGenerations } from "./dataset.js";
import type { GenerateOptions } from "./generate.js";
import { ProgressEmitter, type ProgressCallback, type ProgressTask } from "../events/progress.js";
import { evaluate, getMetric, type MetricContext, type MetricDetail } from "../eval/registry.js";

export interface EvaluateOptions {
  /** Metric names of the registry (eval/registry.ts). */
  metrics: readonly string[];
  /** Passed to `model.generate` (maxNewTokens, numBeams, logitsProcessors, stoppingCriteria…). */
  generation?: GenerateOptions;
  /** Class names, image sizes, JSON list rules, segmentation parser (see `MetricContext`). */
  context?: MetricContext;
  /** Examples per generate call. Default 1. */
  batchSize?: number;
  /** Evaluate only the first `limit` examples. */
  limit?: number;
  /** Rank rows by this metric's per-sample score; default the first chosen metric that has one. */
  sortBy?: string;
  /** Progress events (src/events/progress.ts): begin, one update per batch (samples done), end with the aggregates. */
  onProgress?: ProgressCallback;
  /** How the progress events name this call: task (default "evaluate") and label. */
  progress?: { task?: ProgressTask; label?: string };
}

export interface ReportRow {
  /** Position in the dataset. */
  index: number;
  /** Image path, or `<N bytes>` for in-memory images. */
  image: string;
  source?: string;
  prefix: string;
  target: string;
  prediction: string;
  /** Per-sample scores (higher is better) of the metrics that have them. */
  scores: Record<string, number>;
}

export interface EvaluationReport {
  metrics: string[];
  count: number;
  /** The metric rows are ranked by (ascending: worst first), or null when no metric has per-sample scores. */
  sortedBy: string | null;
  aggregates: Record<string, { value: number; higherIsBetter: boolean; details: Record<string, MetricDetail> }>;
  rows: ReportRow[];
  generation: { maxNewTokens?: number; numBeams?: number };
  durationMs: number;
}

const imageRef = (e: Example) => (typeof e.image === "string" ? e.image : `<${e.image.byteLength} bytes>`);

/** Generate for each example, score, and build the report (see the module doc). */
export async function evaluateModel(
  model: Pick<TrainableModel, "generate">,
  processor: Collator & TextDecoder,
  dataset: ExampleDataset,
  options: EvaluateOptions,
): Promise<EvaluationReport> {
  if (!options || !Array.isArray(options.metrics) || !options.metrics.length) throw new Error(`evaluateModel: options.metrics must name at least one metric`);
  options.metrics.forEach(getMetric); // unknown names fail before any generation
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`evaluateModel: batchSize must be an integer ≥ 1, got ${batchSize}`);
  if (options.sortBy !== undefined && !options.metrics.includes(options.sortBy)) throw new Error(`evaluateModel: sortBy "${options.sortBy}" is not one of the metrics ${options.metrics.join(", ")}`);
  const t0 = Date.now();
  const total = Math.min(dataset.length, options.limit ?? Infinity);
  const progress = new ProgressEmitter(options.onProgress, { task: options.progress?.task ?? "evaluate", total, unit: "sample", ...(options.progress?.label !== undefined ? { label: options.progress.label } : {}) });
  let done = 0;
  let run: DatasetGenerations;
  try {
    run = await generateOverDataset(model, processor, dataset, {
      batchSize, limit: total, generation: options.generation,
      onBatch: (n) => progress.update((done = n)), // the displays derive samples/s from done and elapsedMs
    });
  } catch (e) {
    progress.end(done, undefined, (e as Error).message);
    throw e;
  }
  const { examples } = run;
  const predictions = run.generated.map((ids) => processor.decode(ids, { skipSpecialTokens: true }).trim());
  const references = examples.map((e) => e.suffix);
  const results = evaluate(predictions, references, options.metrics, options.context ?? {});
  const rows: ReportRow[] = examples.map((e, i) => ({
    index: i,
    image: imageRef(e),
    ...(e.source ? { source: e.source } : {}),
    prefix: e.prefix,
    target: e.suffix,
    prediction: predictions[i],
    scores: Object.fromEntries(Object.entries(results).flatMap(([k, r]) => (r.perSample ? [[k, r.perSample[i]]] : []))),
  }));
  const sortedBy = options.sortBy ?? options.metrics.find((m) => results[m].perSample) ?? null;
  if (sortedBy && results[sortedBy].perSample) rows.sort((a, b) => a.scores[sortedBy] - b.scores[sortedBy] || a.index - b.index);
  const aggregates: EvaluationReport["aggregates"] = {};
  for (const [k, r] of Object.entries(results)) aggregates[k] = { value: r.value, higherIsBetter: getMetric(k).higherIsBetter, details: r.details };
  progress.end(examples.length, Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.value])));
  return {
    metrics: [...options.metrics],
    count: examples.length,
    sortedBy: sortedBy && results[sortedBy].perSample ? sortedBy : null,
    aggregates,
    rows,
    generation: JSON.parse(JSON.stringify({ maxNewTokens: options.generation?.maxNewTokens, numBeams: options.generation?.numBeams })),
    durationMs: Date.now() - t0,
  };
}
