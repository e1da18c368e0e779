/**
 * Command-line flags for the CLI: a small parser (`--name value`, `--name=value`, boolean `--flag`), usage errors
 * that exit 2 with a "did you mean", and the `train` flags derived from the configs' own field lists (one source of
 * truth): every `TrainingArguments` field (`--learning-rate` / `--learning_rate` → learningRate) and every
 * `LoraConfig` field (`--lora-alpha`, `--r`, `--target-modules q_proj,v_proj`), typed by their defaults.
 *
 *     const p = parseFlags(["data", "--max-steps", "5", "--lora-alpha=16"], trainFlagSpecs());
 *     p.positional; // ["data"]
 *     p.values;     // Map { "maxSteps" => 5, "loraAlpha" => 16 }
 */
import { TRAINING_ARGUMENTS_DEFAULTS, type TrainingArgumentsInit } from "../train/arguments.js";
import { LORA_CONFIG_FIELDS, type LoraConfigInit } from "../lora/config.js";
import { nearestName } from "../util/suggest.js";

/** A usage mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command = "") {
    super(message);
    this.name = "UsageError";
  }
}

export type FlagKind = "string" | "number" | "boolean" | "list";

export interface FlagSpec {
  /** The field this flag sets (camelCase), e.g. "learningRate"; CLI-only flags use their own name ("out"). */
  field: string;
  kind: FlagKind;
  /** Which config it belongs to. */
  group: "cli" | "trainingArguments" | "lora";
  help?: string;
}

/** learningRate → learning-rate. */
export const kebab = (camel: string): string => camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Fields whose default is null/undefined, typed here (the rest are typed by their default value). */
const TRAINING_UNSET_KINDS: Partial<Record<keyof TrainingArgumentsInit, FlagKind>> = {
  saveTotalLimit: "number", earlyStoppingPatience: "number", evalSteps: "number", dataSeed: "number", metricForBestModel: "string", greaterIsBetter: "boolean",
};

/** LoraConfig fields by kind (checked against LORA_CONFIG_FIELDS: adding a field there without a kind fails to compile). */
const LORA_KINDS = {
  r: "number", targetModules: "list", excludeModules: "list", loraAlpha: "number", loraDropout: "number", fanInFanOut: "boolean", bias: "string",
  useRslora: "boolean", modulesToSave: "list", initLoraWeights: "string", layersToTransform: "list", layersPattern: "list", rankPattern: "string",
  alphaPattern: "string", useDora: "boolean", taskType: "string", inferenceMode: "boolean", baseModelNameOrPath: "string", revision: "string",
} as const satisfies Record<(typeof LORA_CONFIG_FIELDS)[number], FlagKind>;

/** Not settable from the command line: the run directory decides them. */
const CLI_OWNED = new Set(["outputDir", "baseModelNameOrPath", "inferenceMode"]);

export function trainingFlagSpecs(): FlagSpec[] {
  return (Object.keys(TRAINING_ARGUMENTS_DEFAULTS) as (keyof TrainingArgumentsInit)[]).filter((k) => !CLI_OWNED.has(k)).map((field) => {
    const d = TRAINING_ARGUMENTS_DEFAULTS[field] as unknown;
    const kind: FlagKind = TRAINING_UNSET_KINDS[field] ?? (typeof d === "number" ? "number" : typeof d === "boolean" ? "boolean" : "string");
    return { field, kind, group: "trainingArguments" };
  });
}

export function loraFlagSpecs(): FlagSpec[] {
  return LORA_CONFIG_FIELDS.filter((k) => !CLI_OWNED.has(k)).map((field) => ({ field, kind: LORA_KINDS[field], group: "lora" as const }));
}

export interface Parsed {
  positional: string[];
  /** By field name. */
  values: Map<string, unknown>;
  /** Fields given on the command line, by group. */
  groups: { cli: Record<string, unknown>; trainingArguments: Record<string, unknown>; lora: Record<string, unknown> };
}

function convert(spec: FlagSpec, flag: string, raw: string): unknown {
  switch (spec.kind) {
    case "string":
      return raw;
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag}: expected a number; got ${JSON.stringify(raw)}`);
      return n;
    }
    case "boolean":
      if (raw === "true") return true;
      if (raw === "false") return false;
      throw new UsageError(`${flag}: expected true or false; got ${JSON.stringify(raw)}`);
    case "list": {
      const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
      return items.every((s) => /^-?\d+$/.test(s)) ? items.map(Number) : items;
    }
  }
}

/**
 * Parse `args` against `specs`. Accepts `--kebab-name`, `--snake_name` and `--camelName`; `-h`/`--help` set the
 * "help" value. Unknown flags throw a UsageError naming the nearest valid one.
 */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[], command = ""): Parsed {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(kebab(s.field), s);
    byName.set(kebab(s.field).replace(/-/g, "_"), s);
    byName.set(s.field, s);
  }
  const out: Parsed = { positional: [], values: new Map(), groups: { cli: {}, trainingArguments: {}, lora: {} } };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-h" || a === "--help") {
      out.values.set("help", true);
      continue;
    }
    if (!a.startsWith("--") || a === "--") {
      if (a.startsWith("-") && a.length > 1 && Number.isNaN(Number(a))) throw new UsageError(`unknown option ${a} (options are spelled --name)`, command);
      out.positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) {
      const near = nearestName(name, specs.map((s) => kebab(s.field)));
      throw new UsageError(`unknown option --${name}${near ? ` (did you mean --${near}?)` : ""}`, command);
    }
    let raw: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
    if (raw === undefined) {
      const next = args[i + 1];
      if (spec.kind === "boolean" && (next === undefined || (next !== "true" && next !== "false"))) raw = "true";
      else if (next === undefined || (next.startsWith("--") && spec.kind !== "number")) throw new UsageError(`--${name} needs a value`, command);
      else (raw = next), i++;
    }
    const v = convert(spec, `--${name}`, raw);
    out.values.set(spec.field, v);
    out.groups[spec.group][spec.field] = v;
  }
  return out;
}

/** `--learning-rate N`, … for help texts: the derived flags, wrapped. */
export function flagList(specs: readonly FlagSpec[], width = 100): string {
  const words = specs.map((s) => `--${kebab(s.field)}${s.kind === "boolean" ? "" : s.kind === "list" ? " A,B" : s.kind === "number" ? " N" : " S"}`);
  const lines: string[] = [];
  let line = "   ";
  for (const w of words) {
    if (line.length + w.length + 1 > width) (lines.push(line), (line = "   "));
    line += " " + w;
  }
  lines.push(line);
  return lines.join("\n");
}

export type { LoraConfigInit, TrainingArgumentsInit };
