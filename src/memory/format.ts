/**
 * A memory plan as a text table (what the CLI prints and the refusal message quotes).
 *
 *     console.log(formatMemoryPlan(planMemory(config, { mode: "lora", batchSize: 4 }), memoryLimit()));
 *     // memory plan: lora, B=4, T=384, no gradient checkpointing
 *     //   checkpoint on disk        6.06 GB   16-bit values; read one tensor at a time (not counted)
 *     //   ...
 */
import type { MemoryLimit } from "./limit.js";
import type { MemoryPlan } from "./plan.js";

/** Bytes in decimal GB/MB (as `du -h --si`, nvidia-smi and the transformers docs quote sizes). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

/** The plan, one row per item, the peak and (when given) the limit and whether it fits. */
export function formatMemoryPlan(plan: MemoryPlan, limit?: MemoryLimit): string {
  const o = plan.options;
  const head =
    `memory plan: ${o.mode}, B=${o.batchSize}, T=${plan.activations.sequenceLength}` +
    (o.mode === "inference" ? "" : o.gradientCheckpointing ? ", gradient checkpointing" : ", no gradient checkpointing");
  const width = Math.max(...plan.rows.map((r) => r.what.length), "peak".length) + 2;
  const line = (what: string, bytes: number, note: string) =>
    `  ${what.padEnd(width)}${formatBytes(bytes).padStart(10)}   ${note}`;
  const lines = [head, ...plan.rows.map((r) => line(r.what, r.bytes, r.note + (r.counted ? "" : " (not counted)")))];
  lines.push(line("step peak", plan.stepPeakBytes, "sum of the counted rows after loading"));
  lines.push(line("peak", plan.peakBytes, "max(loading, step)"));
  if (limit) {
    const fits = plan.peakBytes <= limit.bytes;
    lines.push(line("limit", limit.bytes, `${limit.is} of backend ${limit.backend}: ${fits ? "fits" : "DOES NOT FIT"}`));
  }
  return lines.join("\n");
}
