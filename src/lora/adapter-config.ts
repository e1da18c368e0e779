/**
 * `adapter_config.json` ⇄ `LoraConfig`, in PEFT's own layout (keys as PEFT 0.14 writes them, sorted, so Python's
 * `PeftModel.from_pretrained` / `LoraConfig.from_pretrained` read our files and we read theirs).
 *
 * Reading is tolerant like every HF JSON reader here: keys that only newer PEFT versions write are ignored, unless
 * they switch on a LoRA variant this library does not implement (DoRA, LoRA bias, QA-LoRA, …) — those are refused
 * with the field named, rather than loaded into a model that would compute something else.
 *
 * @example
 * const cfg = loraConfigFromPeftJson(JSON.parse(await readFile("adapter/adapter_config.json", "utf8")), "adapter/adapter_config.json");
 * await writeFile("out/adapter_config.json", JSON.stringify(loraConfigToPeftJson(cfg), null, 2));
 */
import { ConfigError } from "../config/errors.js";
import { LoraConfig, type LoraConfigInit } from "./config.js";

/** snake_case key in adapter_config.json → LoraConfig field. */
const KEYS: [string, keyof LoraConfigInit][] = [
  ["r", "r"], ["target_modules", "targetModules"], ["exclude_modules", "excludeModules"], ["lora_alpha", "loraAlpha"],
  ["lora_dropout", "loraDropout"], ["fan_in_fan_out", "fanInFanOut"], ["bias", "bias"], ["use_rslora", "useRslora"],
  ["modules_to_save", "modulesToSave"], ["init_lora_weights", "initLoraWeights"], ["layers_to_transform", "layersToTransform"],
  ["layers_pattern", "layersPattern"], ["rank_pattern", "rankPattern"], ["alpha_pattern", "alphaPattern"], ["use_dora", "useDora"],
  ["task_type", "taskType"], ["inference_mode", "inferenceMode"], ["base_model_name_or_path", "baseModelNameOrPath"], ["revision", "revision"],
];

/** Keys whose non-default value changes what the adapter computes: refused when set. */
const VARIANT_KEYS = [
  "use_dora", "lora_bias", "fan_in_fan_out", "layer_replication", "use_qalora", "trainable_token_indices",
  "target_parameters", "alora_invocation_tokens", "use_bdlora", "arrow_config", "kasa_config", "velora_config",
  "monteclora_config", "megatron_config",
];

const isDefaultish = (v: unknown): boolean =>
  v === null || v === undefined || v === false || (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && v !== null && Object.keys(v).length === 0);

/** A LoraConfig as PEFT 0.14 writes it (every key, sorted). `targetModules` should already be resolved. */
export function loraConfigToPeftJson(cfg: LoraConfig): Record<string, unknown> {
  const json: Record<string, unknown> = {
    alpha_pattern: { ...cfg.alphaPattern },
    auto_mapping: null,
    base_model_name_or_path: cfg.baseModelNameOrPath,
    bias: cfg.bias,
    eva_config: null,
    exclude_modules: cfg.excludeModules,
    fan_in_fan_out: false,
    inference_mode: cfg.inferenceMode,
    init_lora_weights: cfg.initLoraWeights,
    layer_replication: null,
    layers_pattern: cfg.layersPattern,
    layers_to_transform: cfg.layersToTransform,
    loftq_config: {},
    lora_alpha: cfg.loraAlpha,
    lora_bias: false,
    lora_dropout: cfg.loraDropout,
    megatron_config: null,
    megatron_core: "megatron.core",
    modules_to_save: cfg.modulesToSave,
    peft_type: "LORA",
    r: cfg.r,
    rank_pattern: { ...cfg.rankPattern },
    revision: cfg.revision,
    target_modules: cfg.targetModules,
    task_type: cfg.taskType,
    use_dora: false,
    use_rslora: cfg.useRslora,
  };
  return Object.fromEntries(Object.entries(json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Parse an `adapter_config.json` object (PEFT, any version). Throws ConfigError naming `file` and the snake_case
 * key for anything that is not plain LoRA or has an invalid value.
 */
export function loraConfigFromPeftJson(json: unknown, file = "adapter_config.json"): LoraConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError({ field: "(root)", value: json, fix: "expected a JSON object", file });
  }
  const j = json as Record<string, unknown>;
  if (j["peft_type"] !== "LORA") {
    throw new ConfigError({ field: "peft_type", value: j["peft_type"], fix: 'only LoRA adapters ("LORA") can be loaded', file });
  }
  for (const key of VARIANT_KEYS) {
    if (!isDefaultish(j[key])) {
      throw new ConfigError({ field: key, value: j[key], fix: "this LoRA variant is not supported here (plain LoRA only)", file });
    }
  }
  const init: Record<string, unknown> = {};
  for (const [snake, camel] of KEYS) {
    if (!(snake in j)) continue;
    let v = j[snake];
    if (camel === "useDora" || camel === "fanInFanOut") continue; // checked above
    if (camel === "initLoraWeights" && v !== true && v !== false && v !== "gaussian") v = true; // irrelevant once weights load
    if ((camel === "rankPattern" || camel === "alphaPattern") && v === null) v = {};
    init[camel] = v;
  }
  try {
    return new LoraConfig(init as LoraConfigInit);
  } catch (e) {
    if (e instanceof ConfigError) {
      const err = e;
      const snake = KEYS.find(([, c]) => err.field === c || err.field.startsWith(`${c}.`) || err.field.startsWith(`${c}[`));
      const field = snake ? err.field.replace(snake[1], snake[0]) : err.field;
      throw new ConfigError({ field, value: err.value, fix: err.fix, file, cause: err });
    }
    throw e;
  }
}
