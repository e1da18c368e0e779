/**
 * The PEFT fixtures in test/fixtures/peft (made by gen_peft_adapters.py there with torch + transformers 4.47.1 +
 * peft 0.14.0 on the golden tiny model): adapter directories, PEFT's logits/loss for them, and expected.json
 * (print_trainable_parameters lines, wrapped modules, LoraConfig defaults).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { SafetensorsFile } from "../../src/io/safetensors.js";
import type { ForwardInputs } from "../../src/model/inputs.js";
import { Golden } from "../helpers/golden.js";
import { repoRoot } from "../helpers/paths.js";

export const PEFT_FIXTURES = join(repoRoot(), "test", "fixtures", "peft");
export const ADAPTER_NAMES = ["lora_all", "rslora_regex", "layers"] as const;
export type AdapterName = (typeof ADAPTER_NAMES)[number];

export interface PeftExpected {
  torch: string;
  transformers: string;
  peft: string;
  adapters: Record<AdapterName, { config: Record<string, unknown>; print: string; wrapped: string[] }>;
  maestro: { config: Record<string, unknown>; print: string; wrapped: string[] };
  defaults: Record<string, unknown>;
}

export async function peftExpected(): Promise<PeftExpected> {
  return JSON.parse(await readFile(join(PEFT_FIXTURES, "expected.json"), "utf-8")) as PeftExpected;
}

/** A tensor from expected.safetensors (logits.<name>.infer, logits.lora_all.train, loss.lora_all). Caller disposes. */
export async function peftTensor(name: string): Promise<tf.Tensor> {
  const f = await SafetensorsFile.open(join(PEFT_FIXTURES, "expected.safetensors"));
  try {
    const t = await f.read(name);
    return tf.tensor(t.data, t.shape, t.dtype === "bool" ? "int32" : t.dtype);
  } finally {
    await f.close();
  }
}

/** The golden inputs: `train` (token types + labels: prefix-LM mask and loss) and `infer` (inference mask). */
export async function goldenInputs(): Promise<{ train: ForwardInputs; infer: ForwardInputs; dispose(): void }> {
  const g = await Golden.open();
  try {
    const [pixelValues, inputIds, attentionMask, tokenTypeIds, labels] = await Promise.all(
      ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"].map((k) => g.tensor(`inputs.${k}`)),
    );
    return {
      train: { pixelValues, inputIds, attentionMask, tokenTypeIds, labels },
      infer: { pixelValues, inputIds, attentionMask },
      dispose: () => tf.dispose([pixelValues!, inputIds!, attentionMask!, tokenTypeIds!, labels!]),
    };
  } finally {
    await g.close();
  }
}
