/**
 * `LoraConfig`: PEFT's `LoraConfig` (peft/tuners/lora/config.py) with its field names in camelCase and its
 * defaults, validated once at construction. Unknown fields are rejected with the nearest valid name, so a Python
 * spelling (`lora_alpha`) or a typo never silently does nothing.
 *
 *     const cfg = new LoraConfig({ r: 16, loraAlpha: 32, loraDropout: 0.05, targetModules: ["q_proj", "v_proj"] });
 *     const same = LoraConfig.preset("maestro");              // roboflow/maestro's PaliGemma 2 LoRA
 *
 * `targetModules` follows PEFT exactly: a list matches a module whose name equals an entry or ends with
 * "." + entry; a string is a regular expression that must match the whole module name (`re.fullmatch`);
 * `"all-linear"` is every linear layer except the output layer (vision tower and projector included, as PEFT does
 * for PaliGemma). Only plain LoRA is supported: `bias: "none"`, no DoRA, no `fanInFanOut`.
 */
import { ConfigError } from "../config/errors.js";
import { nearestName } from "../util/suggest.js";

/** What `new LoraConfig(...)` accepts; every field optional, defaults as in PEFT 0.14. */
export interface LoraConfigInit {
  /** LoRA rank. Default 8. */
  r?: number;
  /** Modules to wrap: a list (exact name or "."-suffix), a regex string (full match), or "all-linear". Required by getPeftModel. */
  targetModules?: string[] | string | null;
  /** Modules never to wrap, same matching rules as `targetModules`. Default null. */
  excludeModules?: string[] | string | null;
  /** Scale numerator: scaling = loraAlpha / r (or / √r with useRslora). Default 8. */
  loraAlpha?: number;
  /** Dropout on the LoRA branch input while training. Default 0. */
  loraDropout?: number;
  /** Only `false` is supported (GPT-2 Conv1D layouts). */
  fanInFanOut?: boolean;
  /** Only `"none"` is supported (biases stay frozen). */
  bias?: "none" | "all" | "lora_only";
  /** Rank-stabilised scaling α/√r (Kalajdzievski 2023). Default false. */
  useRslora?: boolean;
  /** Extra modules trained in full and saved with the adapter (PEFT matches by plain name suffix). Default null. */
  modulesToSave?: string[] | null;
  /** true: A Kaiming-uniform, B zeros (default); "gaussian": A ~ N(0, 1/r), B zeros; false: B random too (tests). */
  initLoraWeights?: boolean | "gaussian";
  /** Only wrap layers with these indices (the number after `<layersPattern>.`). Default null (all). */
  layersToTransform?: number | number[] | null;
  /** Name(s) of the layer list, e.g. "layers". Needs layersToTransform. Default null (any). */
  layersPattern?: string | string[] | null;
  /** Per-module rank: regex key (matched against the module name's end) → r. Default {}. */
  rankPattern?: Record<string, number>;
  /** Per-module alpha, same keys as rankPattern. Default {}. */
  alphaPattern?: Record<string, number>;
  /** Only `false` is supported. */
  useDora?: boolean;
  /** Informational, saved to adapter_config.json (e.g. "CAUSAL_LM"). Default null. */
  taskType?: string | null;
  /** Frozen adapter (what PeftModel.fromPretrained gives unless isTrainable). Default false. */
  inferenceMode?: boolean;
  /** Saved to adapter_config.json. Default null. */
  baseModelNameOrPath?: string | null;
  /** Saved to adapter_config.json. Default null. */
  revision?: string | null;
}

export const LORA_CONFIG_FIELDS = [
  "r", "targetModules", "excludeModules", "loraAlpha", "loraDropout", "fanInFanOut", "bias", "useRslora",
  "modulesToSave", "initLoraWeights", "layersToTransform", "layersPattern", "rankPattern", "alphaPattern", "useDora",
  "taskType", "inferenceMode", "baseModelNameOrPath", "revision",
] as const satisfies readonly (keyof LoraConfigInit)[];

/** The projections roboflow/maestro (and the seed notebook) adapt in PaliGemma 2. */
export const PALIGEMMA_PROJECTIONS = ["q_proj", "o_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "down_proj"];

/**
 * Named presets (registry keyed by name).
 * - `maestro`: roboflow/maestro `paligemma_2/checkpoints.py` verbatim (r 8, α 16, dropout 0.05, the seven
 *   projections as a PEFT suffix list). As in Python, the suffixes q_proj/k_proj/v_proj also match SigLIP's
 *   attention projections, so the vision tower gets adapters too.
 * - `language-model`: the same hyper-parameters restricted to the Gemma 2 decoder with a PEFT regex
 *   (also valid in Python `target_modules=`).
 */
export const LORA_PRESETS: Readonly<Record<string, LoraConfigInit>> = {
  maestro: { r: 8, loraAlpha: 16, loraDropout: 0.05, bias: "none", targetModules: PALIGEMMA_PROJECTIONS, taskType: "CAUSAL_LM" },
  "language-model": {
    r: 8,
    loraAlpha: 16,
    loraDropout: 0.05,
    bias: "none",
    targetModules: `.*language_model.*\\.(${PALIGEMMA_PROJECTIONS.join("|")})`,
    taskType: "CAUSAL_LM",
  },
};

/** A Python regular expression (as PEFT gets it) compiled for a full match; `(?P<x>` becomes `(?<x>`. */
export function fullMatchRegExp(pattern: string, field: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern.replace(/\(\?P</g, "(?<")})$`);
  } catch (e) {
    throw new ConfigError({ field, value: pattern, fix: `not a valid regular expression (${(e as Error).message})` });
  }
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string" && s.length > 0);
const isNonNegInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

export class LoraConfig {
  readonly peftType = "LORA";
  readonly r: number;
  readonly targetModules: string[] | string | null;
  readonly excludeModules: string[] | string | null;
  readonly loraAlpha: number;
  readonly loraDropout: number;
  readonly fanInFanOut: false;
  readonly bias: "none";
  readonly useRslora: boolean;
  readonly modulesToSave: string[] | null;
  readonly initLoraWeights: boolean | "gaussian";
  readonly layersToTransform: number | number[] | null;
  readonly layersPattern: string | string[] | null;
  readonly rankPattern: Readonly<Record<string, number>>;
  readonly alphaPattern: Readonly<Record<string, number>>;
  readonly useDora: false;
  readonly taskType: string | null;
  readonly inferenceMode: boolean;
  readonly baseModelNameOrPath: string | null;
  readonly revision: string | null;

  /** Validate `init` (PEFT defaults for what is missing); throws ConfigError naming the field. */
  constructor(init: LoraConfigInit = {}) {
    if (typeof init !== "object" || init === null || Array.isArray(init)) {
      throw new ConfigError({ field: "(root)", value: init, fix: "pass an object of LoraConfig fields, e.g. { r: 8 }" });
    }
    for (const key of Object.keys(init)) {
      if (!(LORA_CONFIG_FIELDS as readonly string[]).includes(key)) {
        const near = nearestName(key, LORA_CONFIG_FIELDS);
        throw new ConfigError({ field: key, value: (init as Record<string, unknown>)[key], fix: `LoraConfig has no such field${near ? `; did you mean ${near}?` : ""} (valid fields: ${LORA_CONFIG_FIELDS.join(", ")})` });
      }
    }
    const fail = (field: string, fix: string): never => {
      throw new ConfigError({ field, value: (init as Record<string, unknown>)[field], fix });
    };
    const r = init.r ?? 8;
    if (!Number.isInteger(r) || r <= 0) fail("r", "the rank must be a positive integer (PEFT default 8)");
    const alpha = init.loraAlpha ?? 8;
    if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha <= 0) fail("loraAlpha", "use a positive number (PEFT default 8)");
    const dropout = init.loraDropout ?? 0;
    if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) fail("loraDropout", "use a probability in [0, 1)");
    if ((init.fanInFanOut ?? false) !== false) fail("fanInFanOut", "only false is supported (PaliGemma's linears are nn.Linear)");
    if ((init.bias ?? "none") !== "none") fail("bias", 'only "none" is supported (biases stay frozen); "all" and "lora_only" are not implemented');
    if ((init.useDora ?? false) !== false) fail("useDora", "DoRA is not supported; use false");
    for (const f of ["useRslora", "inferenceMode"] as const) {
      if (init[f] !== undefined && typeof init[f] !== "boolean") fail(f, "use true or false");
    }
    const initW = init.initLoraWeights ?? true;
    if (initW !== true && initW !== false && initW !== "gaussian") {
      fail("initLoraWeights", 'use true (Kaiming-uniform A, zero B), "gaussian" or false; other PEFT initialisations are not supported');
    }
    const checkTargets = (field: "targetModules" | "excludeModules"): string[] | string | null => {
      const v = init[field] ?? null;
      if (v === null) return null;
      if (typeof v === "string") {
        if (v.length === 0) fail(field, 'use a non-empty regex, "all-linear" or a list of module names');
        if (v.toLowerCase() !== "all-linear") fullMatchRegExp(v, field);
        return v;
      }
      if (!isStringList(v) || v.length === 0) fail(field, 'use a non-empty list of module names, a regex string or "all-linear"');
      return [...v];
    };
    const targetModules = checkTargets("targetModules");
    const excludeModules = checkTargets("excludeModules");
    const modulesToSave = init.modulesToSave ?? null;
    if (modulesToSave !== null && (!isStringList(modulesToSave) || modulesToSave.length === 0)) fail("modulesToSave", "use a non-empty list of module names, or null");
    const layers = init.layersToTransform ?? null;
    if (layers !== null && !isNonNegInt(layers) && !(Array.isArray(layers) && layers.length > 0 && layers.every(isNonNegInt))) {
      fail("layersToTransform", "use a layer index or a non-empty list of layer indices");
    }
    const pattern = init.layersPattern ?? null;
    if (pattern !== null && typeof pattern !== "string" && !isStringList(pattern)) fail("layersPattern", 'use a name like "layers" or a list of names');
    // PEFT LoraConfig.__post_init__ rules
    if (typeof targetModules === "string" && layers !== null) fail("layersToTransform", "cannot be used when targetModules is a regex string (PEFT rule); use a list");
    if (typeof targetModules === "string" && pattern !== null) fail("layersPattern", "cannot be used when targetModules is a regex string (PEFT rule)");
    if (pattern !== null && pattern.length > 0 && layers === null) fail("layersPattern", "needs layersToTransform too (PEFT rule)");
    const checkPattern = (field: "rankPattern" | "alphaPattern"): Record<string, number> => {
      const v = init[field] ?? {};
      if (typeof v !== "object" || v === null || Array.isArray(v)) fail(field, "use an object { moduleNameRegex: number }");
      for (const [k, n] of Object.entries(v)) {
        fullMatchRegExp(k, `${field}.${k}`);
        const ok = field === "rankPattern" ? Number.isInteger(n) && n > 0 : typeof n === "number" && Number.isFinite(n) && n > 0;
        if (!ok) throw new ConfigError({ field: `${field}.${k}`, value: n, fix: field === "rankPattern" ? "use a positive integer rank" : "use a positive number" });
      }
      return { ...v };
    };
    for (const f of ["taskType", "baseModelNameOrPath", "revision"] as const) {
      if (init[f] !== undefined && init[f] !== null && typeof init[f] !== "string") fail(f, "use a string or null");
    }
    this.r = r;
    this.targetModules = targetModules;
    this.excludeModules = excludeModules;
    this.loraAlpha = alpha;
    this.loraDropout = dropout;
    this.fanInFanOut = false;
    this.bias = "none";
    this.useRslora = init.useRslora ?? false;
    this.modulesToSave = modulesToSave === null ? null : [...modulesToSave];
    this.initLoraWeights = initW;
    this.layersToTransform = Array.isArray(layers) ? [...layers] : layers;
    this.layersPattern = Array.isArray(pattern) ? [...pattern] : pattern;
    this.rankPattern = checkPattern("rankPattern");
    this.alphaPattern = checkPattern("alphaPattern");
    this.useDora = false;
    this.taskType = init.taskType ?? null;
    this.inferenceMode = init.inferenceMode ?? false;
    this.baseModelNameOrPath = init.baseModelNameOrPath ?? null;
    this.revision = init.revision ?? null;
  }

  /** A named preset (see LORA_PRESETS), optionally with fields overridden. Unknown names list the valid ones. */
  static preset(name: string, overrides: LoraConfigInit = {}): LoraConfig {
    const base = LORA_PRESETS[name];
    if (!base) {
      throw new ConfigError({ field: "preset", value: name, fix: `use one of ${Object.keys(LORA_PRESETS).map((k) => JSON.stringify(k)).join(", ")}` });
    }
    return new LoraConfig({ ...base, ...overrides });
  }

  /** The fields as a plain object (what `new LoraConfig` accepts). */
  toInit(): LoraConfigInit {
    const out: Record<string, unknown> = {};
    for (const f of LORA_CONFIG_FIELDS) out[f] = structuredClone(this[f]);
    return out as LoraConfigInit;
  }

  /** A copy with some fields replaced (validated again). */
  with(overrides: LoraConfigInit): LoraConfig {
    return new LoraConfig({ ...this.toInit(), ...overrides });
  }

  /** The scale applied to B·A for a module of rank r and alpha α: α/r, or α/√r with useRslora. */
  scaling(r = this.r, alpha = this.loraAlpha): number {
    return this.useRslora ? alpha / Math.sqrt(r) : alpha / r;
  }
}
