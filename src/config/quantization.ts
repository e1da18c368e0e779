/**
 * `BitsAndBytesConfig`: how `fromPretrained` quantizes the base model while it reads the checkpoint (QLoRA's
 * `from_pretrained(..., quantization_config=BitsAndBytesConfig(load_in_4bit=True, ...))` in transformers), with
 * transformers' field names in camelCase. Typed data validated here, at the edge: an unknown field (e.g. the
 * `bnb_4bit_compute_type` typo that silently does nothing in Python) is an error naming the nearest real one.
 *
 * @example
 * const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir, {
 *   quantizationConfig: { loadIn4bit: true, bnb4bitQuantType: "nf4", bnb4bitUseDoubleQuant: true },
 * });
 */
import { ConfigError } from "./errors.js";
import { nearestName } from "../util/suggest.js";

export interface BitsAndBytesConfig {
  /** NF4 (or FP4 in bitsandbytes; NF4 only here) 4-bit storage of every linear weight. */
  loadIn4bit?: boolean;
  /** Symmetric absmax int8 storage (LLM.int8's storage, without its outlier decomposition). */
  loadIn8bit?: boolean;
  /** 4-bit code book: "nf4" (QLoRA's NormalFloat4); bitsandbytes' "fp4" is not implemented. Default "nf4". */
  bnb4bitQuantType?: "nf4";
  /** Quantize the per-block absmax too (QLoRA's double quantization). Default false, as transformers. */
  bnb4bitUseDoubleQuant?: boolean;
  /** The dtype the dequantized weight is multiplied in: float32 only (TF.js trains in float32). */
  bnb4bitComputeDtype?: "float32";
  /** Modules kept in float32, by name or dotted suffix (`"multi_modal_projector.linear"`, `"fc2"`). */
  llmInt8SkipModules?: string[];
}

/** What the loader needs from a BitsAndBytesConfig: `QuantizeModelOptions`' fields (bitsandbytes' block is 64). */
export interface ResolvedQuantization {
  bits: 4 | 8;
  blockSize: number;
  doubleQuant: boolean;
  skip: string[];
}

const FIELDS = [
  "loadIn4bit", "loadIn8bit", "bnb4bitQuantType", "bnb4bitUseDoubleQuant", "bnb4bitComputeDtype", "llmInt8SkipModules",
] as const;

/** Validate a BitsAndBytesConfig (errors name the field and the fix) and resolve it to quantizer options. */
export function resolveQuantization(config: BitsAndBytesConfig, where = "quantizationConfig"): ResolvedQuantization {
  const fail = (field: string, value: unknown, fix: string): never => {
    throw new ConfigError({ field: `${where}.${field}`, value, fix });
  };
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new ConfigError({ field: where, value: config, fix: "use an object like { loadIn4bit: true }" });
  }
  for (const key of Object.keys(config)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      const near = nearestName(key, FIELDS);
      fail(key, (config as Record<string, unknown>)[key], `unknown field${near ? ` (did you mean "${near}"?)` : ""}; fields: ${FIELDS.join(", ")}`);
    }
  }
  for (const key of ["loadIn4bit", "loadIn8bit", "bnb4bitUseDoubleQuant"] as const) {
    if (config[key] !== undefined && typeof config[key] !== "boolean") fail(key, config[key], "use true or false");
  }
  if (config.loadIn4bit === config.loadIn8bit || (!config.loadIn4bit && !config.loadIn8bit)) {
    fail("loadIn4bit", config.loadIn4bit, "set exactly one of loadIn4bit and loadIn8bit to true");
  }
  if (config.bnb4bitQuantType !== undefined && config.bnb4bitQuantType !== "nf4") {
    fail("bnb4bitQuantType", config.bnb4bitQuantType, `use "nf4" (fp4 is not implemented)`);
  }
  if (config.bnb4bitComputeDtype !== undefined && config.bnb4bitComputeDtype !== "float32") {
    fail("bnb4bitComputeDtype", config.bnb4bitComputeDtype, `use "float32" (TF.js computes in float32 here)`);
  }
  const skip = config.llmInt8SkipModules ?? [];
  if (!Array.isArray(skip) || !skip.every((s) => typeof s === "string" && s !== "")) {
    fail("llmInt8SkipModules", skip, `use an array of module names, e.g. ["multi_modal_projector.linear"]`);
  }
  return { bits: config.loadIn4bit ? 4 : 8, blockSize: 64, doubleQuant: config.bnb4bitUseDoubleQuant ?? false, skip: [...skip] };
}
