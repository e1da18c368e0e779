/**
 * `quantizeModel`: QLoRA's first step. Every float linear of the model (vision tower, projector, language model —
 * what transformers + bitsandbytes quantize for `load_in_4bit`; the tied embedding / LM head stays float32, as
 * `get_keys_to_not_convert` keeps it) is replaced in its slot by a frozen `QuantLinear`, and the float weight is
 * released from the model, so resident weight memory really shrinks. Then `getPeftModel` puts LoRA on top.
 *
 * @example
 * const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir);
 * const report = quantizeModel(model, { bits: 4, doubleQuant: true, skip: ["multi_modal_projector.linear"] });
 * const peft = getPeftModel(model, LoraConfig.preset("maestro"));
 */
import type { tf } from "../tf.js";
import { Linear, type LinearLayer } from "../model/linear.js";
import { QuantLinear, validateQuantOptions, type QuantOptions } from "./quant-linear.js";
import { listSome } from "../util/list-some.js";

/** What `quantizeModel` needs from a model (PaliGemmaForConditionalGeneration has it). */
export interface QuantizableModel {
  namedLinears(): { name: string; get(): LinearLayer; set(layer: LinearLayer): void }[];
  releaseParameter(name: string): void;
  namedParameters(): Map<string, tf.Variable>;
}

export interface QuantizeModelOptions extends QuantOptions {
  /**
   * Linears to keep in float32. A string matches a module name or a suffix of it on "." boundaries (PEFT's list
   * rule: `"fc2"`, `"multi_modal_projector.linear"`); a RegExp is tested against the full module name. Each entry
   * must match at least one linear.
   */
  skip?: (string | RegExp)[];
}

export interface QuantizeReport {
  /** Module names now held by a QuantLinear. */
  quantized: string[];
  /** Module names left in float32 because of `skip`. */
  skipped: string[];
  /** float32 bytes of the weights that were replaced. */
  floatBytes: number;
  /** Device bytes of their quantized form (codes + scales). */
  quantBytes: number;
}

/** PEFT's list rule: a string matches a module name or a dotted suffix of it; a RegExp is tested on the full name. */
export function matchesModuleName(pattern: string | RegExp, name: string): boolean {
  return typeof pattern === "string" ? name === pattern || name.endsWith(`.${pattern}`) : pattern.test(name);
}

/** Replace the model's float linears by NF4/int8 `QuantLinear`s in place (see the file doc). */
export function quantizeModel(model: QuantizableModel, options: QuantizeModelOptions): QuantizeReport {
  const o = validateQuantOptions(options);
  const skip = options.skip ?? [];
  const slots = model.namedLinears();
  const names = slots.map((s) => s.name);
  for (const p of skip) {
    if (typeof p !== "string" && !(p instanceof RegExp)) throw new Error(`skip: got ${JSON.stringify(p)}; use module-name strings or RegExps`);
    if (!names.some((n) => matchesModuleName(p, n))) {
      throw new Error(`skip: ${String(p)} matches no linear module; the model has: ${listSome(names)}`);
    }
  }
  const report: QuantizeReport = { quantized: [], skipped: [], floatBytes: 0, quantBytes: 0 };
  const params = model.namedParameters();
  for (const slot of slots) {
    if (skip.some((p) => matchesModuleName(p, slot.name))) {
      report.skipped.push(slot.name);
      continue;
    }
    const layer = slot.get();
    if (layer instanceof QuantLinear) throw new Error(`quantizeModel: ${slot.name} is already quantized`);
    if (!(layer instanceof Linear)) {
      throw new Error(
        `quantizeModel: ${slot.name} holds a ${layer.constructor.name}, not a float Linear; ` +
          `quantize the base model before getPeftModel (QLoRA order: quantizeModel, then getPeftModel)`,
      );
    }
    const weightName = `${slot.name}.weight`;
    if (params.get(weightName) !== layer.weight) throw new Error(`quantizeModel: ${slot.name}'s weight is not the model parameter ${weightName}`);
    const q = QuantLinear.fromLinear(layer, o);
    if (layer.bias) layer.bias.trainable = false; // a quantized layer is frozen, its bias with it
    slot.set(q);
    model.releaseParameter(weightName);
    report.quantized.push(slot.name);
    report.floatBytes += q.numel * 4;
    report.quantBytes += q.numBytes;
  }
  return report;
}

/**
 * Free the quantized storage of every QuantLinear in the model's slots (the model's own `dispose()` frees its
 * parameters, not layers that replaced them). A LoRA layer's quantized base is freed too.
 */
export function disposeQuantizedLayers(model: Pick<QuantizableModel, "namedLinears">): void {
  for (const slot of model.namedLinears()) {
    const layer = slot.get() as LinearLayer & { base?: LinearLayer };
    const q = layer instanceof QuantLinear ? layer : layer.base instanceof QuantLinear ? layer.base : null;
    q?.dispose();
  }
}
