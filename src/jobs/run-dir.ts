/**
 * A run directory: everything needed to resume, predict, evaluate and report a fine-tune.
 *
 *     RUN_DIR/
 *       run.json            what was trained: base model dir, data dir, task, strategy, LoraConfig (PEFT JSON),
 *                           TrainingArguments, generation settings (maxNewTokens from the data, beams), prompt
 *       adapter/            PEFT adapter (lora, qlora)   — or model/ (freeze, full: HF checkpoint)
 *       checkpoints/        Trainer checkpoints (checkpoint-N/, resumable)
 *       report.json         config, curves, metrics before/after, per-sample predictions (main job, evaluate)
 *       report.html         the same, self-contained (no network)
 *
 * The tokenizer and processor are the base model's (run.json names its directory); a full/freeze run's `model/`
 * holds its own config and weights and is loaded with the base's processor.
 *
 *     const { model, processor, run } = await loadForInference("runs/2026-12-03T10-00-00");
 */
import { readFile, rename, writeFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { PaliGemmaForConditionalGeneration } from "../model/paligemma.js";
import { PaliGemmaProcessor } from "../data/processor.js";
import type { TrainableModel } from "../model/trainable.js";
import type { BackendName } from "../backend/select.js";
import type { TrainingArgumentsFields } from "../train/arguments.js";
import { checkStrategy, loadTrained, usesAdapter, weightsDir, type Strategy } from "./strategy.js";
import { resolveModelDir } from "./model-ref.js";

export const RUN_FILE = "run.json";

export interface RunConfig {
  version: 1;
  /** Task name of the registry (jobs/tasks.ts), when known. */
  task: string | null;
  /** Base checkpoint directory (absolute). */
  model: string;
  /** Dataset root (absolute): {train,valid,test}/annotations.jsonl. */
  data: string;
  strategy: Strategy;
  /** PEFT adapter_config.json fields (lora, qlora), else null. */
  lora: Record<string, unknown> | null;
  trainingArguments: TrainingArgumentsFields;
  /** From the data (jobs/generation-length.ts); `minNewTokens` is absent in runs made before it existed. */
  generation: { maxNewTokens: number; numBeams: number; minNewTokens?: number };
  /** The prompt (prefix) of the training data, the default for `predict`. */
  prompt: string;
  createdAt: string;
}

/** Write run.json atomically. */
export async function writeRunConfig(dir: string, run: RunConfig): Promise<void> {
  const tmp = join(dir, `.${RUN_FILE}.tmp-${process.pid}`);
  await writeFile(tmp, JSON.stringify(run, null, 2) + "\n");
  await rename(tmp, join(dir, RUN_FILE));
}

export async function isRunDir(path: string): Promise<boolean> {
  return stat(join(path, RUN_FILE)).then((s) => s.isFile(), () => false);
}

/** Read and check run.json; errors name the file and the field. */
export async function readRunConfig(dir: string): Promise<RunConfig> {
  const file = join(dir, RUN_FILE);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(file, "utf-8")) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: cannot be read as JSON (${(e as Error).message}); is ${dir} a run directory made by \`paligemma-ts train\` or \`npm start\`?`);
  }
  for (const [k, t] of [["model", "string"], ["data", "string"], ["strategy", "string"], ["generation", "object"], ["trainingArguments", "object"]] as const) {
    if (typeof json[k] !== t || json[k] === null) throw new Error(`${file}: field ${k}: expected a ${t}, got ${JSON.stringify(json[k])}`);
  }
  checkStrategy(json["strategy"] as string);
  return json as unknown as RunConfig;
}

export interface Loaded {
  model: TrainableModel;
  processor: PaliGemmaProcessor;
  /** The run, when `ref` was a run directory. */
  run: RunConfig | null;
  /** The base checkpoint directory. */
  modelDir: string;
}

/** A run directory (base + trained weights) or a model reference (`nano`, a checkpoint dir), ready to generate. */
export async function loadForInference(ref: string, options: { backend?: BackendName } = {}): Promise<Loaded> {
  if (await isRunDir(ref)) {
    const runDir = resolve(ref);
    const run = await readRunConfig(runDir);
    const processor = await PaliGemmaProcessor.fromPretrained(run.model);
    const source = usesAdapter(run.strategy) ? run.model : weightsDir(runDir, run.strategy);
    const base = await PaliGemmaForConditionalGeneration.fromPretrained(source, options);
    const model = await loadTrained(base, run.strategy, runDir);
    return { model, processor, run, modelDir: run.model };
  }
  const dir = resolveModelDir(ref);
  const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir, options);
  return { model, processor: await PaliGemmaProcessor.fromPretrained(dir), run: null, modelDir: dir };
}
