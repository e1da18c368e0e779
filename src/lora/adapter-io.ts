/**
 * Save and load LoRA adapters in PEFT's layout as functions (the layout itself: adapter-files.ts):
 *
 * @example
 * await saveAdapter(peft, "out/adapter");                  // Python: PeftModel.from_pretrained(model, "out/adapter")
 * const peft2 = await loadAdapter(base, "out/adapter", { isTrainable: true });
 */
import { PeftModel, type PeftBaseModel } from "./peft-model.js";
import { writeAdapterFiles } from "./adapter-files.js";

export { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from "./adapter-files.js";

/** Write `peft`'s adapter into `dir` (created if needed): `peft.savePretrained(dir)`. */
export async function saveAdapter(peft: PeftModel, dir: string): Promise<void> {
  await writeAdapterFiles(peft, dir);
}

/**
 * Load the PEFT adapter in `dir` onto `base` (whose slots must hold plain or quantized linears):
 * `PeftModel.fromPretrained(base, dir, options)`. `isTrainable` false (PEFT's default): inference mode, every
 * adapter variable frozen.
 */
export async function loadAdapter(base: PeftBaseModel, dir: string, options: { isTrainable?: boolean } = {}): Promise<PeftModel> {
  return PeftModel.fromPretrained(base, dir, options);
}
