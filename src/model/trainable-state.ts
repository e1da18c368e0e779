/**
 * The trainable variables as a file of their own (`trainable_params.safetensors`, internal layout, float32): what
 * a wrapped model (LoRA, quantized base) writes beside its `savePretrained` files so that a resume restores exactly
 * what the optimizer updates, whatever the adapter format rounds or renames.
 *
 *     await writeTrainableParams(peft.trainableParameters(), "out/checkpoint-20");
 *     await readTrainableParams(peft.trainableParameters(), "out/checkpoint-20");
 */
import { join } from "node:path";
import { tf } from "../tf.js";
import { SafetensorsFile } from "../io/safetensors.js";
import { saveSafetensors, type TensorToWrite } from "../io/safetensors-write.js";
import { CheckpointError } from "./load.js";

export const TRAINABLE_FILE = "trainable_params.safetensors";

export async function writeTrainableParams(params: ReadonlyMap<string, tf.Variable>, dir: string): Promise<void> {
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, v] of params) tensors[name] = { dtype: "F32", shape: v.shape.slice(), data: (await v.data()) as Float32Array };
  await saveSafetensors(join(dir, TRAINABLE_FILE), tensors, { format: "paligemma-ts" });
}

/** Assign every variable of `params` from `dir`'s trainable file; throws naming the file and tensor on a mismatch. */
export async function readTrainableParams(params: ReadonlyMap<string, tf.Variable>, dir: string): Promise<void> {
  const path = join(dir, TRAINABLE_FILE);
  let file: SafetensorsFile;
  try {
    file = await SafetensorsFile.open(path);
  } catch (e) {
    throw new CheckpointError(`${dir}: has no readable ${TRAINABLE_FILE} (${(e as Error).message}), which a wrapped (LoRA/quantized) model needs to resume`, path);
  }
  try {
    for (const [name, v] of params) {
      if (!file.keys().includes(name)) throw new CheckpointError(`${path}: no tensor ${name}; the checkpoint was written for a model with other trainable parameters`, path);
      const h = await file.read(name);
      assignHost(v, h.data as Float32Array, h.shape, `${path}: ${name}`);
    }
  } finally {
    await file.close();
  }
}

/** v ← host data, after checking the element count and shape fit. */
export function assignHost(v: tf.Variable, data: Float32Array, shape: readonly number[], what: string): void {
  if (data.length !== v.size || shape.reduce((n, d) => n * d, 1) !== v.size) {
    throw new CheckpointError(`${what}: saved shape [${shape}] (${data.length} values) does not fit the parameter's shape [${v.shape}]`, what);
  }
  tf.tidy(() => v.assign(tf.tensor(data, v.shape, "float32")));
}
