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
