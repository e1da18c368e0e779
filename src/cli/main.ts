#!/usr/bin/env node
/**
 * The `paligemma-ts` command line. Commands:
 *   job       the main job (`npm start`): synthetic data → nano model → LoRA → metrics before/after → runs/<time>/
 *   train     fine-tune on a dataset folder into a run directory
 *   predict   generate for images with a run or a model
 *   evaluate  score a run or a model on a dataset split
 *   report    write a run's report.html
 *   plan      the memory plan of fine-tuning a model (no weight read)
 *   data      synthetic datasets, validation, description, conversion (src/cli/data.ts)
 *   smoke     end-to-end check of the model path on this machine
 * `--help`/`-h` at every level; usage errors exit 2, failures 1. Commands load their modules on demand, so
 * `data ...` and `--help` never pay for loading TensorFlow.js.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import { UsageError } from "./args.js";
import { nearestName } from "../util/suggest.js";

export const USAGE = `usage: paligemma-ts <command> [options]     (paligemma-ts <command> --help for each)

  job        the main job (npm start): synthetic data → nano pretrained model → metrics before → LoRA fine-tune with
             eval on valid → metrics after → runs/<timestamp>/ (adapter, report.json, report.html)
  train      fine-tune DATA_DIR into a run directory (LoRA, QLoRA, freeze or full; TrainingArguments/LoraConfig flags)
  predict    generate for IMAGE... with a run directory or a model
  evaluate   score a run or a model on a dataset split (JSON metrics or mAP)
  report     write RUN_DIR/report.html from its report.json
  plan       the memory plan of fine-tuning MODEL_DIR (weights, LoRA/AdamW state, activations, peak, limit)
  data       synth | validate | describe | convert datasets
  smoke      end-to-end check of the model path on this machine

  example: paligemma-ts train pallets --out runs/pallets --model nano --max-steps 40`;

const SMOKE_USAGE = `usage: paligemma-ts smoke [--backend tensorflow|wasm|cpu] [--golden DIR]

  Loads a golden checkpoint, runs forward and generate, and compares with the reference outputs.

  example: paligemma-ts smoke --backend wasm`;

const COMMANDS = ["job", "train", "predict", "evaluate", "report", "plan", "data", "smoke", "help"];

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) throw new UsageError(`${name} needs a value`, "smoke");
  return v;
}

async function smokeCommand(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) return process.stdout.write(SMOKE_USAGE + "\n"), 0;
  const { BACKEND_NAMES } = await import("../backend/select.js");
  const backend = flag(args, "--backend");
  if (backend && !(BACKEND_NAMES as readonly string[]).includes(backend)) throw new UsageError(`--backend: unknown backend "${backend}"; use one of ${BACKEND_NAMES.join(", ")}`, "smoke");
  const here = dirname(fileURLToPath(import.meta.url)); // dist/src/cli
  const golden = flag(args, "--golden") ?? resolve(here, "..", "..", "..", "test", "fixtures", "golden", "paligemma2-tiny");
  const { smoke } = await import("./smoke.js");
  await smoke({ backend: backend as never, golden });
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) {
    process.stderr.write(USAGE + "\n");
    return 2;
  }
  if (cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const c = await import("./commands.js");
  switch (cmd) {
    case "data": {
      const { runData } = await import("./data.js");
      return runData(args);
    }
    case "smoke":
      return smokeCommand(args);
    case "job":
      return c.jobCommand(args);
    case "train":
      return c.trainCommand(args);
    case "predict":
      return c.predictCommand(args);
    case "evaluate":
      return c.evaluateCommand(args);
    case "report":
      return c.reportCommand(args);
    case "plan":
      return c.planCommand(args);
  }
  const near = nearestName(cmd, COMMANDS);
  throw new UsageError(`unknown command "${cmd}"${near ? ` (did you mean "${near}"?)` : ""}`);
}

const USAGES: Record<string, () => Promise<string>> = {
  job: async () => (await import("./commands.js")).JOB_USAGE,
  train: async () => (await import("./commands.js")).TRAIN_USAGE,
  predict: async () => (await import("./commands.js")).PREDICT_USAGE,
  evaluate: async () => (await import("./commands.js")).EVALUATE_USAGE,
  report: async () => (await import("./commands.js")).REPORT_USAGE,
  plan: async () => (await import("./commands.js")).PLAN_USAGE,
  smoke: async () => SMOKE_USAGE,
};

const invokedPath = (() => {
  try {
    return process.argv[1] ? realpathSync(process.argv[1]) : "";
  } catch {
    return "";
  }
})();
if (invokedPath === realpathSync(fileURLToPath(import.meta.url))) { // run as the bin (also through npm's symlink), not imported
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    async (e: Error) => {
      if (e instanceof UsageError) {
        const usage = USAGES[e.command] ? await USAGES[e.command]!() : USAGE;
        process.stderr.write(`paligemma-ts${e.command ? ` ${e.command}` : ""}: ${e.message}\n\n${usage.split("\n")[0]}\n(paligemma-ts ${e.command ? e.command + " " : ""}--help for more)\n`);
        process.exit(2);
      }
      process.stderr.write(`paligemma-ts: ${e.message}\n`);
      process.exit(1);
    },
  );
}
