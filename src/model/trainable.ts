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

/**
 * The contract the Trainer, evaluation and the jobs rely on, every member required (no duck typing): the base model
 * and `PeftModel` implement it. Anchors: torch `nn.Module.train()/eval()`, HF `Trainer.compute_loss`,
 * `save_pretrained`, and the Trainer's `_load_from_checkpoint` (here `loadState`).
 */
export interface TrainableModel {
  readonly config: PaliGemmaConfig;
  forward(inputs: ForwardInputs, options?: ForwardOptions): ForwardOutput;
  /** The training loss alone (scalar), equal to `forward(inputs).loss`; labels are required. */
  computeLoss(inputs: ForwardInputs): tf.Scalar;
  generate(inputs: GenerateInputs, options?: GenerateOptions): Promise<GenerateOutput>;
  /** Whether dropout is active (torch `module.training`). */
  readonly training: boolean;
  /** Training mode (torch `model.train()`); `train(false)` = `eval()`. */
  train(mode?: boolean): this;
  /** Inference mode (torch `model.eval()`). */
  eval(): this;
  /** The dropout masks of the following forwards derive from this seed (the Trainer draws one per micro-batch). */
  setTrainingSeed(seed: number): void;
  /** Every parameter by a stable name (HF checkpoint names for the base model). */
  namedParameters(): Map<string, tf.Variable>;
  /** The subset an optimizer updates. */
  trainableParameters(): Map<string, tf.Variable>;
  /** Write what restores the trained weights: a full HF checkpoint, or a PEFT adapter for LoRA models. */
  savePretrained(dir: string): Promise<void>;
  /**
   * Write into a Trainer checkpoint `dir` what {@link loadState} needs to put every trainable variable back exactly
   * (`savePretrained` plus, where that format is not exact, the variables themselves).
   */
  saveState(dir: string): Promise<void>;
  /** Put back the trainable variables from what `saveState` wrote (resume, loadBestModelAtEnd). */
  loadState(dir: string): Promise<void>;
}
