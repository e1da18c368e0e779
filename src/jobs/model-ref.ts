/**
 * Where models come from: a checkpoint directory (HF layout), or `nano`, the project's small pretrained PaliGemma 2
 * (`models/paligemma2-nano-pt-224/` in the package), loaded with its processor through the usual `fromPretrained`.
 *
 *     const dir = resolveModelDir("nano"); // <package>/models/paligemma2-nano-pt-224
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { packageRoot } from "../util/package-root.js";

export { packageRoot };

export const NANO_MODEL = "paligemma2-nano-pt-224";

/** "nano" → the bundled checkpoint; anything else → that directory (absolute). Throws when it is not a checkpoint. */
export function resolveModelDir(ref: string): string {
  const dir = ref === "nano" ? join(packageRoot(), "models", NANO_MODEL) : resolve(ref);
  const missing = ["config.json", "tokenizer.json", "preprocessor_config.json"].filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    const hint = ref === "nano"
      ? `the nano checkpoint is not in this checkout (${dir}); it is built by the project's pretraining script (see models/README or the nano model card)`
      : `a model directory holds config.json, model.safetensors, tokenizer.json and preprocessor_config.json (Hugging Face layout)`;
    throw new Error(`model ${JSON.stringify(ref)}: missing ${missing.join(", ")} in ${dir}; ${hint}`);
  }
  return dir;
}
