/**
 * Name lists for error messages: the first few names, then how many were left out.
 *
 *     listSome(["a", "b", "c"], 2);                                        // "a, b, … (1 more)"
 *     abridgeModuleNames(["layers.0.q_proj", "layers.1.q_proj", "fc"]);   // "layers.N.q_proj, fc"
 *
 * A leaf module (no imports): lora, quant and checkpoint-loading (model/load.ts) messages use it.
 */

/** At most `max` names joined with ", ", then `… (N more)` when some were left out. */
export function listSome(names: readonly string[], max = 6): string {
  return names.slice(0, max).join(", ") + (names.length > max ? `, … (${names.length - max} more)` : "");
}

/** Module or parameter names with layer indices collapsed to N (`layers.3.mlp` → `layers.N.mlp`), unique, listed. */
export function abridgeModuleNames(names: readonly string[], max = 16): string {
  return listSome([...new Set(names.map((n) => n.replace(/\.\d+(?=\.|$)/g, ".N")))], max);
}
