/**
 * `exportTrainingJob`: the same fine-tune as a runnable Python job for Hugging Face transformers + peft +
 * accelerate, for users who outgrow one machine: `train.py` (static), `job.json` (the settings: model id, dataset
 * paths, PEFT LoraConfig fields, HF TrainingArguments in snake_case, freezing, quantization, early stopping),
 * `requirements.txt` (pinned) and a `README.md`. The adapter it writes (`output/final`) loads back with
 * `PeftModel.fromPretrained(base, dir)`.
 *
 *     await exportTrainingJob("job", {
 *       modelId: "google/paligemma2-3b-pt-224",
 *       dataset: { train: "data/train/annotations.jsonl", eval: "data/valid/annotations.jsonl" },
 *       loraConfig: new LoraConfig({ r: 8, loraAlpha: 16, loraDropout: 0.05 }),
 *       trainingArguments: new TrainingArguments({ learningRate: 2e-5, gradientAccumulationSteps: 16 }),
 *     });
 *     // then, elsewhere: pip install -r job/requirements.txt && accelerate launch job/train.py
 */
import { ensureDir, writeFileAtomic } from "../util/atomic-write.js";
import { join } from "node:path";
import { LoraConfig } from "../lora/config.js";
import { loraConfigToPeftJson } from "../lora/adapter-config.js";
import type { FreezeSpec } from "../lora/freeze.js";
import { TrainingArguments, type TrainingArgumentsInit } from "./arguments.js";
import { TrainingError } from "./errors.js";
import { JOB_REQUIREMENTS, TRAIN_PY } from "./job-template.js";

export interface TrainingJobSpec {
  /** Hub id or path of the base checkpoint, e.g. "google/paligemma2-3b-pt-224". */
  modelId: string;
  /** Processor (tokenizer + image processor) id when it differs from modelId. */
  processorId?: string;
  /** PaliGemma JSONL files (absolute, or relative to the job directory); image paths are relative to each file. */
  dataset: { train: string; eval?: string };
  /** LoRA adapters; omit for full fine-tuning (with `freeze` for partial). */
  loraConfig?: LoraConfig;
  trainingArguments?: TrainingArguments | TrainingArgumentsInit;
  /** Freeze towers (paligemma-ts `freeze` names); name patterns are not exported. */
  freeze?: Pick<FreezeSpec, "visionTower" | "multiModalProjector" | "languageModel">;
  /** QLoRA: base linears in bitsandbytes NF4 (or int8). */
  quantization?: "nf4" | "int8" | null;
  doubleQuant?: boolean;
  /** Where the job writes checkpoints, relative to the job directory. Default "output". */
  outputDir?: string;
}

/** Fields of our TrainingArguments that are not HF TrainingArguments fields (exported elsewhere or dropped). */
const NOT_HF = new Set(["earlyStoppingPatience", "earlyStoppingThreshold", "generationMaxNewTokens", "generationNumBeams", "evalImageGap"]);

/** `perDeviceTrainBatchSize` → `per_device_train_batch_size`, `adamBeta1` → `adam_beta1`. */
export function camelToSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** HF `TrainingArguments(**kwargs)` for our arguments (every field, HF names; None for unset). */
export function toHfTrainingArguments(args: TrainingArguments, outputDir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args.toJSON())) if (!NOT_HF.has(k)) out[camelToSnake(k)] = v;
  out["output_dir"] = outputDir;
  // The job's collator reads the raw "image", "prefix" and "suffix" columns; HF's default (True) strips every column
  // the model's forward() does not name, so the first batch would die with KeyError: 'image' (issue 13.11). Our own
  // removeUnusedColumns is a no-op (the collator builds exactly the model inputs), so the job always gets False.
  out["remove_unused_columns"] = false;
  return out;
}

/** The by-name no-decay rule of adamw.ts `decayParameter`, as Python regular expressions on lower-cased names. */
export const NO_DECAY_PATTERNS = ["bias", "layernorm", "layer_norm", "rmsnorm", "(^|\\.)norm($|\\.)", "_norm($|\\.)"];

/** Build job.json's object. */
export function trainingJobJson(spec: TrainingJobSpec): Record<string, unknown> {
  if (typeof spec.modelId !== "string" || spec.modelId === "") throw new TrainingError("exportTrainingJob: modelId must name a checkpoint (hub id or path)");
  if (!spec.dataset || typeof spec.dataset.train !== "string") throw new TrainingError('exportTrainingJob: dataset.train must be a JSONL path ({"image","prefix","suffix"} per line)');
  if (spec.quantization && !spec.loraConfig) throw new TrainingError(`exportTrainingJob: quantization "${spec.quantization}" needs loraConfig (QLoRA trains adapters on a frozen quantized base)`);
  if (spec.loraConfig !== undefined && !(spec.loraConfig instanceof LoraConfig)) throw new TrainingError("exportTrainingJob: loraConfig must be a LoraConfig (new LoraConfig({...}))");
  const args = spec.trainingArguments instanceof TrainingArguments ? spec.trainingArguments : new TrainingArguments(spec.trainingArguments ?? {});
  const job: Record<string, unknown> = {
    generated_by: "paligemma-ts exportTrainingJob",
    model_id: spec.modelId,
    processor_id: spec.processorId ?? null,
    dataset: { train: spec.dataset.train, eval: spec.dataset.eval ?? null },
    lora: spec.loraConfig ? { ...loraConfigToPeftJson(spec.loraConfig), base_model_name_or_path: spec.modelId, inference_mode: false } : null,
    freeze: spec.freeze ?? null,
    quantization: spec.quantization ?? null,
    double_quant: spec.doubleQuant ?? false,
    training_arguments: toHfTrainingArguments(args, spec.outputDir ?? "output"),
    early_stopping: args.earlyStoppingPatience === null ? null
      : { early_stopping_patience: args.earlyStoppingPatience, early_stopping_threshold: args.earlyStoppingThreshold },
    generation: { max_new_tokens: args.generationMaxNewTokens, num_beams: args.generationNumBeams },
    no_decay_patterns: NO_DECAY_PATTERNS,
  };
  if (spec.dataset.eval === undefined && args.evalStrategy !== "no") {
    throw new TrainingError(`exportTrainingJob: evalStrategy is "${args.evalStrategy}" but dataset.eval is missing`);
  }
  return job;
}

function readme(job: Record<string, unknown>): string {
  const ta = job["training_arguments"] as Record<string, unknown>;
  return `# PaliGemma fine-tuning job (exported by paligemma-ts)

Base model: \`${job["model_id"]}\` · ${job["lora"] ? `LoRA r=${(job["lora"] as Record<string, unknown>)["r"]}` : "full fine-tune"}` +
    `${job["quantization"] ? ` on a ${job["quantization"]} base (QLoRA)` : ""} · learning rate ${ta["learning_rate"]} · ` +
    `batch ${ta["per_device_train_batch_size"]} × accumulation ${ta["gradient_accumulation_steps"]} per device

\`\`\`bash
pip install -r requirements.txt
accelerate config            # once: GPUs, mixed precision
accelerate launch train.py   # or: python train.py
\`\`\`

- \`job.json\` holds every setting (edit it there, not in train.py); dataset paths are relative to this folder.
- Checkpoints: \`${ta["output_dir"]}/checkpoint-N/\`; final adapter or model: \`${ta["output_dir"]}/final/\`.
- Back in TypeScript: \`PeftModel.fromPretrained(await PaliGemmaForConditionalGeneration.fromPretrained(base), "${ta["output_dir"]}/final")\`.
- The loss normalisation, weight-decay groups and padding are those of paligemma-ts (see train.py's docstring);
  the shuffling order is PyTorch's.
`;
}

/** Write train.py, job.json, requirements.txt and README.md into `dir` (created; existing files replaced). */
export async function exportTrainingJob(dir: string, spec: TrainingJobSpec): Promise<{ dir: string; files: string[] }> {
  const job = trainingJobJson(spec);
  await ensureDir(dir);
  const files: [string, string][] = [
    ["train.py", TRAIN_PY],
    ["job.json", JSON.stringify(job, null, 2) + "\n"],
    ["requirements.txt", JOB_REQUIREMENTS.join("\n") + "\n"],
    ["README.md", readme(job)],
  ];
  for (const [name, text] of files) await writeFileAtomic(join(dir, name), text);
  return { dir, files: files.map(([n]) => join(dir, n)) };
}
