/** LoRA (PEFT's vocabulary), freezing and PEFT-layout adapter IO. Re-exports only. */
export { LoraConfig, LORA_PRESETS, LORA_CONFIG_FIELDS, PALIGEMMA_PROJECTIONS, type LoraConfigInit } from "./config.js";
export { loraConfigFromPeftJson, loraConfigToPeftJson } from "./adapter-config.js";
export { resolveTargets, allLinearTargets, isTargetModule, type ResolvedTarget } from "./targets.js";
export { LoraLinear, type LoraLinearOptions } from "./lora-linear.js";
export { PeftModel, getPeftModel, PEFT_PREFIX, type PeftBaseModel, type GetPeftModelOptions } from "./peft-model.js";
export { saveAdapter, loadAdapter } from "./adapter-io.js";
export { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, type AdapterHolder } from "./adapter-files.js";
export { freeze, type FreezeSpec, type FreezeResult } from "./freeze.js";
