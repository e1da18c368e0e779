/**
 * What training, evaluation and display code may rely on: the base model implements it, and so do the wrappers
 * (a LoRA `PeftModel`, a quantized model). Keeps train/ and eval/ independent of which one they hold.
 */
import type { tf } from "../tf.js";
import type { PaliGemmaConfig } from "../config/types.js";
import type { ForwardInputs } from "./inputs.js";
import type { GenerateInputs, GenerateOptions, GenerateOutput } from "../generate/generate.js";

export interface ForwardOptions {
  /** Also return per-layer hidden states (vision and text) and the image features. */
  outputHiddenStates?: boolean;
}

export interface ForwardOutput {
  logits: tf.Tensor; // float32[B,L,V], final-softcapped
  loss?: tf.Tensor; // scalar, when labels are given
  hiddenStates?: tf.Tensor[]; // text: [embeds·√D, layer outputs…, final-norm output]
  visionHiddenStates?: tf.Tensor[]; // [embeddings, layer outputs…] (before post_layernorm)
  imageFeatures?: tf.Tensor; // float32[B,N,D] = projector(vision) / √D
}

export interface TrainableModel {
  readonly config: PaliGemmaConfig;
  forward(inputs: ForwardInputs, options?: ForwardOptions): ForwardOutput;
  generate(inputs: GenerateInputs, options?: GenerateOptions): Promise<GenerateOutput>;
  /** Every parameter by a stable name (HF checkpoint names for the base model). */
  namedParameters(): Map<string, tf.Variable>;
  /** The subset an optimizer updates. */
  trainableParameters(): Map<string, tf.Variable>;
  /** Write what restores the trained weights: a full HF checkpoint, or a PEFT adapter for LoRA models. */
  savePretrained(dir: string): Promise<void>;
}
