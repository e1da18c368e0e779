/**
 * The fine-tuning commands of `paligemma-ts`: train, predict, evaluate, report, and `job` (what `npm start` runs).
 * Each has a usage text with an example (`--help`/`-h`), parses its flags with args.ts (unknown ones are usage
 * errors, exit 2), draws progress bars from ProgressEvents on stderr, and prints results on stdout.
 *
 *     paligemma-ts train data/pallets --out runs/a --model nano --max-steps 40 --learning-rate 2e-3
 *     paligemma-ts evaluate runs/a --data data/pallets --split test --json eval.json
 */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { UsageError, parseFlags, trainingFlagSpecs, loraFlagSpecs, flagList, type FlagSpec } from "./args.js";
import { readTrainConfig } from "./config-file.js";
import { TerminalProgress, type LineSink } from "../display/terminal.js";

export interface CliIo {
  out(line: string): void;
  /** Progress bars and log lines. */
  err: LineSink;
}

export const processIo: CliIo = { out: (l) => void process.stdout.write(l + "\n"), err: process.stderr };

const cli = (field: string, kind: FlagSpec["kind"], help?: string): FlagSpec => ({ field, kind, group: "cli", help });
const QUIET = cli("quiet", "boolean");
const BACKEND = cli("backend", "string");

export const TRAIN_USAGE = `usage: paligemma-ts train DATA_DIR --out RUN_DIR [--model DIR|nano] [--strategy lora|qlora|freeze|full]
                          [--config FILE.json|.yaml] [--max-steps N] [--resume] [--num-beams N] [TrainingArguments/LoraConfig flags]

  Fine-tunes on DATA_DIR/{train,valid}/annotations.jsonl (Roboflow's PaliGemma layout; eval on valid when present)
  and writes RUN_DIR: run.json, adapter/ (lora, qlora) or model/ (freeze, full), checkpoints/, report.json/html.
  maxNewTokens and minNewTokens for later generation are taken from the tokenized train suffixes.
  Every TrainingArguments and LoraConfig field is a flag (kebab-case, or the Python snake_case):
${flagList(trainingFlagSpecs())}
${flagList(loraFlagSpecs())}
  --config holds { model, strategy, numBeams, trainingArguments: {…}, lora: {…} }; flags override it.
  Log lines: --log-level error silences them; --disable-tqdm hides the progress bar.

  example: paligemma-ts train pallets --out runs/pallets --model nano --max-steps 40 --learning-rate 2e-3 --r 8`;

export const PREDICT_USAGE = `usage: paligemma-ts predict MODEL_OR_RUN IMAGE... [--prompt TEXT] [--json] [--max-new-tokens N] [--min-new-tokens N]
                             [--num-beams N]

  Generates an answer per image with a run directory (base + adapter, its prompt and generation settings) or a
  model (nano, or a checkpoint directory). --json prints one JSON object per line: {image, prompt, prediction}.

  example: paligemma-ts predict runs/pallets photo1.jpg photo2.jpg --json`;

export const EVALUATE_USAGE = `usage: paligemma-ts evaluate MODEL_OR_RUN --data DATA_DIR [--split test] [--json OUT.json] [--limit N] [--num-beams N]
                              [--max-new-tokens N] [--min-new-tokens N]

  Generates for every example of the split and scores it with the task's metrics (JSON: parse rate, field F1,
  tree-edit accuracy, BLEU; detection: mAP@50:95, mAP@50). With a run directory, the result is also written into
  its report.json/report.html as the "after" metrics.

  example: paligemma-ts evaluate runs/pallets --data pallets --split test --json eval.json`;

export const REPORT_USAGE = `usage: paligemma-ts report RUN_DIR

  Writes RUN_DIR/report.html (self-contained: inline charts and thumbnails, no network) from RUN_DIR/report.json.

  example: paligemma-ts report runs/2026-12-03T10-00-00`;

export const PLAN_USAGE = `usage: paligemma-ts plan MODEL_DIR [--strategy lora|qlora|freeze|full] [--batch N] [--text-tokens N]
                         [--gradient-checkpointing] [--backend tensorflow|wasm|cpu]

  Prints the memory plan of fine-tuning MODEL_DIR (a checkpoint directory, or nano) without reading a weight:
  weights by storage format (float32, or NF4 quantized while loading for qlora), LoRA and AdamW state,
  activations and the backward pass at the batch asked, the peak, and the backend's limit with the verdict.
  train and job print the same table before loading. freeze is planned as full (an upper bound).

  example: paligemma-ts plan weights/paligemma2-3b-pt-224 --strategy qlora --batch 1 --backend tensorflow`;

export const JOB_USAGE = `usage: paligemma-ts job [--task json|detection] [--out RUN_DIR] [--seed N] [--training-seed N] [--model DIR|nano]
                        [--max-steps N] [--num-beams N] [--train-budget SECONDS] [--test-limit N] [--quiet]

  The main job (npm start): synthetic data → nano pretrained model → metrics before → LoRA fine-tune with eval on
  valid → metrics after → runs/<timestamp>/ with adapter, report.json and report.html.
  --seed: the synthetic data's (default 2024); --training-seed: TrainingArguments.seed (LoRA init, data order;
  default 42).

  example: npm start -- --task detection`;

function bar(io: CliIo, quiet: boolean): TerminalProgress | null {
  return quiet ? null : new TerminalProgress(io.err);
}

async function loadJobs() {
  return {
    ...(await import("../jobs/fine-tune.js")),
    ...(await import("../jobs/run-dir.js")),
    ...(await import("../jobs/strategy.js")),
    ...(await import("../jobs/tasks.js")),
    ...(await import("../jobs/report.js")),
    ...(await import("../jobs/evaluate-run.js")),
  };
}

export async function trainCommand(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const specs = [cli("out", "string"), cli("model", "string"), cli("strategy", "string"), cli("config", "string"), cli("resume", "boolean"),
    cli("numBeams", "number"), cli("task", "string"), BACKEND, ...trainingFlagSpecs(), ...loraFlagSpecs()];
  const p = parseFlags(args, specs, "train");
  if (p.values.get("help")) return io.out(TRAIN_USAGE), 0;
  if (p.positional.length !== 1) throw new UsageError(`train needs exactly one DATA_DIR; got ${p.positional.length ? p.positional.join(" ") : "none"}`, "train");
  const out = p.values.get("out") as string | undefined;
  if (!out) throw new UsageError("train needs --out RUN_DIR", "train");
  const file = p.values.get("config") ? await readTrainConfig(p.values.get("config") as string) : {};
  const j = await loadJobs();
  const strategyName = (p.values.get("strategy") as string | undefined) ?? file.strategy;
  let strategy: ReturnType<typeof j.checkStrategy> | undefined; // default: the resumed run's, else lora
  try {
    strategy = strategyName === undefined ? undefined : j.checkStrategy(strategyName);
  } catch (e) {
    throw new UsageError((e as Error).message, "train");
  }
  const progress = new TerminalProgress(io.err);
  const r = await j.fineTune({
    data: p.positional[0]!, out, model: (p.values.get("model") as string | undefined) ?? file.model, strategy,
    trainingArguments: { ...(file.trainingArguments ?? {}), ...p.groups.trainingArguments },
    lora: { ...(file.lora ?? {}), ...p.groups.lora },
    numBeams: (p.values.get("numBeams") as number | undefined) ?? file.numBeams,
    task: (p.values.get("task") as string | undefined) ?? file.task ?? null,
    resume: p.values.get("resume") === true, backend: p.values.get("backend") as never,
    onProgress: progress.callback, logger: progress.logger,
  });
  io.out(`trained ${r.output.globalStep} steps (train_loss ${r.output.trainingLoss.toFixed(4)}) → ${resolve(out)}`);
  io.out(`next: paligemma-ts evaluate ${out} --data ${p.positional[0]}   ·   paligemma-ts predict ${out} IMAGE`);
  return 0;
}

export async function planCommand(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const specs = [cli("strategy", "string"), cli("batch", "number"), cli("textTokens", "number"), cli("gradientCheckpointing", "boolean"), BACKEND];
  const p = parseFlags(args, specs, "plan");
  if (p.values.get("help")) return io.out(PLAN_USAGE), 0;
  if (p.positional.length !== 1) throw new UsageError(`plan needs exactly one MODEL_DIR; got ${p.positional.length ? p.positional.join(" ") : "none"}`, "plan");
  const { checkStrategy } = await import("../jobs/strategy.js");
  const { resolveModelDir } = await import("../jobs/model-ref.js");
  const ref = p.positional[0]!;
  const { strategyMemoryPlan } = await import("../jobs/memory-plan.js");
  let strategy: ReturnType<typeof checkStrategy>;
  try {
    strategy = checkStrategy((p.values.get("strategy") as string | undefined) ?? "lora");
  } catch (e) {
    throw new UsageError((e as Error).message, "plan");
  }
  // only config.json is read: any directory holding one will do ("nano" names the bundled model)
  const { text } = await strategyMemoryPlan(ref === "nano" ? resolveModelDir(ref) : resolve(ref), strategy, {
    backend: p.values.get("backend") as never,
    batchSize: p.values.get("batch") as number | undefined,
    textTokens: p.values.get("textTokens") as number | undefined,
    gradientCheckpointing: p.values.get("gradientCheckpointing") as boolean | undefined,
  });
  io.out(text);
  return 0;
}

export async function predictCommand(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const p = parseFlags(args, [cli("prompt", "string"), cli("json", "boolean"), cli("maxNewTokens", "number"), cli("minNewTokens", "number"), cli("numBeams", "number"), QUIET, BACKEND], "predict");
  if (p.values.get("help")) return io.out(PREDICT_USAGE), 0;
  if (p.positional.length < 2) throw new UsageError("predict needs MODEL_OR_RUN and at least one IMAGE", "predict");
  const [ref, ...images] = p.positional as [string, ...string[]];
  const { loadForInference } = await import("../jobs/run-dir.js");
  const { model, processor, run } = await loadForInference(ref, { backend: p.values.get("backend") as never });
  const prompt = (p.values.get("prompt") as string | undefined) ?? run?.prompt;
  if (!prompt) throw new UsageError(`predict: ${ref} is a model, not a run: give --prompt TEXT (e.g. "caption en", "detect cat", "extract JSON")`, "predict");
  const maxNewTokens = (p.values.get("maxNewTokens") as number | undefined) ?? run?.generation.maxNewTokens ?? 64;
  const minNewTokens = (p.values.get("minNewTokens") as number | undefined) ?? run?.generation.minNewTokens;
  const numBeams = (p.values.get("numBeams") as number | undefined) ?? run?.generation.numBeams ?? 1;
  const { ProgressEmitter } = await import("../events/progress.js");
  const progress = bar(io, p.values.get("quiet") === true);
  const emitter = new ProgressEmitter(progress?.callback, { task: "generate", total: images.length, unit: "image", label: `${numBeams > 1 ? `${numBeams} beams` : "greedy"}, ≤ ${maxNewTokens} tokens` });
  for (const [i, image] of images.entries()) {
    const batch = await processor.collate([{ image: resolve(image), prefix: prompt, suffix: "" }], { forGeneration: true });
    try {
      const o = await model.generate({ pixelValues: batch.pixelValues, inputIds: batch.inputIds, attentionMask: batch.attentionMask }, { maxNewTokens, minNewTokens, numBeams });
      const promptLength = batch.inputIds.shape[1]!;
      const prediction = processor.decode(o.sequences[0]!.slice(promptLength), { skipSpecialTokens: true }).trim();
      emitter.update(i + 1);
      if (p.values.get("json")) io.out(JSON.stringify({ image, prompt, prediction }));
      else if (progress) progress.line(`${image}: ${prediction}`);
      else io.out(`${image}: ${prediction}`);
    } finally {
      for (const t of [batch.pixelValues, batch.inputIds, batch.attentionMask, batch.tokenTypeIds]) t.dispose();
    }
  }
  emitter.end(images.length);
  return 0;
}

export async function evaluateCommand(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const p = parseFlags(args, [cli("data", "string"), cli("split", "string"), cli("json", "string"), cli("limit", "number"), cli("numBeams", "number"),
    cli("maxNewTokens", "number"), cli("minNewTokens", "number"), cli("task", "string"), QUIET, BACKEND], "evaluate");
  if (p.values.get("help")) return io.out(EVALUATE_USAGE), 0;
  if (p.positional.length !== 1) throw new UsageError("evaluate needs exactly one MODEL_OR_RUN", "evaluate");
  const data = p.values.get("data") as string | undefined;
  if (!data) throw new UsageError("evaluate needs --data DATA_DIR", "evaluate");
  const split = (p.values.get("split") as string | undefined) ?? "test";
  if (!["train", "valid", "test"].includes(split)) throw new UsageError(`--split: expected train, valid or test; got ${JSON.stringify(split)}`, "evaluate");
  const j = await loadJobs();
  const { loadDataset } = await import("../data/dataset.js");
  const splits = await loadDataset(resolve(data));
  const ds = splits[split as "train" | "valid" | "test"];
  if (!ds || ds.length === 0) throw new Error(`${data}: no ${split} split (${split}/annotations.jsonl) or it is empty`);
  const ref = p.positional[0]!;
  const { model, processor, run } = await j.loadForInference(ref, { backend: p.values.get("backend") as never });
  const first = await ds.get(0);
  const task = p.values.get("task") ? j.getTask(p.values.get("task") as string) : run?.task ? j.getTask(run.task) : j.taskForPrefix(first.prefix);
  let maxNewTokens = (p.values.get("maxNewTokens") as number | undefined) ?? run?.generation.maxNewTokens;
  let minNewTokens = (p.values.get("minNewTokens") as number | undefined) ?? run?.generation.minNewTokens;
  if (maxNewTokens === undefined || (minNewTokens === undefined && !run)) {
    // not a run (or flags missing): the lengths from the data, as `train` stores them
    const { suffixLengths } = await import("../jobs/generation-length.js");
    const source = splits.train ?? ds;
    const lengths = suffixLengths(processor.tokenizer, await Promise.all(Array.from({ length: source.length }, async (_, i) => (await source.get(i)).suffix)));
    maxNewTokens ??= lengths.maxNewTokens;
    minNewTokens ??= lengths.minNewTokens;
  }
  const numBeams = (p.values.get("numBeams") as number | undefined) ?? run?.generation.numBeams ?? 3;
  const progress = bar(io, p.values.get("quiet") === true);
  const report = await j.evaluateSplit(model, processor, ds, { task, maxNewTokens, minNewTokens, numBeams, limit: p.values.get("limit") as number | undefined, onProgress: progress?.callback, label: `${split}: ${numBeams} beams` });
  const headline = task.headline(report);
  io.out(`${split} (${report.count} examples): ${Object.entries(headline).map(([k, v]) => `${k} ${+v.toFixed(4)}`).join(", ")}`);
  const json = p.values.get("json") as string | undefined;
  if (json) await writeFile(json, JSON.stringify({ task: task.name, split, data: resolve(data), model: ref, headline, ...report }, null, 2) + "\n");
  if (run) {
    const runDir = resolve(ref);
    const prev = await j.readJobReport(runDir).catch(() => null);
    if (prev) {
      await j.writeJobReport(runDir, { ...prev, metrics: { ...prev.metrics, after: headline }, evaluations: { ...prev.evaluations, after: report.aggregates },
        predictions: j.predictionRows(null, report) });
    }
  }
  return 0;
}

export async function reportCommand(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const p = parseFlags(args, [], "report");
  if (p.values.get("help")) return io.out(REPORT_USAGE), 0;
  if (p.positional.length !== 1) throw new UsageError("report needs exactly one RUN_DIR", "report");
  const { renderReportHtml } = await import("../jobs/report.js");
  io.out(await renderReportHtml(resolve(p.positional[0]!)));
  return 0;
}

export async function jobCommand(args: readonly string[], io: CliIo = processIo): Promise<number> {
  const p = parseFlags(args, [cli("task", "string"), cli("out", "string"), cli("seed", "number"), cli("trainingSeed", "number"), cli("model", "string"),
    cli("maxSteps", "number"), cli("numBeams", "number"), cli("testLimit", "number"), cli("trainBudget", "number"), QUIET, BACKEND], "job");
  if (p.values.get("help")) return io.out(JOB_USAGE), 0;
  if (p.positional.length) throw new UsageError(`job takes no positional arguments; got ${p.positional.join(" ")}`, "job");
  const { runMainJob } = await import("../jobs/main-job.js");
  const { getTask } = await import("../jobs/tasks.js");
  try {
    getTask((p.values.get("task") as string | undefined) ?? "json");
  } catch (e) {
    throw new UsageError((e as Error).message, "job");
  }
  const progress = new TerminalProgress(io.err);
  const maxSteps = p.values.get("maxSteps") as number | undefined;
  const trainingSeed = p.values.get("trainingSeed") as number | undefined;
  const r = await runMainJob({
    task: p.values.get("task") as string | undefined, out: p.values.get("out") as string | undefined, seed: p.values.get("seed") as number | undefined,
    model: p.values.get("model") as string | undefined, numBeams: p.values.get("numBeams") as number | undefined,
    testLimit: p.values.get("testLimit") as number | undefined, trainBudgetSeconds: p.values.get("trainBudget") as number | undefined, backend: p.values.get("backend") as never,
    trainingArguments: { ...(maxSteps !== undefined ? { maxSteps } : {}), ...(trainingSeed !== undefined ? { seed: trainingSeed } : {}) },
    onProgress: p.values.get("quiet") ? undefined : progress.callback, logger: progress.logger, say: (l) => progress.line(l),
  });
  io.out(JSON.stringify({ task: r.task, wallSeconds: Math.round(r.wallSeconds), before: r.metrics.before, after: r.metrics.after, run: r.config.data.replace(/\/data$/, "") }));
  return 0;
}
