/**
 * Which modules LoRA wraps, by PEFT's rules (peft/tuners/tuners_utils.py `check_target_module_exists`,
 * `_maybe_include_all_linear_layers`; per-module rank/alpha from `rank_pattern`/`alpha_pattern` as
 * `get_pattern_key` does):
 *
 * - list entries: the module name equals the entry or ends with "." + entry; a regex string: full match;
 * - `layersToTransform` (list entries only): the index after the last `.<layersPattern>.` (any name when no
 *   pattern) must be listed;
 * - `excludeModules` (same matching) wins over targets;
 * - `"all-linear"`: every linear layer except the output layer; PEFT ≥ 0.15 also excludes PaliGemma's nested
 *   `language_model.lm_head` (0.14 wrongly kept it); here the LM head is the tied embedding, never a linear.
 *
 * Stricter than PEFT, on purpose: every list entry (and a regex) must match at least one module, and a match on a
 * module that is not a linear layer is an error naming it; both list the linear modules that exist.
 *
 * @example
 * resolveTargets(cfg, model.namedLinears().map((s) => s.name), moduleNames).targets[0];
 * // { name: "language_model.model.layers.0.self_attn.q_proj", r: 8, alpha: 16 }
 */
import { ConfigError } from "../config/errors.js";
import { fullMatchRegExp, LoraConfig } from "./config.js";
import { abridgeModuleNames } from "../util/list-some.js";

export interface ResolvedTarget {
  name: string;
  r: number;
  alpha: number;
}

function matchesListOrRegex(spec: string[] | string, key: string, field: string): boolean {
  if (typeof spec === "string") return fullMatchRegExp(spec, field).test(key);
  return spec.some((t) => key === t || key.endsWith(`.${t}`));
}

/** PEFT's layer index of `key` for layersToTransform, or null when the name has no `<pattern>.<int>.` part. */
function layerIndex(key: string, layersPattern: string | string[] | null): number | null {
  const patterns = layersPattern === null || layersPattern.length === 0 ? null : Array.isArray(layersPattern) ? layersPattern : [layersPattern];
  if (patterns === null) {
    const m = /^.*\.[^.]*\.(\d+)\./.exec(key); // greedy: the last `.<name>.<int>.`
    return m ? Number(m[1]) : null;
  }
  for (const p of patterns) {
    const m = new RegExp(`^.*\\.(?:${p})\\.(\\d+)\\.`).exec(key);
    if (m) return Number(m[1]);
  }
  return null;
}

/** PEFT `check_target_module_exists` (exclusions first, then targets, then the layer filter for lists). */
export function isTargetModule(cfg: LoraConfig, targets: string[] | string, key: string): boolean {
  if (cfg.excludeModules !== null && matchesListOrRegex(cfg.excludeModules, key, "excludeModules")) return false;
  if (typeof targets === "string") return fullMatchRegExp(targets, "targetModules").test(key);
  if (targets.includes(key)) return true; // named directly: no layer filter
  if (!targets.some((t) => key.endsWith(`.${t}`))) return false;
  const layers = cfg.layersToTransform;
  if (layers === null || (Array.isArray(layers) && layers.length === 0)) return true;
  const idx = layerIndex(key, cfg.layersPattern);
  if (idx === null) return false;
  return Array.isArray(layers) ? layers.includes(idx) : idx === layers;
}

/** The first pattern key that matches the end of `name` (PEFT `get_pattern_key`: `(.*\.)?(key)$`). */
function patternKey(keys: string[], name: string): string | undefined {
  return keys.find((k) => new RegExp(`^(?:.*\\.)?(?:${k.replace(/\(\?P</g, "(?<")})$`).test(name));
}

/** `"all-linear"` → the unique last name components of every linear (PaliGemma has no separate output linear). */
export function allLinearTargets(linearNames: readonly string[]): string[] {
  return [...new Set(linearNames.map((n) => n.slice(n.lastIndexOf(".") + 1)))].sort();
}

/**
 * Resolve `cfg.targetModules` against the model.
 * @param linearNames the model's linear slots (HF module paths)
 * @param moduleNames every module name of the model (linear or not), for "is not a linear" errors
 * @returns the wrapped modules with their rank and alpha, and the config with `"all-linear"` written out
 */
export function resolveTargets(
  cfg: LoraConfig,
  linearNames: readonly string[],
  moduleNames: readonly string[],
): { targets: ResolvedTarget[]; config: LoraConfig } {
  const have = () => `linear modules in this model: ${abridgeModuleNames(linearNames)}`;
  if (cfg.targetModules === null) {
    throw new ConfigError({
      field: "targetModules",
      value: null,
      fix: `PEFT has no default target modules for PaliGemma; set a list such as ["q_proj", "v_proj"], "all-linear", or use LoraConfig.preset("maestro"). ${have()}`,
    });
  }
  let config = cfg;
  let spec = cfg.targetModules;
  if (typeof spec === "string" && spec.toLowerCase() === "all-linear") {
    spec = allLinearTargets(linearNames);
    config = cfg.with({ targetModules: spec });
  }
  const linearSet = new Set(linearNames);
  const entries = typeof spec === "string" ? [spec] : spec;
  entries.forEach((entry, i) => {
    const field = typeof spec === "string" ? "targetModules" : `targetModules[${i}]`;
    const hits = moduleNames.filter((m) => matchesListOrRegex(typeof spec === "string" ? entry : [entry], m, "targetModules"));
    if (hits.length === 0) throw new ConfigError({ field, value: entry, fix: `matches no module; ${have()}` });
    const notLinear = hits.find((m) => !linearSet.has(m));
    if (notLinear !== undefined) {
      throw new ConfigError({ field, value: entry, fix: `matches ${notLinear}, which is not a linear layer (LoRA wraps linear layers); ${have()}` });
    }
  });
  const chosen = linearNames.filter((n) => isTargetModule(config, spec, n));
  if (chosen.length === 0) {
    throw new ConfigError({
      field: "layersToTransform",
      value: cfg.layersToTransform,
      fix: `with excludeModules/layersToTransform/layersPattern no target module is left; ${have()}`,
    });
  }
  const rankKeys = Object.keys(cfg.rankPattern);
  const alphaKeys = Object.keys(cfg.alphaPattern);
  const targets = chosen.map((name) => {
    const rk = patternKey(rankKeys, name);
    const ak = patternKey(alphaKeys, name);
    return { name, r: rk !== undefined ? cfg.rankPattern[rk]! : cfg.r, alpha: ak !== undefined ? cfg.alphaPattern[ak]! : cfg.loraAlpha };
  });
  return { targets, config };
}
