/**
 * `TrainingArguments`: Hugging Face `transformers.TrainingArguments` (4.47) names in camelCase, with HF's defaults,
 * validated once at construction. Unknown fields are rejected with the nearest valid name (a Python user's
 * `learning_rate` is told `learningRate`; the seed notebook's silent `bnb_4bit_compute_type`-style typos throw).
 *
 *     const args = new TrainingArguments({ outputDir: "out", learningRate: 2e-5, gradientAccumulationSteps: 16,
 *       warmupSteps: 2, weightDecay: 1e-6, saveTotalLimit: 1 });
 *     args.perDeviceTrainBatchSize; // 8 (HF default)
 *
 * Errors are `ConfigError`s: `TrainingArguments: field learningRate: got -1; expected a number > 0`.
 */
import { ConfigError } from "../config/errors.js";
import { nearestName } from "../util/suggest.js";

export type SchedulerType = "linear" | "cosine" | "constant" | "constant_with_warmup";
export type IntervalStrategy = "no" | "steps" | "epoch";
/** HF `log_level` names. "passive" (default) and "debug"/"info" print the Trainer's log lines; "warning" keeps only warnings; "error"/"critical" silence both. */
export type LogLevel = "passive" | "debug" | "info" | "warning" | "error" | "critical";
export const LOG_LEVELS: readonly LogLevel[] = ["passive", "debug", "info", "warning", "error", "critical"];

/** Every field, all optional; what users pass. */
export interface TrainingArgumentsInit {
  /** Where checkpoints (`checkpoint-N/`) go. Default "trainer_output" (HF ≥ 4.50's default; 4.47 required it). */
  outputDir?: string;
  /** Epochs when `maxSteps` ≤ 0; fractional values stop mid-epoch (HF). Default 3. */
  numTrainEpochs?: number;
  /** Optimizer steps to take; overrides `numTrainEpochs` when > 0. Default -1. */
  maxSteps?: number;
  perDeviceTrainBatchSize?: number; // default 8
  perDeviceEvalBatchSize?: number; // default 8
  /** Micro-batches summed into one optimizer step. Default 1. */
  gradientAccumulationSteps?: number;
  learningRate?: number; // default 5e-5
  /** Decoupled (AdamW) weight decay; never applied to biases and norm weights. Default 0. */
  weightDecay?: number;
  adamBeta1?: number; // default 0.9
  adamBeta2?: number; // default 0.999
  adamEpsilon?: number; // default 1e-8
  /** Global L2 norm the gradients are clipped to (torch `clip_grad_norm_`); 0 disables. Default 1.0. */
  maxGradNorm?: number;
  lrSchedulerType?: SchedulerType; // default "linear"
  /** Warmup as a fraction of the total steps (used when warmupSteps is 0). Default 0. */
  warmupRatio?: number;
  warmupSteps?: number; // default 0
  loggingStrategy?: IntervalStrategy; // default "steps"
  loggingSteps?: number; // default 500
  loggingFirstStep?: boolean; // default false
  evalStrategy?: IntervalStrategy; // default "no"
  /** Default: loggingSteps (HF). */
  evalSteps?: number;
  saveStrategy?: IntervalStrategy; // default "steps"
  saveSteps?: number; // default 500
  /** Keep at most this many checkpoints (oldest deleted first; never the best with loadBestModelAtEnd). */
  saveTotalLimit?: number | null;
  loadBestModelAtEnd?: boolean; // default false
  /** Metric that picks the best checkpoint ("loss" → eval_loss). Default "loss" when loadBestModelAtEnd. */
  metricForBestModel?: string;
  /** Default: false for metrics ending in "loss", true otherwise (HF). */
  greaterIsBetter?: boolean;
  /** Stop after this many evaluations without improvement (HF `EarlyStoppingCallback`). Default: off. */
  earlyStoppingPatience?: number | null;
  /** How much better than the best a metric must be to count as an improvement. Default 0. */
  earlyStoppingThreshold?: number;
  seed?: number; // default 42
  /** Seed of the data order; default `seed`. */
  dataSeed?: number;
  dataloaderDropLast?: boolean; // default false
  /** Optimizer: only "adamw_torch" (torch.optim.AdamW semantics; "adamw_hf" is accepted as its alias). */
  optim?: "adamw_torch" | "adamw_hf";
  /** `predict()`/metrics: new tokens per generated answer. Default 32. */
  generationMaxNewTokens?: number;
  /** `predict()`/metrics: beams (1 = greedy). Default 1. */
  generationNumBeams?: number;
  /**
   * HF `log_level`: "passive" (default) prints HF-style lines (`{'loss': 2.1, 'grad_norm': …}`) at each log and
   * evaluation; "warning" prints only warnings (e.g. the image-gap warning); "error"/"critical" print nothing.
   */
  logLevel?: LogLevel;
  /** HF `disable_tqdm`: true stops the Trainer's progress events (`onProgress`), so no bar is drawn. Default false. */
  disableTqdm?: boolean;
  /**
   * The health signal (not an HF field): at every evaluation also compute the eval loss with each example's image
   * replaced by the next example's (images shuffled across the eval set), and log `eval_image_gap` =
   * shuffled − true loss. A gap ≈ 0 after warm-up means the model does not use the image; the Trainer warns.
   * Costs one more teacher-forced pass over the eval set. Default false.
   */
  evalImageGap?: boolean;
  // Accepted for line-by-line ports of HF notebooks; they change nothing here (see IGNORED below).
  removeUnusedColumns?: boolean;
  dataloaderPinMemory?: boolean;
  reportTo?: string | string[];
  bf16?: boolean;
  fp16?: boolean;
}

export type TrainingArgumentsFields = Required<Omit<TrainingArgumentsInit, "saveTotalLimit" | "earlyStoppingPatience" | "metricForBestModel" | "greaterIsBetter" | "evalSteps" | "dataSeed" | "reportTo">> & {
  saveTotalLimit: number | null;
  earlyStoppingPatience: number | null;
  metricForBestModel: string | null;
  greaterIsBetter: boolean | null;
  evalSteps: number;
  dataSeed: number;
  reportTo: string | string[];
};

/** HF 4.47 defaults (transformers/training_args.py). */
export const TRAINING_ARGUMENTS_DEFAULTS = {
  outputDir: "trainer_output",
  numTrainEpochs: 3,
  maxSteps: -1,
  perDeviceTrainBatchSize: 8,
  perDeviceEvalBatchSize: 8,
  gradientAccumulationSteps: 1,
  learningRate: 5e-5,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  maxGradNorm: 1.0,
  lrSchedulerType: "linear",
  warmupRatio: 0,
  warmupSteps: 0,
  loggingStrategy: "steps",
  loggingSteps: 500,
  loggingFirstStep: false,
  evalStrategy: "no",
  evalSteps: undefined,
  saveStrategy: "steps",
  saveSteps: 500,
  saveTotalLimit: null,
  loadBestModelAtEnd: false,
  metricForBestModel: undefined,
  greaterIsBetter: undefined,
  earlyStoppingPatience: null,
  earlyStoppingThreshold: 0,
  seed: 42,
  dataSeed: undefined,
  dataloaderDropLast: false,
  optim: "adamw_torch",
  generationMaxNewTokens: 32,
  generationNumBeams: 1,
  logLevel: "passive",
  disableTqdm: false,
  evalImageGap: false,
  removeUnusedColumns: true,
  dataloaderPinMemory: true,
  reportTo: "none",
  bf16: false,
  fp16: false,
} as const satisfies Record<keyof TrainingArgumentsInit, unknown>;

export const TRAINING_ARGUMENT_NAMES = Object.keys(TRAINING_ARGUMENTS_DEFAULTS) as (keyof TrainingArgumentsInit)[];

/** HF fields accepted so ported code runs, with why they change nothing (documentation, and `ignoredFields`). */
export const IGNORED_FIELDS: Partial<Record<keyof TrainingArgumentsInit, string>> = {
  removeUnusedColumns: "the collator builds exactly the model inputs",
  dataloaderPinMemory: "there is no pinned host memory in TF.js",
  reportTo: "training events go to Trainer callbacks / trainer.events(); notebooks render them",
};

const SCHEDULERS: readonly SchedulerType[] = ["linear", "cosine", "constant", "constant_with_warmup"];
const STRATEGIES: readonly IntervalStrategy[] = ["no", "steps", "epoch"];
const FILE = "TrainingArguments";

function fail(field: string, value: unknown, fix: string): never {
  throw new ConfigError({ field, value, fix, file: FILE });
}

function num(field: string, v: unknown, o: { int?: boolean; min?: number; gt?: number; max?: number; lt?: number }): number {
  const what = o.int ? "an integer" : "a number";
  const bounds = [o.gt !== undefined ? `> ${o.gt}` : o.min !== undefined ? `≥ ${o.min}` : "", o.lt !== undefined ? `< ${o.lt}` : o.max !== undefined ? `≤ ${o.max}` : ""]
    .filter(Boolean).join(" and ");
  const fix = `expected ${what}${bounds ? " " + bounds : ""}`;
  if (typeof v !== "number" || !Number.isFinite(v)) fail(field, v, fix);
  if (o.int && !Number.isInteger(v)) fail(field, v, fix);
  if ((o.min !== undefined && v < o.min) || (o.gt !== undefined && v <= o.gt)) fail(field, v, fix);
  if ((o.max !== undefined && v > o.max) || (o.lt !== undefined && v >= o.lt)) fail(field, v, fix);
  return v;
}

function oneOf<T extends string>(field: string, v: unknown, valid: readonly T[]): T {
  if (typeof v === "string" && (valid as readonly string[]).includes(v)) return v as T;
  const near = typeof v === "string" ? nearestName(v, valid) : undefined;
  fail(field, v, `use one of ${valid.map((s) => `"${s}"`).join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`);
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== "boolean") fail(field, v, "expected true or false");
  return v;
}

/**
 * Validated training arguments. Every field is filled (HF defaults); derived defaults (evalSteps, dataSeed,
 * metricForBestModel, greaterIsBetter) are resolved as HF's `__post_init__` does.
 */
export class TrainingArguments implements TrainingArgumentsFields {
  readonly outputDir!: string;
  readonly numTrainEpochs!: number;
  readonly maxSteps!: number;
  readonly perDeviceTrainBatchSize!: number;
  readonly perDeviceEvalBatchSize!: number;
  readonly gradientAccumulationSteps!: number;
  readonly learningRate!: number;
  readonly weightDecay!: number;
  readonly adamBeta1!: number;
  readonly adamBeta2!: number;
  readonly adamEpsilon!: number;
  readonly maxGradNorm!: number;
  readonly lrSchedulerType!: SchedulerType;
  readonly warmupRatio!: number;
  readonly warmupSteps!: number;
  readonly loggingStrategy!: IntervalStrategy;
  readonly loggingSteps!: number;
  readonly loggingFirstStep!: boolean;
  readonly evalStrategy!: IntervalStrategy;
  readonly evalSteps!: number;
  readonly saveStrategy!: IntervalStrategy;
  readonly saveSteps!: number;
  readonly saveTotalLimit!: number | null;
  readonly loadBestModelAtEnd!: boolean;
  readonly metricForBestModel!: string | null;
  readonly greaterIsBetter!: boolean | null;
  readonly earlyStoppingPatience!: number | null;
  readonly earlyStoppingThreshold!: number;
  readonly seed!: number;
  readonly dataSeed!: number;
  readonly dataloaderDropLast!: boolean;
  readonly optim!: "adamw_torch" | "adamw_hf";
  readonly generationMaxNewTokens!: number;
  readonly generationNumBeams!: number;
  readonly logLevel!: LogLevel;
  readonly disableTqdm!: boolean;
  readonly evalImageGap!: boolean;
  readonly removeUnusedColumns!: boolean;
  readonly dataloaderPinMemory!: boolean;
  readonly reportTo!: string | string[];
  readonly bf16!: boolean;
  readonly fp16!: boolean;

  constructor(init: TrainingArgumentsInit | TrainingArguments = {}) {
    if (init === null || typeof init !== "object" || Array.isArray(init)) fail("(root)", init, "pass an object of training arguments");
    for (const key of Object.keys(init)) {
      if (!(TRAINING_ARGUMENT_NAMES as string[]).includes(key)) {
        const near = nearestName(key, TRAINING_ARGUMENT_NAMES);
        fail(key, (init as Record<string, unknown>)[key],
          `unknown field${near ? `; did you mean ${near}?` : ""} (valid fields: ${TRAINING_ARGUMENT_NAMES.join(", ")})`);
      }
    }
    const v = { ...TRAINING_ARGUMENTS_DEFAULTS, ...(init as Record<string, unknown>) } as Record<keyof TrainingArgumentsInit, unknown>;
    for (const k of Object.keys(v) as (keyof TrainingArgumentsInit)[]) if (v[k] === undefined) v[k] = (TRAINING_ARGUMENTS_DEFAULTS as Record<string, unknown>)[k];
    const self = this as unknown as Record<string, unknown>;
    if (typeof v.outputDir !== "string" || v.outputDir === "") fail("outputDir", v.outputDir, "expected a directory path");
    self.outputDir = v.outputDir;
    self.numTrainEpochs = num("numTrainEpochs", v.numTrainEpochs, { gt: 0 });
    self.maxSteps = num("maxSteps", v.maxSteps, { int: true, min: -1 });
    if (v.maxSteps === 0) fail("maxSteps", 0, "use a positive number of steps, or -1 to train for numTrainEpochs");
    self.perDeviceTrainBatchSize = num("perDeviceTrainBatchSize", v.perDeviceTrainBatchSize, { int: true, min: 1 });
    self.perDeviceEvalBatchSize = num("perDeviceEvalBatchSize", v.perDeviceEvalBatchSize, { int: true, min: 1 });
    self.gradientAccumulationSteps = num("gradientAccumulationSteps", v.gradientAccumulationSteps, { int: true, min: 1 });
    self.learningRate = num("learningRate", v.learningRate, { min: 0 });
    self.weightDecay = num("weightDecay", v.weightDecay, { min: 0 });
    self.adamBeta1 = num("adamBeta1", v.adamBeta1, { min: 0, lt: 1 });
    self.adamBeta2 = num("adamBeta2", v.adamBeta2, { min: 0, lt: 1 });
    self.adamEpsilon = num("adamEpsilon", v.adamEpsilon, { min: 0 });
    self.maxGradNorm = num("maxGradNorm", v.maxGradNorm, { min: 0 });
    self.lrSchedulerType = oneOf("lrSchedulerType", v.lrSchedulerType, SCHEDULERS);
    self.warmupRatio = num("warmupRatio", v.warmupRatio, { min: 0, max: 1 });
    self.warmupSteps = num("warmupSteps", v.warmupSteps, { int: true, min: 0 });
    if ((self.maxSteps as number) > 0 && (self.warmupSteps as number) > (self.maxSteps as number)) {
      // the learning rate would never reach learningRate (HF accepts it silently)
      fail("warmupSteps", self.warmupSteps, `at most maxSteps (${self.maxSteps as number}); the learning rate would never reach learningRate. Lower warmupSteps or use warmupRatio`);
    }
    self.loggingStrategy = oneOf("loggingStrategy", v.loggingStrategy, STRATEGIES);
    self.loggingSteps = num("loggingSteps", v.loggingSteps, { int: true, min: 1 });
    self.loggingFirstStep = bool("loggingFirstStep", v.loggingFirstStep);
    self.evalStrategy = oneOf("evalStrategy", v.evalStrategy, STRATEGIES);
    self.evalSteps = v.evalSteps === undefined ? this.loggingSteps : num("evalSteps", v.evalSteps, { int: true, min: 1 });
    self.saveStrategy = oneOf("saveStrategy", v.saveStrategy, STRATEGIES);
    self.saveSteps = num("saveSteps", v.saveSteps, { int: true, min: 1 });
    self.saveTotalLimit = v.saveTotalLimit === null ? null : num("saveTotalLimit", v.saveTotalLimit, { int: true, min: 1 });
    self.loadBestModelAtEnd = bool("loadBestModelAtEnd", v.loadBestModelAtEnd);
    self.earlyStoppingPatience = v.earlyStoppingPatience === null ? null : num("earlyStoppingPatience", v.earlyStoppingPatience, { int: true, min: 1 });
    self.earlyStoppingThreshold = num("earlyStoppingThreshold", v.earlyStoppingThreshold, { min: 0 });
    let metric = v.metricForBestModel ?? undefined; // null (from toJSON) = unset
    if (metric === undefined && (this.loadBestModelAtEnd || this.earlyStoppingPatience !== null)) metric = "loss";
    if (metric !== undefined && (typeof metric !== "string" || metric === "")) fail("metricForBestModel", metric, 'expected a metric name such as "loss" or "eval_accuracy"');
    self.metricForBestModel = metric ?? null;
    if (v.greaterIsBetter !== undefined && v.greaterIsBetter !== null) self.greaterIsBetter = bool("greaterIsBetter", v.greaterIsBetter);
    else self.greaterIsBetter = metric === undefined ? null : !(metric as string).endsWith("loss");
    self.seed = num("seed", v.seed, { int: true, min: 0 });
    self.dataSeed = v.dataSeed === undefined ? this.seed : num("dataSeed", v.dataSeed, { int: true, min: 0 });
    self.dataloaderDropLast = bool("dataloaderDropLast", v.dataloaderDropLast);
    self.optim = oneOf("optim", v.optim, ["adamw_torch", "adamw_hf"] as const);
    self.generationMaxNewTokens = num("generationMaxNewTokens", v.generationMaxNewTokens, { int: true, min: 1 });
    self.generationNumBeams = num("generationNumBeams", v.generationNumBeams, { int: true, min: 1 });
    self.logLevel = oneOf("logLevel", v.logLevel, LOG_LEVELS);
    self.disableTqdm = bool("disableTqdm", v.disableTqdm);
    self.evalImageGap = bool("evalImageGap", v.evalImageGap);
    self.removeUnusedColumns = bool("removeUnusedColumns", v.removeUnusedColumns);
    self.dataloaderPinMemory = bool("dataloaderPinMemory", v.dataloaderPinMemory);
    if (typeof v.reportTo !== "string" && !(Array.isArray(v.reportTo) && v.reportTo.every((s) => typeof s === "string"))) {
      fail("reportTo", v.reportTo, 'expected a string or a list of strings (it is ignored here: use Trainer callbacks)');
    }
    self.reportTo = v.reportTo;
    self.bf16 = bool("bf16", v.bf16);
    self.fp16 = bool("fp16", v.fp16);
    if (this.bf16 || this.fp16) {
      fail(this.bf16 ? "bf16" : "fp16", true, "TF.js trains in float32 here; remove it (QLoRA's 4-bit storage is quantizeModel(), not a training flag)");
    }
    this.checkConsistency();
    Object.freeze(this);
  }

  /** Cross-field rules of HF's `__post_init__`, plus the ones early stopping needs. */
  private checkConsistency(): void {
    if (this.loadBestModelAtEnd) {
      if (this.evalStrategy === "no") fail("evalStrategy", this.evalStrategy, 'loadBestModelAtEnd needs evaluations: set evalStrategy to "steps" or "epoch"');
      if (this.saveStrategy !== this.evalStrategy) {
        fail("saveStrategy", this.saveStrategy, `loadBestModelAtEnd needs saveStrategy equal to evalStrategy ("${this.evalStrategy}")`);
      }
      if (this.evalStrategy === "steps" && this.saveSteps % this.evalSteps !== 0) {
        fail("saveSteps", this.saveSteps, `loadBestModelAtEnd needs saveSteps to be a multiple of evalSteps (${this.evalSteps})`);
      }
    }
    if (this.earlyStoppingPatience !== null && this.evalStrategy === "no") {
      fail("earlyStoppingPatience", this.earlyStoppingPatience, 'early stopping needs evaluations: set evalStrategy to "steps" or "epoch"');
    }
  }

  /** Warmup steps for a run of `totalSteps` optimizer steps (HF `get_warmup_steps`). */
  warmupStepsFor(totalSteps: number): number {
    return this.warmupSteps > 0 ? this.warmupSteps : Math.ceil(totalSteps * this.warmupRatio);
  }

  /** Plain JSON (camelCase) of every field: what `training_args.json` in a checkpoint holds. */
  toJSON(): TrainingArgumentsFields {
    const out: Record<string, unknown> = {};
    for (const k of TRAINING_ARGUMENT_NAMES) out[k] = (this as unknown as Record<string, unknown>)[k];
    return out as TrainingArgumentsFields;
  }

  /** A copy with some fields changed (validated again). */
  with(changes: TrainingArgumentsInit): TrainingArguments {
    return new TrainingArguments({ ...this.toJSON(), ...changes } as TrainingArgumentsInit);
  }
}
