/**
 * Parameters → modules, by reading the layer table (model/layers.ts) with a factory that looks each tensor up in the
 * parameter map (keyed by HF checkpoint name, internal layout, see io/keymap.ts) and wraps every linear in a named
 * `LinearSlot`. The factory records each slot it creates: that record is the model's `namedLinears()`.
 */
import type { tf } from "../tf.js";
import type { PaliGemmaConfig } from "../config/types.js";
import { Linear, LinearSlot, type LinearLayer } from "./linear.js";
import { paliGemmaTable, type ModuleKinds, type ParamFactory } from "./layers.js";
import type { SiglipTower } from "./siglip.js";
import type { Gemma2Decoder } from "./gemma2.js";

export type ParamMap = Map<string, tf.Variable>;

export interface PaliGemmaModules {
  visionTower: SiglipTower;
  projector: LinearSlot;
  languageModel: Gemma2Decoder;
  /** Every linear slot, in table order (vision layers, projector, decoder layers). */
  linearSlots: LinearSlot[];
}

/**
 * The towers over `params`. `linears` holds ready layers by HF module name (quantized while loading) that take
 * the slot instead of a float `Linear` over `params` (tinygrad's "the linear layer is an argument").
 */
export function buildModules(cfg: PaliGemmaConfig, params: ParamMap, linears: ReadonlyMap<string, LinearLayer> = new Map()): PaliGemmaModules {
  const get = (name: string): tf.Variable => {
    const v = params.get(name);
    if (!v) throw new Error(`internal: parameter ${name} was not created`);
    return v;
  };
  const linearSlots: LinearSlot[] = [];
  const modules: ParamFactory<ModuleKinds> = {
    linear(name, _out, _in, bias) {
      const slot = new LinearSlot(name, linears.get(name) ?? new Linear(get(`${name}.weight`), bias ? get(`${name}.bias`) : null));
      linearSlots.push(slot);
      return slot;
    },
    patch: (name) => new Linear(get(`${name}.weight`), get(`${name}.bias`)),
    layerNorm: (name) => ({ gamma: get(`${name}.weight`), beta: get(`${name}.bias`) }),
    rmsNorm: (name) => get(`${name}.weight`),
    embedding: (name) => get(`${name}.weight`),
  };
  const t = paliGemmaTable(modules, cfg);
  return {
    visionTower: { config: cfg.visionConfig, ...t.visionTower },
    projector: t.projector,
    languageModel: { config: cfg.textConfig, ...t.languageModel },
    linearSlots,
  };
}
