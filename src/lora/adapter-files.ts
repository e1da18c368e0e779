/**
 * LoRA adapters on disk in PEFT's layout, both ways (peft/utils/save_and_load.py):
 *
 *   adapter_config.json         LoraConfig as PEFT writes it (see adapter-config.ts)
 *   adapter_model.safetensors   `base_model.model.<module>.lora_A.weight` float32[r, in],
 *                               `base_model.model.<module>.lora_B.weight` float32[out, r] (torch layout; PEFT strips
 *                               the adapter name "default" on save), and for modulesToSave the module's parameters
 *                               under `base_model.model.<HF parameter name>` in checkpoint layout.
 *
 * Loading accepts what PEFT versions write: keys with or without ".default", transformers ≥ 4.52 module paths
 * (`model.language_model.layers.…`), F32/F16/BF16. Missing and unexpected tensors are reported together.
 *
 * This module knows the files, not PeftModel: it reads and writes through {@link AdapterHolder}, which PeftModel
 * satisfies, so imports point one way (peft-model.ts → adapter-files.ts; adapter-io.ts on top of both).
 */
import { readFile, stat } from "node:fs/promises";
import { ensureDir, writeFileAtomic } from "../util/atomic-write.js";
import { listSome } from "../util/list-some.js";
import { join } from "node:path";
import { tf } from "../tf.js";
import { SafetensorsFile } from "../io/safetensors.js";
import { saveSafetensors, type TensorToWrite } from "../io/safetensors-write.js";
import { canonicalName, toCheckpointLayout, toInternalLayout } from "../io/keymap.js";
import { paliGemmaParamSpecs } from "../model/layers.js";
import { CheckpointError } from "../model/load.js";
import { ConfigError } from "../config/errors.js";
import type { PaliGemmaConfig } from "../config/types.js";
import type { LoraConfig } from "./config.js";
import type { LoraLinear } from "./lora-linear.js";
import { loraConfigFromPeftJson, loraConfigToPeftJson } from "./adapter-config.js";

export const ADAPTER_CONFIG_FILE = "adapter_config.json";
export const ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";
/** PEFT's prefix of every parameter name (`PeftModel.base_model.model`). */
export const PEFT_PREFIX = "base_model.model.";

/** What adapter IO reads from and writes into: the parts of a PeftModel that are saved. */
export interface AdapterHolder {
  /** The base model's config (parameter names and checkpoint shapes). */
  readonly config: PaliGemmaConfig;
  /** The LoRA config in effect. */
  readonly peftConfig: LoraConfig;
  readonly baseModel: { namedParameters(): Map<string, tf.Variable> };
  /** The LoRA layers by module name. */
  loraLayers(): ReadonlyMap<string, Pick<LoraLinear, "r" | "inFeatures" | "outFeatures" | "loraA" | "loraB">>;
  /** modulesToSave: base parameter name → its original value (only the names are read here). */
  originalValues(): ReadonlyMap<string, unknown>;
}

/** An adapter directory whose config has been read and whose weights file exists. */
export interface AdapterDir {
  config: LoraConfig;
  configPath: string;
  weightsPath: string;
}

/** Host copy of a 2-D variable, transposed: [a, b] → float32[b·a] laid out as [b, a]. */
async function transposedData(v: tf.Variable): Promise<Float32Array> {
  const t = tf.transpose(v);
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

/** Write `peft`'s adapter into `dir` (created if needed). Every file goes through util/atomic-write.ts. */
export async function writeAdapterFiles(peft: AdapterHolder, dir: string): Promise<void> {
  await ensureDir(dir);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, l] of peft.loraLayers()) {
    tensors[`${PEFT_PREFIX}${name}.lora_A.weight`] = { dtype: "F32", shape: [l.r, l.inFeatures], data: await transposedData(l.loraA) };
    tensors[`${PEFT_PREFIX}${name}.lora_B.weight`] = { dtype: "F32", shape: [l.outFeatures, l.r], data: await transposedData(l.loraB) };
  }
  const specs = new Map(paliGemmaParamSpecs(peft.config).map((s) => [s.name, s]));
  const params = peft.baseModel.namedParameters();
  for (const name of peft.originalValues().keys()) {
    const spec = specs.get(name)!;
    const data = toCheckpointLayout(spec, (await params.get(name)!.data()) as Float32Array);
    tensors[`${PEFT_PREFIX}${name}`] = { dtype: "F32", shape: spec.hfShape.slice(), data };
  }
  await saveSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), tensors, { format: "pt" });
  const json = loraConfigToPeftJson(peft.peftConfig.with({ inferenceMode: true })); // PEFT saves inference_mode: true
  await writeFileAtomic(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(json, null, 2) + "\n");
}

/**
 * Read `dir`'s adapter_config.json and check its weights file is there (before any model is touched).
 * `isTrainable` false (PEFT's default): the config comes back in inference mode.
 */
export async function readAdapterDir(dir: string, options: { isTrainable?: boolean } = {}): Promise<AdapterDir> {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(configPath, "utf-8");
  } catch (cause) {
    throw new CheckpointError(`${configPath}: cannot be read (${(cause as Error).message}); a PEFT adapter directory holds ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}`, configPath);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError({ field: "(root)", value: undefined, shown: `invalid JSON (${(cause as Error).message})`, fix: "write adapter_config.json as PEFT does", file: configPath });
  }
  const config = loraConfigFromPeftJson(json, configPath).with({ inferenceMode: !(options.isTrainable ?? false) });
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!(await stat(weightsPath).then((s) => s.isFile(), () => false))) {
    const bin = await stat(join(dir, "adapter_model.bin")).then(() => true, () => false);
    throw new CheckpointError(`${weightsPath}: missing${bin ? "; only adapter_model.bin is there: save it with safe_serialization=True (PEFT's default)" : ""}`, weightsPath);
  }
  return { config, configPath, weightsPath };
}

/** A ConfigError from applying adapter_config.json to a model, restated in the file's terms (PEFT's field names). */
export function inAdapterConfig(e: unknown, configPath: string): unknown {
  if (!(e instanceof ConfigError)) return e;
  const tied = e.value === "lm_head" ? " (PaliGemma's LM head is the tied input embedding here, not a linear: adapters on lm_head cannot be loaded)" : "";
  return new ConfigError({ field: e.field.replace("targetModules", "target_modules"), value: e.value, fix: e.fix + tied, file: configPath, cause: e });
}

/** File key → our name: no `base_model.model.` prefix, no ".default", HF ≥ 4.52 paths mapped to file names. */
function ourKey(fileKey: string): string {
  let k = fileKey.startsWith(PEFT_PREFIX) ? fileKey.slice(PEFT_PREFIX.length) : fileKey;
  k = k.replace(/\.(lora_[AB])\.default\.weight$/, ".$1.weight");
  return canonicalName(k);
}

/** v ← t, then drop t (a variable shares the assigned tensor's data, so t must not stay alive). */
function assignFrom(v: tf.Variable, t: tf.Tensor): void {
  v.assign(t);
  t.dispose();
}

/**
 * Assign the tensors of `weightsPath` to `peft`'s adapters and modulesToSave parameters. Missing, unexpected,
 * mistyped and misshapen tensors are reported together in one CheckpointError.
 */
export async function readAdapterWeights(peft: AdapterHolder, weightsPath: string): Promise<void> {
  const file = await SafetensorsFile.open(weightsPath);
  try {
    const byKey = new Map<string, string>();
    for (const k of file.keys()) byKey.set(ourKey(k), k);
    const used = new Set<string>();
    const missing: string[] = [];
    const problems: string[] = [];
    const read = async (key: string, shape: number[]): Promise<Float32Array | null> => {
      const fileKey = byKey.get(key);
      if (fileKey === undefined) return missing.push(`${PEFT_PREFIX}${key}`), null;
      used.add(key);
      const h = await file.read(fileKey);
      if (h.dtype !== "float32") return problems.push(`${fileKey} is ${file.info(fileKey).dtype}, expected a float dtype`), null;
      if (h.shape.join() !== shape.join()) return problems.push(`${fileKey} has shape [${h.shape}], expected [${shape}]`), null;
      return h.data as Float32Array;
    };
    for (const [name, l] of peft.loraLayers()) {
      const a = await read(`${name}.lora_A.weight`, [l.r, l.inFeatures]); // torch [r, in] → ours [in, r]
      const b = await read(`${name}.lora_B.weight`, [l.outFeatures, l.r]); // torch [out, r] → ours [r, out]
      if (a) assignFrom(l.loraA, tf.tidy(() => tf.transpose(tf.tensor2d(a, [l.r, l.inFeatures]))));
      if (b) assignFrom(l.loraB, tf.tidy(() => tf.transpose(tf.tensor2d(b, [l.outFeatures, l.r]))));
    }
    const specs = new Map(paliGemmaParamSpecs(peft.config).map((s) => [s.name, s]));
    const params = peft.baseModel.namedParameters();
    for (const name of peft.originalValues().keys()) {
      const spec = specs.get(name)!;
      const data = await read(name, spec.hfShape);
      if (data) assignFrom(params.get(name)!, tf.tensor(toInternalLayout(spec, data), params.get(name)!.shape));
    }
    const unexpected = [...byKey.keys()].filter((k) => !used.has(k)).map((k) => byKey.get(k)!);
    if (missing.length || unexpected.length || problems.length) {
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.length} tensor(s): ${listSome(missing)}`);
      if (unexpected.length) parts.push(`${unexpected.length} tensor(s) that adapter_config.json does not target: ${listSome(unexpected)}`);
      parts.push(...problems);
      throw new CheckpointError(`${weightsPath}: adapter does not match ${ADAPTER_CONFIG_FILE} and this model — ${parts.join("; ")}`, weightsPath);
    }
  } finally {
    await file.close();
  }
}
