/**
 * Fine-tuning strategies as one switch (roboflow/maestro's `lora / qlora / freeze / none`): what is trained, and
 * how the result is saved and loaded back.
 * - `lora`:  LoRA adapters (default: r 8, α 16, dropout 0.05 on q,k,v,o,gate,up,down), base frozen; saves `adapter/`
 * - `qlora`: the same on an NF4 (double-quantized) base; saves `adapter/`
 * - `freeze`: vision tower and projector frozen, the language model trained in full; saves `model/`
 * - `full`:  everything trained; saves `model/`
 *
 *     const model = prepareModel(base, "lora", new LoraConfig(LORA_PRESETS.maestro));
 *     await saveTrained(model, "lora", runDir);
 */
import { join } from "node:path";
import { LoraConfig, LORA_PRESETS } from "../lora/config.js";
import { getPeftModel, PeftModel } from "../lora/peft-model.js";
import { saveAdapter, loadAdapter } from "../lora/adapter-io.js";
import { freeze } from "../lora/freeze.js";
import { quantizeModel } from "../quant/quantize-model.js";
import { QuantLinear } from "../quant/quant-linear.js";
import type { BitsAndBytesConfig } from "../config/quantization.js";
import type { PaliGemmaForConditionalGeneration } from "../model/paligemma.js";
import type { TrainableModel } from "../model/trainable.js";
import { nearestName } from "../util/suggest.js";

export const STRATEGIES = ["lora", "qlora", "freeze", "full"] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** The main job's adapters: maestro's PaliGemma 2 LoRA (r 8 on q,k,v,o,gate,up,down). */
export const DEFAULT_LORA = LORA_PRESETS["maestro"]!;

export function checkStrategy(s: string): Strategy {
  if ((STRATEGIES as readonly string[]).includes(s)) return s as Strategy;
  const near = nearestName(s, STRATEGIES);
  throw new RangeError(`strategy: unknown "${s}"${near ? ` (did you mean "${near}"?)` : ""}; use one of ${STRATEGIES.join(", ")}`);
}

export const usesAdapter = (s: Strategy): boolean => s === "lora" || s === "qlora";

/** Where a run keeps its trained weights. */
export const weightsDir = (runDir: string, s: Strategy): string => join(runDir, usesAdapter(s) ? "adapter" : "model");

/** QLoRA's base: NF4 with double quantization (the QLoRA paper's setting), as `fromPretrained`'s quantizationConfig. */
export const QLORA_QUANTIZATION: BitsAndBytesConfig = { loadIn4bit: true, bnb4bitQuantType: "nf4", bnb4bitUseDoubleQuant: true };

/** Whether `base` was loaded quantized (fromPretrained with quantizationConfig) or already went through quantizeModel. */
const isQuantized = (base: PaliGemmaForConditionalGeneration) => base.namedLinears().some((s) => s.get() instanceof QuantLinear);

/**
 * Make `base` trainable the strategy's way (in place for freeze/full/qlora's quantization). For qlora, a base
 * loaded with {@link QLORA_QUANTIZATION} is used as it is; a float one is quantized here.
 */
export function prepareModel(base: PaliGemmaForConditionalGeneration, strategy: Strategy, lora: LoraConfig, seed = 0): TrainableModel {
  switch (strategy) {
    case "lora":
      return getPeftModel(base, lora, { seed });
    case "qlora":
      if (!isQuantized(base)) quantizeModel(base, { bits: 4, doubleQuant: true });
      return getPeftModel(base, lora, { seed });
    case "freeze":
      freeze(base, { visionTower: true, multiModalProjector: true });
      return base;
    case "full":
      freeze(base, {});
      return base;
  }
}

/** Save what was trained: the PEFT adapter, or the whole model (HF layout). */
export async function saveTrained(model: TrainableModel, strategy: Strategy, runDir: string): Promise<string> {
  const dir = weightsDir(runDir, strategy);
  if (usesAdapter(strategy)) await saveAdapter(model as PeftModel, dir);
  else await (model as PaliGemmaForConditionalGeneration).savePretrained(dir);
  return dir;
}

/** The trained model of a run, for inference: base (+ NF4 for qlora) + adapter, or the saved full model. */
export async function loadTrained(base: PaliGemmaForConditionalGeneration, strategy: Strategy, runDir: string): Promise<TrainableModel> {
  if (!usesAdapter(strategy)) return base;
  if (strategy === "qlora" && !isQuantized(base)) quantizeModel(base, { bits: 4, doubleQuant: true });
  return loadAdapter(base, weightsDir(runDir, strategy));
}
