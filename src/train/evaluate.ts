/**
 * Evaluation passes over a whole dataset, in order, in batches: the teacher-forced loss (HF `evaluation_loop`'s
 * `eval_loss`: each batch's mean loss weighted by its number of examples), and generation (`predict`), whose
 * output `computeMetrics` scores.
 *
 *     const { loss, samples } = await evalLoss(model, evalDataset, processor, 8);
 *     const p = await predictDataset(model, evalDataset, processor, { batchSize: 8, maxNewTokens: 32 });
 *     p.predictions[0]; // generated token ids of example 0 (prompt removed)
 */
import { tf } from "../tf.js";
import type { Collator, Example, ExampleDataset } from "../data/types.js";
import type { TrainableModel } from "../model/trainable.js";
import { IGNORE_INDEX } from "../ops/loss.js";
import { disposeBatch, generateOverDataset } from "../generate/dataset.js";
import { ProgressEmitter, type ProgressCallback } from "../events/progress.js";
import { shuffledImages } from "./image-gap.js";

/** What `computeMetrics` receives (HF `EvalPrediction`, with generated ids as predictions). */
export interface EvalPrediction {
  /** Generated token ids per example (prompt removed; eos included when produced). */
  predictions: number[][];
  /** Target ids per example: the label ids that are not −100 (suffix + eos). */
  labelIds: number[][];
  examples: Example[];
}

export type ComputeMetrics = (p: EvalPrediction) => Record<string, number> | Promise<Record<string, number>>;

export { disposeBatch };

async function examplesAt(dataset: ExampleDataset, indices: readonly number[]): Promise<Example[]> {
  return Promise.all(indices.map((i) => dataset.get(i)));
}

function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}

/** Mean teacher-forced loss over every example (batch means weighted by batch size, as HF). */
export async function evalLoss(
  model: TrainableModel,
  dataset: ExampleDataset,
  collator: Collator,
  batchSize: number,
  onBatch?: (samplesDone: number) => void,
): Promise<{ loss: number; samples: number; batches: number }> {
  let total = 0;
  let samples = 0;
  let batches = 0;
  for (let i = 0; i < dataset.length; i += batchSize) {
    const idx = range(i, Math.min(dataset.length, i + batchSize));
    const batch = await collator.collate(await examplesAt(dataset, idx));
    try {
      if (!batch.labels) throw new Error("evaluate: the collator returned no labels; training/eval batches need them");
      const t = tf.tidy(() => model.computeLoss(batch));
      const loss = (await t.data())[0]!;
      t.dispose();
      total += loss * idx.length;
      samples += idx.length;
      batches++;
      onBatch?.(samples);
    } finally {
      disposeBatch(batch);
    }
  }
  return { loss: samples ? total / samples : NaN, samples, batches };
}

/** Generate an answer for every example (generate/dataset.ts, the one generation loop) and collect the targets. */
export async function predictDataset(
  model: TrainableModel,
  dataset: ExampleDataset,
  collator: Collator,
  o: { batchSize: number; maxNewTokens: number; numBeams: number },
): Promise<EvalPrediction> {
  const generation = { maxNewTokens: o.maxNewTokens, numBeams: o.numBeams };
  const { examples, generated } = await generateOverDataset(model, collator, dataset, { batchSize: o.batchSize, generation });
  const labelIds: number[][] = [];
  for (let i = 0; i < examples.length; i += o.batchSize) {
    const exs = examples.slice(i, i + o.batchSize);
    const full = await collator.collate(exs);
    try {
      if (full.labels) {
        const [B, L] = full.labels.shape as number[];
        const lab = (await full.labels.data()) as Int32Array;
        for (let b = 0; b < B!; b++) labelIds.push(Array.from(lab.subarray(b * L!, (b + 1) * L!)).filter((y) => y !== IGNORE_INDEX));
      } else for (let b = 0; b < exs.length; b++) labelIds.push([]);
    } finally {
      disposeBatch(full);
    }
  }
  return { predictions: generated, labelIds, examples };
}

export interface EvaluationOptions {
  /** Metric key prefix ("eval" → eval_loss, …). */
  prefix: string;
  batchSize: number;
  /** Also the loss with shuffled images and the gap (image-gap.ts); needs ≥ 2 examples. */
  imageGap: boolean;
  /** Progress of the loss passes (task "evaluate", unit "sample"). */
  onProgress?: ProgressCallback;
  computeMetrics?: ComputeMetrics;
  /** Generations to score with computeMetrics (the Trainer's predict). */
  predictions: (dataset: ExampleDataset) => Promise<EvalPrediction>;
  /** Called with `<prefix>_image_gap` when measured. */
  onImageGap?: (gap: number) => void;
}

/**
 * The metrics of one evaluation (HF `evaluation_loop`): `<prefix>_loss`, with `imageGap` also
 * `<prefix>_shuffled_image_loss` and `<prefix>_image_gap` (= shuffled − true loss), `computeMetrics` over
 * generated answers (keys prefixed), and `<prefix>_runtime` / `_samples_per_second` / `_steps_per_second`.
 */
export async function evaluationMetrics(model: TrainableModel, dataset: ExampleDataset, collator: Collator, o: EvaluationOptions): Promise<Record<string, number>> {
  const { prefix } = o;
  const t0 = performance.now();
  const gap = o.imageGap && dataset.length >= 2;
  const total = dataset.length * (gap ? 2 : 1);
  const progress = new ProgressEmitter(o.onProgress, { task: "evaluate", total, unit: "sample", label: `${prefix} loss${gap ? " (true + shuffled images)" : ""}` });
  const { loss, samples, batches } = await evalLoss(model, dataset, collator, o.batchSize, (n) => progress.update(n));
  const metrics: Record<string, number> = { [`${prefix}_loss`]: loss };
  if (gap) {
    const shuffled = await evalLoss(model, shuffledImages(dataset), collator, o.batchSize, (n) => progress.update(dataset.length + n));
    metrics[`${prefix}_shuffled_image_loss`] = shuffled.loss;
    metrics[`${prefix}_image_gap`] = shuffled.loss - loss;
    o.onImageGap?.(shuffled.loss - loss);
  }
  progress.end(total, { ...metrics });
  if (o.computeMetrics) {
    const extra = await o.computeMetrics(await o.predictions(dataset));
    for (const [k, v] of Object.entries(extra)) metrics[k.startsWith(`${prefix}_`) ? k : `${prefix}_${k}`] = v;
  }
  const runtime = (performance.now() - t0) / 1000;
  Object.assign(metrics, { [`${prefix}_runtime`]: runtime, [`${prefix}_samples_per_second`]: samples / runtime, [`${prefix}_steps_per_second`]: batches / runtime });
  return metrics;
}
