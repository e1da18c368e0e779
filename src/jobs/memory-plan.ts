/**
 * The memory plan of a fine-tuning strategy on a model directory: what `paligemma-ts plan` prints and what
 * `train` / `job` print (and check) before loading. Reads config.json only; no weight is read.
 *
 *     const { text } = await strategyMemoryPlan("weights/paligemma2-3b-pt-224", "qlora", { batchSize: 4 });
 *     console.log(text); // the formatMemoryPlan table, with the backend's limit and the verdict
 */
import { loadPaliGemmaConfig } from "../config/paligemma.js";
import { initBackend, type BackendName } from "../backend/select.js";
import { planMemory, type MemoryPlan, type MemoryPlanOptions } from "../memory/plan.js";
import { formatMemoryPlan } from "../memory/format.js";
import { memoryLimit, type MemoryLimit } from "../memory/limit.js";
import type { Strategy } from "./strategy.js";

export interface StrategyPlanInput {
  /** Rows per optimizer step (TrainingArguments.perDeviceTrainBatchSize). Default 1. */
  batchSize?: number;
  /** Text tokens per row (prompt + suffix). Default the plan's (128). */
  textTokens?: number;
  /** LoRA rank and target suffixes (lora, qlora). Default the plan's (r 8 on the seven projections). */
  loraRank?: number;
  loraTargets?: readonly string[];
  gradientCheckpointing?: boolean;
}

/**
 * The plan options of a strategy. `freeze` is planned as `full` (an upper bound: the language model, most of the
 * parameters, is trained in full either way).
 */
export function strategyPlanOptions(strategy: Strategy, o: StrategyPlanInput = {}): MemoryPlanOptions {
  const mode = strategy === "freeze" ? "full" : strategy;
  const plan: MemoryPlanOptions = { mode, batchSize: o.batchSize ?? 1 };
  if (o.textTokens !== undefined) plan.textTokens = o.textTokens;
  if (o.gradientCheckpointing !== undefined) plan.gradientCheckpointing = o.gradientCheckpointing;
  if (mode === "lora" || mode === "qlora") {
    if (o.loraRank !== undefined) plan.loraRank = o.loraRank;
    if (o.loraTargets !== undefined) plan.loraTargets = o.loraTargets;
  }
  return plan;
}

/** Start the backend, read `modelDir`'s config.json, plan `strategy` and format it against the backend's limit. */
export async function strategyMemoryPlan(
  modelDir: string,
  strategy: Strategy,
  o: StrategyPlanInput & { backend?: BackendName } = {},
): Promise<{ plan: MemoryPlan; limit: MemoryLimit; options: MemoryPlanOptions; text: string }> {
  await initBackend({ backend: o.backend });
  const config = await loadPaliGemmaConfig(modelDir);
  const options = strategyPlanOptions(strategy, o);
  const plan = planMemory(config, options);
  const limit = memoryLimit();
  return { plan, limit, options, text: formatMemoryPlan(plan, limit) };
}
