/**
 * Creating parameters: from a Hugging Face checkpoint directory (config.json + model.safetensors or sharded
 * model-0000i-of-0000n.safetensors + index), or randomly from a config. Loading fails loudly: missing and unused
 * tensors are reported together, every shape and dtype is checked against the keymap, and tensors are read one at a
 * time by offset (never a whole multi-GB file in memory), converted to float32, and uploaded (`stream-load.ts`).
 */
import { tf } from "../tf.js";
import type { PaliGemmaConfig } from "../config/types.js";
import { internalShape } from "../io/keymap.js";
import { paliGemmaParamSpecs } from "./layers.js";
import type { ParamMap } from "./build.js";
import { streamCheckpoint } from "./stream-load.js";

export { CheckpointError } from "./checkpoint-error.js";

/** Read every parameter of `cfg` as float32 from the checkpoint at `path` (a directory or a .safetensors file). */
export async function loadParams(cfg: PaliGemmaConfig, path: string): Promise<ParamMap> {
  return (await streamCheckpoint(cfg, path)).params;
}

/**
 * Assign the checkpoint's values to the variables of `target` (by parameter name; e.g. the trainable ones when a
 * Trainer resumes), with the same checks as {@link loadParams}. Tensors not in `target` are not read.
 */
export async function loadParamsInto(cfg: PaliGemmaConfig, path: string, target: ReadonlyMap<string, tf.Variable>): Promise<void> {
  await streamCheckpoint(cfg, path, { assignTo: target });
}

/**
 * Random parameters (HF-style init: weights N(0, std), biases 0, LayerNorm γ 1, RMSNorm offset 0), seeded.
 * Used for tests and benchmarks; `std` defaults to 0.02 (Gemma's `initializer_range`).
 */
export function randomParams(cfg: PaliGemmaConfig, opts: { seed?: number; std?: number } = {}): ParamMap {
  const std = opts.std ?? 0.02;
  let seed = opts.seed ?? 0;
  const params: ParamMap = new Map();
  for (const spec of paliGemmaParamSpecs(cfg)) {
    const shape = internalShape(spec);
    const t =
      spec.init === "normal"
        ? tf.randomNormal(shape, 0, std, "float32", seed++)
        : spec.init === "ones"
          ? tf.ones(shape)
          : tf.zeros(shape);
    params.set(spec.name, tf.variable(t, true));
    t.dispose();
  }
  return params;
}
