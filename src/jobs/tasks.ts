/**
 * The main job's tasks, a registry keyed by name: where the synthetic data comes from, which metrics score it, and
 * which of them are the headline numbers compared before and after fine-tuning.
 *
 *     const task = getTask("json");
 *     await task.synth({ out: "data", seed: 7 });
 *     task.headline(report); // { json_parse_rate: 0.9, json_field_f1: 0.62, json_ted_accuracy: 0.7, bleu: 41 }
 */
import { synthManifests } from "../data/synth/manifests.js";
import { synthDetection, SHAPE_CLASSES } from "../data/synth/shapes.js";
import type { SplitCounts } from "../data/synth/common.js";
import type { MetricContext } from "../eval/registry.js";
import type { EvaluationReport } from "../generate/evaluate.js";
import { nearestName } from "../util/suggest.js";

export interface SynthRequest {
  out: string;
  seed: number;
  counts?: Partial<SplitCounts>;
  /** Photographs per train document (manifests only). */
  trainVariants?: number;
}

export interface JobTask {
  name: string;
  description: string;
  /** Writes `out/{train,valid,test}/annotations.jsonl` + images. */
  synth(request: SynthRequest): Promise<unknown>;
  /** Split sizes of the job (the Roboflow tutorial's, for manifests). */
  counts: SplitCounts;
  trainVariants?: number;
  /** Metric registry names (eval/registry.ts). */
  metrics: readonly string[];
  context: MetricContext;
  /** The numbers compared before/after (label → value), from an evaluation report. */
  headline(report: Pick<EvaluationReport, "aggregates">): Record<string, number>;
}

const value = (r: Pick<EvaluationReport, "aggregates">, k: string) => r.aggregates[k]?.value ?? NaN;

export const TASKS: ReadonlyMap<string, JobTask> = new Map<string, JobTask>([
  ["json", {
    name: "json",
    description: "pallet manifests → JSON (Roboflow's \"How to fine-tune PaliGemma 2\": 30 train documents × 5 photos, 10 valid, 10 test; " +
      "the compact format: route, date, city, 1–2 items in a 224 px photo, JSON ~100 characters)",
    // compact: the full document's ~500-character JSON takes ~75 min of 3-beam decoding on WASM for before + after,
    // and its 11–13 px table text shrinks to ~5 px in the nano model's 224 px input
    synth: (r) => synthManifests({ out: r.out, seed: r.seed, counts: r.counts, trainVariants: r.trainVariants, format: "compact" }),
    counts: { train: 30, valid: 10, test: 10 },
    trainVariants: 5,
    metrics: ["json_parse_rate", "json_field_f1", "json_ted_accuracy", "bleu"],
    context: {},
    headline: (r) => ({ json_parse_rate: value(r, "json_parse_rate"), json_field_f1: value(r, "json_field_f1"),
      json_ted_accuracy: value(r, "json_ted_accuracy"), bleu: value(r, "bleu") }),
  }],
  ["detection", {
    name: "detection",
    description: `synthetic shapes → boxes (detect ${SHAPE_CLASSES.join(" ; ")})`,
    synth: (r) => synthDetection({ out: r.out, seed: r.seed, counts: r.counts }),
    counts: { train: 60, valid: 10, test: 10 },
    metrics: ["map"],
    context: { classes: SHAPE_CLASSES },
    headline: (r) => ({ map: value(r, "map"), map50: Number(r.aggregates["map"]?.details["map50"] ?? NaN) }),
  }],
]);

export const TASK_NAMES = [...TASKS.keys()];

export function getTask(name: string): JobTask {
  const t = TASKS.get(name);
  if (t) return t;
  const near = nearestName(name, TASK_NAMES);
  throw new RangeError(`task: unknown task "${name}"${near ? ` (did you mean "${near}"?)` : ""}; use one of ${TASK_NAMES.join(", ")}`);
}

/** The task of a dataset, guessed from its prompts (for `evaluate` on a folder): "detect …" → detection, else json. */
export function taskForPrefix(prefix: string): JobTask {
  return getTask(/^detect\b/.test(prefix.trim()) ? "detection" : "json");
}
