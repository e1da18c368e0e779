/**
 * The refusal: compare a memory plan with the backend's limit before anything is allocated, and when it does not
 * fit, throw a {@link MemoryPlanError} that names the figure, the limit and each way out with its own figure.
 *
 *     checkMemory(config, { mode: "lora", batchSize: 4 }, memoryLimit()); // throws MemoryPlanError, or returns the plan
 */
import { totalmem } from "node:os";
import type { PaliGemmaConfig } from "../config/types.js";
import { formatBytes, formatMemoryPlan } from "./format.js";
import type { MemoryLimit } from "./limit.js";
import { planMemory, type MemoryPlan, type MemoryPlanOptions } from "./plan.js";

export class MemoryPlanError extends Error {
  constructor(
    message: string,
    readonly plan: MemoryPlan,
    readonly limit: MemoryLimit,
  ) {
    super(message);
    this.name = "MemoryPlanError";
  }
}

const fitsIn = (bytes: number, limit: number) => (bytes <= limit ? "fits" : "still too much");

/** Each way out, replanned: the figure it would need and whether that fits. */
function waysOut(cfg: PaliGemmaConfig, plan: MemoryPlan, limit: MemoryLimit): string[] {
  const o = plan.options;
  const out: string[] = [];
  if (limit.is === "WASM heap") {
    const ram = totalmem();
    out.push(`the native backend (\`npm run setup:native\`, then backend "tensorflow"): bounded by RAM, ` +
      `${formatBytes(ram)} here: ${formatBytes(plan.peakBytes)} ${fitsIn(plan.peakBytes, ram)}`);
  }
  if (o.mode === "full" || o.mode === "lora") {
    const q = planMemory(cfg, { ...o, mode: "qlora" });
    out.push(`QLoRA (fromPretrained with quantizationConfig { loadIn4bit: true }, then getPeftModel): ` +
      `${formatBytes(q.peakBytes)} (${fitsIn(q.peakBytes, limit.bytes)})`);
  } else if (o.mode === "inference" && plan.loadPeakBytes > limit.bytes) {
    const q = planMemory(cfg, { ...o, mode: "qlora" });
    out.push(`4-bit weights (fromPretrained with quantizationConfig { loadIn4bit: true }, quantized while loading): ` +
      `${formatBytes(q.loadPeakBytes)} to load (${fitsIn(q.loadPeakBytes, limit.bytes)})`);
  }
  if (o.batchSize > 1) {
    const b = planMemory(cfg, { ...o, batchSize: 1 });
    out.push(`batch size 1: ${formatBytes(b.peakBytes)} (${fitsIn(b.peakBytes, limit.bytes)})`);
  }
  if (o.mode !== "inference" && !o.gradientCheckpointing) {
    const c = planMemory(cfg, { ...o, gradientCheckpointing: true });
    out.push(`gradient checkpointing (model.gradientCheckpointingEnable()): ${formatBytes(c.peakBytes)} (${fitsIn(c.peakBytes, limit.bytes)})`);
  }
  return out;
}

/** Plan `options` for `cfg` and throw a MemoryPlanError when its peak exceeds `limit`; returns the plan when it fits. */
export function checkMemory(cfg: PaliGemmaConfig, options: MemoryPlanOptions, limit: MemoryLimit, what = "this model"): MemoryPlan {
  const plan = planMemory(cfg, options);
  if (plan.peakBytes <= limit.bytes) return plan;
  const weights = `${plan.parameters.toLocaleString("en-US")} parameters as float32 weights (${formatBytes(plan.float32WeightBytes)})`;
  const biggest = plan.loadPeakBytes >= plan.stepPeakBytes
    ? `${weights} while loading`
    : plan.options.mode === "inference"
      ? `${weights} + activations and KV cache (${formatBytes(plan.activationBytes)})`
      : `weights, optimizer state and activations of a ${plan.options.mode} step`;
  const message = [
    `${what} needs ${formatBytes(plan.peakBytes)} (${biggest}); the ${limit.is} of backend "${limit.backend}" holds ` +
      `${formatBytes(limit.bytes)}. Nothing was allocated. Ways out:`,
    ...waysOut(cfg, plan, limit).map((w) => `  - ${w}`),
    `  - to try anyway: pass { memoryCheck: false }`,
    formatMemoryPlan(plan, limit),
  ].join("\n");
  throw new MemoryPlanError(message, plan, limit);
}

/** The memory options `fromPretrained` accepts. */
export interface MemoryCheckOptions {
  /** Refuse before allocating when the plan does not fit the backend (default true); `false` loads anyway. */
  memoryCheck?: boolean;
  /** What the model is loaded for, planned before loading. Default: inference at batch 1 (the weights must fit). */
  memoryPlan?: MemoryPlanOptions;
  /** Use this limit, bytes, instead of the backend's (a budget below the machine's; tests). */
  memoryLimitBytes?: number;
}

/** `fromPretrained`'s check, after the backend started and config.json was read, before any weight is read. */
export function checkMemoryBeforeLoad(cfg: PaliGemmaConfig, options: MemoryCheckOptions, limit: MemoryLimit, what: string): void {
  if (options.memoryCheck === false) return;
  const bytes = options.memoryLimitBytes;
  if (bytes !== undefined && !(Number.isFinite(bytes) && bytes > 0)) {
    throw new RangeError(`memoryLimitBytes: got ${bytes}; use a positive number of bytes, or omit it for the backend's limit`);
  }
  checkMemory(cfg, options.memoryPlan ?? {}, bytes === undefined ? limit : { ...limit, bytes }, what);
}
