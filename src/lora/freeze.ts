/**
 * Freezing as an explicit trainable-variable list (big_vision's freeze patterns; maestro's `freeze` strategy):
 * every parameter's `trainable` flag is set from name patterns, and a pattern that matches nothing throws, listing
 * the names that exist. Full fine-tuning is `freeze(model, {})`: nothing frozen.
 *
 *     freeze(model, { visionTower: true, multiModalProjector: true }); // maestro "freeze": train the language model
 *     freeze(model, { patterns: [/\.layer_norm\d\./, "language_model\\.model\\.embed_tokens\\.weight"] });
 *     optimizer.minimize(loss, false, [...model.trainableParameters().values()]);
 *
 * A string pattern is a regular expression matched against the whole HF parameter name (like PEFT's regex
 * `target_modules` and big_vision's patterns); a RegExp is tested as is (`.test`, so unanchored).
 */
import type { tf } from "../tf.js";
import { abridgeModuleNames } from "../util/list-some.js";

export interface FreezeSpec {
  /** Freeze `vision_tower.*` (SigLIP). */
  visionTower?: boolean;
  /** Freeze `multi_modal_projector.*`. */
  multiModalProjector?: boolean;
  /** Freeze `language_model.*` (Gemma 2, including the tied embedding / LM head). */
  languageModel?: boolean;
  /** More parameters to freeze, by name pattern; each must match at least one parameter. */
  patterns?: (string | RegExp)[];
}

export interface FreezeResult {
  frozen: string[];
  trainable: string[];
}

const GROUPS: [keyof FreezeSpec, RegExp][] = [
  ["visionTower", /^vision_tower\./],
  ["multiModalProjector", /^multi_modal_projector\./],
  ["languageModel", /^language_model\./],
];

const FIELDS = ["visionTower", "multiModalProjector", "languageModel", "patterns"];

/**
 * Set every parameter's `trainable` flag: frozen when a selected group or a pattern matches its name, trainable
 * otherwise. Returns both lists. Throws on unknown fields, non-boolean groups, bad or unmatched patterns.
 */
export function freeze(model: { namedParameters(): Map<string, tf.Variable> }, spec: FreezeSpec = {}): FreezeResult {
  for (const k of Object.keys(spec)) {
    if (!FIELDS.includes(k)) throw new Error(`freeze: unknown field ${k}; use ${FIELDS.join(", ")}`);
  }
  const params = model.namedParameters();
  const names = [...params.keys()];
  const rules: { label: string; re: RegExp }[] = [];
  for (const [field, re] of GROUPS) {
    const v = spec[field];
    if (v === undefined || v === false) continue;
    if (v !== true) throw new Error(`freeze: ${field} must be true or false, got ${JSON.stringify(v)}`);
    rules.push({ label: field, re });
  }
  (spec.patterns ?? []).forEach((p, i) => {
    let re: RegExp;
    if (p instanceof RegExp) re = p;
    else if (typeof p === "string") {
      try {
        re = new RegExp(`^(?:${p})$`);
      } catch (e) {
        throw new Error(`freeze: patterns[${i}] ${JSON.stringify(p)} is not a valid regular expression (${(e as Error).message})`);
      }
    } else throw new Error(`freeze: patterns[${i}] must be a string or RegExp, got ${JSON.stringify(p)}`);
    rules.push({ label: `patterns[${i}] ${String(p)}`, re });
  });
  for (const r of rules) {
    if (!names.some((n) => r.re.test(n))) {
      throw new Error(`freeze: ${r.label} matches no parameter; parameters are named like: ${abridgeModuleNames(names, 12)}`);
    }
  }
  const out: FreezeResult = { frozen: [], trainable: [] };
  for (const [name, v] of params) {
    const frozen = rules.some((r) => r.re.test(name));
    v.trainable = !frozen;
    (frozen ? out.frozen : out.trainable).push(name);
  }
  return out;
}
