/**
 * `getPeftModel` and `PeftModel`: PEFT's `get_peft_model` / `PeftModel` (peft/peft_model.py, tuners/lora/model.py)
 * for PaliGemma in TF.js. LoRA layers are put into the model's linear slots (the injection point), every base
 * parameter is frozen, and only the adapters (plus full copies of `modulesToSave`) train.
 *
 *     const peft = getPeftModel(model, LoraConfig.preset("maestro"), { seed: 0 });
 *     peft.printTrainableParameters(); // trainable params: 11,876,352 || all params: … || trainable%: 0.3920
 *     peft.train();                    // LoRA dropout on; eval() turns it off (generate() always runs in eval)
 *     const { loss } = peft.forward(batch);
 *     await peft.savePretrained("out/adapter"); // adapter_config.json + adapter_model.safetensors (PEFT layout)
 *
 * Parameter names are PEFT's in-memory names: `base_model.model.<module>.lora_A.default.weight` for adapters (held
 * here as [in, r] / [r, out], the transposes of PEFT's [r, in] / [out, r]), `….base_layer.weight` for a wrapped
 * linear's frozen weight, `….modules_to_save.default.…` / `….original_module.…` for modules to save, and
 * `base_model.model.<HF name>` for everything else.
 */
import { tf } from "../tf.js";
import type { PaliGemmaConfig } from "../config/types.js";
import type { LinearSlot } from "../model/paligemma.js";
import type { ForwardInputs } from "../model/inputs.js";
import type { ForwardOptions, ForwardOutput, TrainableModel } from "../model/trainable.js";
import type { GenerateInputs, GenerateOptions, GenerateOutput } from "../generate/generate.js";
import { Linear } from "../model/linear.js";
import { QuantLinear } from "../quant/quant-linear.js";
import { ConfigError } from "../config/errors.js";
import { LoraConfig } from "./config.js";
import { resolveTargets } from "./targets.js";
import { abridgeModuleNames } from "../util/list-some.js";
import { LoraLinear } from "./lora-linear.js";
import { PEFT_PREFIX, inAdapterConfig, readAdapterDir, readAdapterWeights, writeAdapterFiles } from "./adapter-files.js";

export { PEFT_PREFIX };

/** What getPeftModel needs from a model: PaliGemmaForConditionalGeneration has it. */
export interface PeftBaseModel extends TrainableModel {
  namedLinears(): LinearSlot[];
  readonly training: boolean;
  train(mode?: boolean): unknown;
  eval(): unknown;
  setTrainingSeed(seed: number): void;
  /** The loss alone, cheaper than forward (PaliGemmaForConditionalGeneration.computeLoss); optional. */
  computeLoss?(inputs: ForwardInputs): tf.Scalar;
}

export interface GetPeftModelOptions {
  /** Seed of the adapters' random initialisation and of the dropout stream. Default 0. */
  seed?: number;
}

/** Every module name implied by parameter names (all dotted prefixes), in first-seen order. */
export function moduleNamesOf(paramNames: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const p of paramNames) {
    const parts = p.split(".");
    for (let i = 1; i < parts.length; i++) out.add(parts.slice(0, i).join("."));
  }
  return [...out];
}

/** PEFT `_set_trainable` matching for modules_to_save: a module whose name ends with the key (no "." rule). */
function modulesToSaveParams(keys: string[], params: Map<string, tf.Variable>, targets: string[]): { modules: string[]; params: string[] } {
  const modules = moduleNamesOf(params.keys());
  const chosen = new Set<string>();
  keys.forEach((key, i) => {
    const hits = modules.filter((m) => m.endsWith(key));
    if (hits.length === 0) {
      throw new ConfigError({ field: `modulesToSave[${i}]`, value: key, fix: `matches no module (PEFT: a module whose name ends with it); modules here: ${abridgeModuleNames(modules, 20)}` });
    }
    hits.forEach((h) => chosen.add(h));
  });
  const names = [...params.keys()].filter((p) => [...chosen].some((m) => p.startsWith(`${m}.`)));
  const clash = targets.find((t) => names.some((p) => p.startsWith(`${t}.`)));
  if (clash !== undefined) throw new ConfigError({ field: "modulesToSave", value: keys, fix: `${clash} is also a LoRA target; a module is either adapted or saved whole` });
  return { modules: [...chosen], params: names };
}

export class PeftModel implements TrainableModel {
  readonly config: PaliGemmaConfig;
  private readonly layers = new Map<string, LoraLinear>();
  private readonly slots = new Map<string, LinearSlot>();
  /** modulesToSave: parameter name → frozen copy of its original value (the live variable trains). */
  private readonly originals = new Map<string, tf.Variable>();
  private readonly savedModules: string[] = [];
  private unloaded = false;
  /** Base parameters' trainable flags before wrapping, restored by unload/mergeAndUnload. */
  private readonly flagsBefore = new Map<tf.Variable, boolean>();

  /** Use {@link getPeftModel} or {@link PeftModel.fromPretrained}. */
  constructor(
    readonly baseModel: PeftBaseModel,
    /** The config in effect (`"all-linear"` written out as module names). */
    readonly peftConfig: LoraConfig,
    options: GetPeftModelOptions = {},
  ) {
    const seed = options.seed ?? 0;
    this.config = baseModel.config;
    baseModel.eval(); // a new PeftModel starts in eval mode (dropout off) until train()
    baseModel.setTrainingSeed(seed);
    const params = baseModel.namedParameters();
    const slots = baseModel.namedLinears();
    const linearNames = slots.map((s) => s.name);
    const already = slots.find((s) => s.get() instanceof LoraLinear);
    if (already) throw new Error(`getPeftModel: ${already.name} already holds a LoRA layer; call mergeAndUnload() or unload() on the existing PeftModel first`);
    const { targets } = resolveTargets(peftConfig, linearNames, [...new Set([...moduleNamesOf(params.keys()), ...linearNames])]);
    const saved = peftConfig.modulesToSave ? modulesToSaveParams(peftConfig.modulesToSave, params, targets.map((t) => t.name)) : null;
    for (const v of params.values()) this.flagsBefore.set(v, v.trainable);
    for (const v of params.values()) v.trainable = false; // PEFT _mark_only_adapters_as_trainable
    targets.forEach((t, i) => {
      const slot = slots.find((s) => s.name === t.name)!;
      const lora = new LoraLinear(slot.get(), {
        r: t.r,
        alpha: t.alpha,
        dropout: peftConfig.loraDropout,
        useRslora: peftConfig.useRslora,
        init: peftConfig.initLoraWeights,
        seed: seed * 100_003 + 2 * i,
        dropoutStream: i, // masks come from the base model's forward context (model/context.ts)
      });
      slot.set(lora);
      this.layers.set(t.name, lora);
      this.slots.set(t.name, slot);
    });
    if (saved) {
      this.savedModules.push(...saved.modules);
      for (const name of saved.params) {
        const v = params.get(name)!;
        this.originals.set(name, tf.variable(v, false));
        v.trainable = true;
      }
    }
    if (peftConfig.inferenceMode) this.setAdaptersTrainable(false);
  }

  // ------------------------------------------------------------ training mode and dropout

  /** Whether LoRA dropout is active (PEFT/torch `module.training`): the base model's mode, which its forward passes on. */
  get training(): boolean {
    return this.baseModel.training;
  }

  /** Training mode: dropout on (torch `model.train()`). */
  train(mode = true): this {
    this.baseModel.train(mode);
    return this;
  }

  /** Inference mode: dropout off (torch `model.eval()`). */
  eval(): this {
    return this.train(false);
  }

  /** The dropout masks of the following forwards derive from this seed (the Trainer sets one per micro-batch). */
  setTrainingSeed(seed: number): void {
    this.baseModel.setTrainingSeed(seed);
  }

  // ------------------------------------------------------------ TrainableModel

  forward(inputs: ForwardInputs, options?: ForwardOptions): ForwardOutput {
    this.checkActive("forward");
    return this.baseModel.forward(inputs, options);
  }

  /** The training loss alone (the base model's memory-saving `computeLoss` when it has one). */
  computeLoss(inputs: ForwardInputs): tf.Scalar {
    this.checkActive("computeLoss");
    if (this.baseModel.computeLoss) return this.baseModel.computeLoss(inputs);
    const out = this.baseModel.forward(inputs);
    out.logits.dispose();
    if (!out.loss) throw new Error("PeftModel.computeLoss: labels are required");
    return out.loss as tf.Scalar;
  }

  /** Generation always runs with dropout off (its forward context is inference; the mode is left as it is). */
  async generate(inputs: GenerateInputs, options?: GenerateOptions): Promise<GenerateOutput> {
    this.checkActive("generate");
    return this.baseModel.generate(inputs, options);
  }

  /** Every parameter under PEFT's in-memory name (see the file doc). */
  namedParameters(): Map<string, tf.Variable> {
    this.checkActive("namedParameters");
    const out = new Map<string, tf.Variable>();
    const savedModule = (p: string) => this.savedModules.find((m) => p.startsWith(`${m}.`));
    for (const [name, v] of this.baseModel.namedParameters()) {
      const owner = [...this.layers.keys()].find((t) => name === `${t}.weight` || name === `${t}.bias`);
      const m = savedModule(name);
      if (owner !== undefined) out.set(`${PEFT_PREFIX}${owner}.base_layer${name.slice(owner.length)}`, v);
      else if (m !== undefined && this.originals.has(name)) {
        const rest = name.slice(m.length);
        out.set(`${PEFT_PREFIX}${m}.original_module${rest}`, this.originals.get(name)!);
        out.set(`${PEFT_PREFIX}${m}.modules_to_save.default${rest}`, v);
      } else out.set(`${PEFT_PREFIX}${name}`, v);
    }
    for (const [t, l] of this.layers) {
      out.set(`${PEFT_PREFIX}${t}.lora_A.default.weight`, l.loraA);
      out.set(`${PEFT_PREFIX}${t}.lora_B.default.weight`, l.loraB);
    }
    return out;
  }

  /** The adapters (and modulesToSave copies): what the optimizer updates. */
  trainableParameters(): Map<string, tf.Variable> {
    return new Map([...this.namedParameters()].filter(([, v]) => v.trainable));
  }

  /** Write the adapter in PEFT's layout (see adapter-files.ts). */
  async savePretrained(dir: string): Promise<void> {
    this.checkActive("savePretrained");
    await writeAdapterFiles(this, dir);
  }

  /**
   * Load a PEFT adapter directory (adapter_config.json + adapter_model.safetensors) onto `base`.
   * `isTrainable` false (PEFT's default): the adapter is frozen (inference mode). On error `base` is left as it was.
   */
  static async fromPretrained(base: PeftBaseModel, dir: string, options: { isTrainable?: boolean } = {}): Promise<PeftModel> {
    const { config, configPath, weightsPath } = await readAdapterDir(dir, options);
    let peft: PeftModel;
    try {
      peft = new PeftModel(base, config);
    } catch (e) {
      throw inAdapterConfig(e, configPath);
    }
    try {
      await readAdapterWeights(peft, weightsPath);
    } catch (e) {
      peft.unload();
      throw e;
    }
    return peft;
  }

  // ------------------------------------------------------------ adapters

  /** The LoRA layers by module name. */
  loraLayers(): ReadonlyMap<string, LoraLinear> {
    return this.layers;
  }

  /** Module names whose parameters are trained and saved whole (modulesToSave resolved). */
  modulesToSave(): readonly string[] {
    return this.savedModules;
  }

  /** Parameter name → the frozen original value of a modulesToSave parameter. */
  originalValues(): ReadonlyMap<string, tf.Variable> {
    return this.originals;
  }

  /** Freeze or unfreeze every adapter variable (and modulesToSave copies). */
  setAdaptersTrainable(trainable: boolean): void {
    for (const l of this.layers.values()) (l.loraA.trainable = trainable), (l.loraB.trainable = trainable);
    for (const name of this.originals.keys()) this.baseModel.namedParameters().get(name)!.trainable = trainable;
  }

  /** PEFT `get_nb_trainable_parameters`: (trainable, all), counting a quantized weight by its value count. */
  getNbTrainableParameters(): [number, number] {
    let trainable = 0;
    let all = 0;
    for (const v of this.namedParameters().values()) {
      all += v.size;
      if (v.trainable) trainable += v.size;
    }
    for (const slot of this.baseModel.namedLinears()) {
      let l = slot.get();
      if (l instanceof LoraLinear) l = l.base;
      if (l instanceof QuantLinear) all += l.numel; // PEFT: Params4bit numel · 2 · element size = the weight count
    }
    return [trainable, all];
  }

  /** PEFT's `print_trainable_parameters` line, printed with `log` (default console.log) and returned. */
  printTrainableParameters(log: (line: string) => void = console.log): string {
    const [t, all] = this.getNbTrainableParameters();
    const line = `trainable params: ${t.toLocaleString("en-US")} || all params: ${all.toLocaleString("en-US")} || trainable%: ${formatFixed((100 * t) / all, 4)}`;
    log(line);
    return line;
  }

  /** Fold every adapter into its float base weight (PEFT `merge_adapter`); forward then skips the LoRA branches. */
  mergeAdapter(): void {
    this.checkActive("mergeAdapter");
    for (const l of this.layers.values()) l.merge();
  }

  /** Undo `mergeAdapter` (PEFT `unmerge_adapter`). */
  unmergeAdapter(): void {
    this.checkActive("unmergeAdapter");
    for (const l of this.layers.values()) l.unmerge();
  }

  /**
   * PEFT `merge_and_unload`: fold the adapters into the base weights (a quantized base is dequantized, merged and
   * re-quantized with its own options, as PEFT does for 4-bit layers), put the base layers back into their slots,
   * keep trained modulesToSave values, restore the base parameters' trainable flags, free the adapters, and return
   * the base model. This PeftModel is then unusable.
   */
  mergeAndUnload(): PeftBaseModel {
    this.checkActive("mergeAndUnload");
    for (const [name, l] of this.layers) {
      const slot = this.slots.get(name)!;
      if (l.base instanceof Linear) {
        l.merge();
        slot.set(l.base);
      } else if (l.base instanceof QuantLinear) {
        const q = l.base;
        const merged = tf.tidy(() => tf.add(q.dequantize(), tf.transpose(l.deltaWeight()))); // [out, in]
        const data = merged.dataSync() as Float32Array;
        slot.set(q.withWeight(data));
        merged.dispose();
        q.dispose();
      } else {
        throw new Error(`mergeAndUnload: ${name}'s base is a ${l.base.constructor.name}; only Linear and QuantLinear bases can be merged`);
      }
      l.dispose();
    }
    return this.finishUnload(false);
  }

  /**
   * PEFT `unload`: put the base layers back without merging, restore modulesToSave originals and the base
   * parameters' trainable flags, free the adapters.
   */
  unload(): PeftBaseModel {
    this.checkActive("unload");
    for (const [name, l] of this.layers) {
      if (l.isMerged) l.unmerge();
      this.slots.get(name)!.set(l.base);
      l.dispose();
    }
    return this.finishUnload(true);
  }

  private finishUnload(restoreOriginals: boolean): PeftBaseModel {
    const params = this.baseModel.namedParameters();
    for (const [name, orig] of this.originals) {
      if (restoreOriginals) params.get(name)!.assign(orig);
      orig.dispose();
    }
    for (const [v, flag] of this.flagsBefore) if (!v.isDisposed) v.trainable = flag;
    this.originals.clear();
    this.layers.clear();
    this.unloaded = true;
    return this.baseModel;
  }

  /** Free the adapters and modulesToSave copies, leaving the base model's slots pointing at its own layers. */
  dispose(): void {
    if (!this.unloaded) this.unload();
  }

  private checkActive(what: string): void {
    if (this.unloaded) throw new Error(`PeftModel.${what}: this PeftModel was unloaded (mergeAndUnload/unload/dispose); use the returned base model`);
  }
}

/**
 * Python's `format(v, ".{digits}f")`: the correctly rounded decimal, ties to even. (`toFixed` breaks exact ties
 * upwards; an exact tie needs a dyadic value whose decimal expansion ends right after the tie digit.)
 */
export function formatFixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  const exact = v.toFixed(Math.min(100, digits + 30));
  const tail = exact.slice(exact.indexOf(".") + 1 + digits);
  if (!/^50*$/.test(tail)) return s;
  const down = (Math.sign(v) * Math.floor(Math.abs(v) * 10 ** digits)) / 10 ** digits;
  const lastDigit = Number(down.toFixed(digits).slice(-1));
  return lastDigit % 2 === 0 ? down.toFixed(digits) : s;
}

/**
 * PEFT `get_peft_model(model, config)`: wrap the matched linears with LoRA, freeze everything else.
 * Throws ConfigError when a target pattern matches nothing (listing the linear modules that exist).
 */
export function getPeftModel(model: PeftBaseModel, config: LoraConfig, options: GetPeftModelOptions = {}): PeftModel {
  if (!(config instanceof LoraConfig)) {
    throw new ConfigError({ field: "config", value: config, fix: "pass a LoraConfig: getPeftModel(model, new LoraConfig({...}))" });
  }
  const linearNames = model.namedLinears().map((s) => s.name);
  const resolved = resolveTargets(config, linearNames, [...new Set([...moduleNamesOf(model.namedParameters().keys()), ...linearNames])]).config;
  return new PeftModel(model, resolved, options);
}
