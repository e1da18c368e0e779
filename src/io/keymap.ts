/**
 * The checkpoint keymap's layouts: how a tensor of a PaliGemma checkpoint, named and shaped by the layer table
 * (`paliGemmaParamSpecs` in model/layers.ts), is kept in the model. All layout conversions live here and nowhere else:
 *
 *   "linear"  torch Linear weight [out,in]  ⇄  ours [in,out]        (plain x·W, no transposed matmul)
 *   "patch"   Conv2d weight OIHW [D,C,p,p] ⇄  ours [C·p·p, D]       (a stride-p conv on patches is one matmul)
 *   "plain"   stored as is
 */
export type Layout = "linear" | "patch" | "plain";
/** How `fromConfig` initialises a parameter (HF-like: N(0, 0.02) weights, zero biases, LayerNorm γ = 1). */
export type Init = "normal" | "zeros" | "ones";

export interface ParamSpec {
  name: string; // HF checkpoint name
  hfShape: number[]; // shape in the checkpoint file
  layout: Layout;
  init: Init;
}

/**
 * The LM head's module name. Tied (`tie_word_embeddings`, the default) it is `embed_tokens` itself: not stored by
 * `save_pretrained`, and accepted (ignored) when a file has it. Untied, its `.weight` [V, D] is a parameter.
 */
export const LM_HEAD = "language_model.lm_head";

/**
 * Newer transformers (≥ 4.52) name parameters `model.vision_tower.…`, `model.language_model.layers.…`,
 * `lm_head.weight` in memory; a file written that way is read through these rewrites onto the file names above.
 */
const NAME_REWRITES: [RegExp, string][] = [
  [/^model\.vision_tower\./, "vision_tower."],
  [/^model\.multi_modal_projector\./, "multi_modal_projector."],
  [/^model\.language_model\./, "language_model.model."],
  [/^lm_head\.weight$/, `${LM_HEAD}.weight`],
];

export function canonicalName(name: string): string {
  for (const [re, to] of NAME_REWRITES) if (re.test(name)) return name.replace(re, to);
  return name;
}

/** Our shape for a spec. */
export function internalShape(spec: ParamSpec): number[] {
  const s = spec.hfShape;
  if (spec.layout === "linear") return [s[1], s[0]];
  if (spec.layout === "patch") return [s[1] * s[2] * s[3], s[0]];
  return s.slice();
}

function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[base + c];
  }
  return out;
}

/** Checkpoint layout → ours (host data). A [D,C,p,p] OIHW kernel flattened as [D, C·p·p] transposes to [C·p·p, D]. */
export function toInternalLayout(spec: ParamSpec, data: Float32Array): Float32Array {
  const s = spec.hfShape;
  if (spec.layout === "linear") return transpose2d(data, s[0], s[1]);
  if (spec.layout === "patch") return transpose2d(data, s[0], s[1] * s[2] * s[3]);
  return data;
}

/**
 * Ours → checkpoint layout (host data). Always a fresh array, never `data` itself: on the cpu backend
 * `variable.data()` hands out the variable's own storage, so returning it would let a caller that edits a
 * `stateDict()` entry silently rewrite the live model weights.
 */
export function toCheckpointLayout(spec: ParamSpec, data: Float32Array): Float32Array {
  const s = spec.hfShape;
  if (spec.layout === "linear") return transpose2d(data, s[1], s[0]);
  if (spec.layout === "patch") return transpose2d(data, s[1] * s[2] * s[3], s[0]);
  return data.slice();
}
