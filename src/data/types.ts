/**
 * Contracts between data, training and evaluation. Datasets yield `Example`s; a `Collator` (the
 * PaliGemmaProcessor) turns a list of them into a `ModelBatch` of tensors; the Trainer and evaluation consume both.
 */
import type { tf } from "../tf.js";

/** One labelled example in the PaliGemma JSONL layout (`{"image": ..., "prefix": ..., "suffix": ...}`). */
export interface Example {
  /** Image file path (absolute, resolved against the dataset root), or encoded image bytes. */
  image: string | Uint8Array;
  prefix: string;
  suffix: string;
  /** Where it came from, for messages: e.g. "train/annotations.jsonl:12". */
  source?: string;
}

/** Model-ready batch, made with paligemma-ts's `tf`; whoever receives it disposes it. */
export interface ModelBatch {
  pixelValues: tf.Tensor; // float32[B,3,H,W] in [-1, 1]
  inputIds: tf.Tensor; // int32[B,L]: <image>×N <bos> prefix "\n" [suffix <eos>] [pads]
  attentionMask: tf.Tensor; // int32[B,L]
  tokenTypeIds: tf.Tensor; // int32[B,L]: 0 image+prefix, 1 suffix and pads
  labels?: tf.Tensor; // int32[B,L]: −100 on image+prefix+pads (training batches only)
}

/** Random access to examples (what a Trainer shuffles and batches). */
export interface ExampleDataset {
  readonly length: number;
  get(index: number): Promise<Example>;
}

export interface CollateOptions {
  /** Prompt-only batch for generation (no suffix, no labels). Default false. */
  forGeneration?: boolean;
}

/** Turns examples into a batch (PaliGemmaProcessor implements it). */
export interface Collator {
  collate(examples: readonly Example[], options?: CollateOptions): Promise<ModelBatch>;
}

/** Token ids → text (the tokenizer implements it). */
export interface TextDecoder {
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
}
