/**
 * The one loop that generates over a dataset: examples in order, in batches, each batch collated as prompts
 * (`forGeneration`), generated, and the prompt cut from every row (by its attention mask: rows are left-padded).
 * The evaluation report (evaluate.ts) and the Trainer's `predict` (train/evaluate.ts) both run it.
 *
 *     const { examples, generated } = await generateOverDataset(model, processor, dataset, { batchSize: 4, generation: { maxNewTokens: 32 } });
 *     processor.decode(generated[0], { skipSpecialTokens: true }); // example 0's answer
 */
import type { Collator, Example, ExampleDataset, ModelBatch } from "../data/types.js";
import type { GenerateInputs, GenerateOptions, GenerateOutput } from "./generate.js";

export interface GenerateOverDatasetOptions {
  /** Examples per generate call. */
  batchSize: number;
  /** Only the first `limit` examples. Default all. */
  limit?: number;
  /** Passed to `model.generate` (maxNewTokens, numBeams, processors…). */
  generation?: GenerateOptions;
  /** Called after each batch with the number of examples done. */
  onBatch?: (done: number) => void;
}

export interface DatasetGenerations {
  examples: Example[];
  /** Generated token ids per example, prompt removed (eos included when produced). */
  generated: number[][];
}

export function disposeBatch(b: ModelBatch): void {
  for (const t of [b.pixelValues, b.inputIds, b.attentionMask, b.tokenTypeIds, b.labels]) t?.dispose();
}

/** Real tokens per row of an int32[B,L] mask (the prompt length of each row). */
async function promptLengths(mask: ModelBatch["attentionMask"]): Promise<number[]> {
  const [B, L] = mask.shape as [number, number];
  const m = (await mask.data()) as Int32Array;
  return Array.from({ length: B }, (_, b) => {
    let n = 0;
    for (let l = 0; l < L; l++) n += m[b * L + l] !== 0 ? 1 : 0;
    return n;
  });
}

export async function generateOverDataset(
  model: { generate(inputs: GenerateInputs, options?: GenerateOptions): Promise<GenerateOutput> },
  collator: Collator,
  dataset: ExampleDataset,
  o: GenerateOverDatasetOptions,
): Promise<DatasetGenerations> {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`generateOverDataset: batchSize must be an integer ≥ 1, got ${o.batchSize}`);
  const total = Math.min(dataset.length, o.limit ?? Infinity);
  const examples: Example[] = [];
  const generated: number[][] = [];
  for (let start = 0; start < total; start += o.batchSize) {
    const batchExamples = await Promise.all(Array.from({ length: Math.min(o.batchSize, total - start) }, (_, i) => dataset.get(start + i)));
    const prompt = await collator.collate(batchExamples, { forGeneration: true });
    try {
      const lengths = await promptLengths(prompt.attentionMask);
      const out = await model.generate({ pixelValues: prompt.pixelValues, inputIds: prompt.inputIds, attentionMask: prompt.attentionMask }, o.generation ?? {});
      out.sequences.forEach((seq, r) => generated.push(seq.slice(lengths[r])));
    } finally {
      disposeBatch(prompt);
    }
    examples.push(...batchExamples);
    o.onBatch?.(examples.length);
  }
  return { examples, generated };
}
