/**
 * THE checkpoint keymap: every tensor of a PaliGemma 2 checkpoint, by its Hugging Face name, with its shape in
 * the file and the layout the model keeps it in. All layout conversions live here and nowhere else:
 *
 *   "linear"  torch Linear weight [out,in]  ⇄  ours [in,out]        (plain x·W, no transposed matmul)
 *   "patch"   Conv2d weight OIHW [D,C,p,p] ⇄  ours [C·p·p, D]       (a stride-p conv on patches is one matmul)
 *   "plain"   stored as is
 */
import type { PaliGemmaConfig } from "../config/types.js";

export type Layout = "linear" | "patch" | "plain";
/** How `fromConfig` initialises a parameter (HF-like: N(0, 0.02) weights, zero biases, LayerNorm γ = 1). */
export type Init = "normal" | "zeros" | "ones";

export interface ParamSpec {
  name: string; // HF checkpoint name
  hfShape: number[]; // shape in the checkpoint file
  layout: Layout;
  init: Init;
}

const V = "vision_tower.vision_model.";
const T = "language_model.model.";

/** The tied LM head: not stored by `save_pretrained`, accepted (and ignored) when a file has it. */
export const TIED_LM_HEAD = "language_model.lm_head.weight";

/**
 * Newer transformers (≥ 4.52) name parameters `model.vision_tower.…`, `model.language_model.layers.…`,
 * `lm_head.weight` in memory; a file written that way is read through these rewrites onto the file names above.
 */
const NAME_REWRITES: [RegExp, string][] = [
  [/^model\.vision_tower\./, "vision_tower."],
  [/^model\.multi_modal_projector\./, "multi_modal_projector."],
  [/^model\.language_model\./, "language_model.model."],
  [/^lm_head\.weight$/, TIED_LM_HEAD],
];

export function canonicalName(name: string): string {
  for (const [re, to] of NAME_REWRITES) if (re.test(name)) return name.replace(re, to);
  return name;
}

/** Every parameter of the model for `cfg`, in checkpoint order. */
export function paliGemmaParamSpecs(cfg: PaliGemmaConfig): ParamSpec[] {
  const vc = cfg.visionConfig;
  const tc = cfg.textConfig;
  const out: ParamSpec[] = [];
  const lin = (name: string, o: number, i: number, bias: boolean) => {
    out.push({ name: `${name}.weight`, hfShape: [o, i], layout: "linear", init: "normal" });
    if (bias) out.push({ name: `${name}.bias`, hfShape: [o], layout: "plain", init: "zeros" });
  };
  const ln = (name: string, d: number) => {
    out.push({ name: `${name}.weight`, hfShape: [d], layout: "plain", init: "ones" });
    out.push({ name: `${name}.bias`, hfShape: [d], layout: "plain", init: "zeros" });
  };
  const rms = (name: string, d: number) => out.push({ name: `${name}.weight`, hfShape: [d], layout: "plain", init: "zeros" });

  const Dv = vc.hiddenSize;
  const p = vc.patchSize;
  out.push({ name: `${V}embeddings.patch_embedding.weight`, hfShape: [Dv, vc.numChannels, p, p], layout: "patch", init: "normal" });
  out.push({ name: `${V}embeddings.patch_embedding.bias`, hfShape: [Dv], layout: "plain", init: "zeros" });
  out.push({ name: `${V}embeddings.position_embedding.weight`, hfShape: [cfg.numImageTokens, Dv], layout: "plain", init: "normal" });
  for (let l = 0; l < vc.numHiddenLayers; l++) {
    const lp = `${V}encoder.layers.${l}.`;
    for (const proj of ["q_proj", "k_proj", "v_proj", "out_proj"]) lin(`${lp}self_attn.${proj}`, Dv, Dv, true);
    ln(`${lp}layer_norm1`, Dv);
    ln(`${lp}layer_norm2`, Dv);
    lin(`${lp}mlp.fc1`, vc.intermediateSize, Dv, true);
    lin(`${lp}mlp.fc2`, Dv, vc.intermediateSize, true);
  }
  ln(`${V}post_layernorm`, Dv);
  lin("multi_modal_projector.linear", cfg.projectionDim, Dv, true);

  const D = tc.hiddenSize;
  const qDim = tc.numAttentionHeads * tc.headDim;
  const kvDim = tc.numKeyValueHeads * tc.headDim;
  out.push({ name: `${T}embed_tokens.weight`, hfShape: [tc.vocabSize, D], layout: "plain", init: "normal" });
  for (let l = 0; l < tc.numHiddenLayers; l++) {
    const lp = `${T}layers.${l}.`;
    lin(`${lp}self_attn.q_proj`, qDim, D, false);
    lin(`${lp}self_attn.k_proj`, kvDim, D, false);
    lin(`${lp}self_attn.v_proj`, kvDim, D, false);
    lin(`${lp}self_attn.o_proj`, D, qDim, false);
    lin(`${lp}mlp.gate_proj`, tc.intermediateSize, D, false);
    lin(`${lp}mlp.up_proj`, tc.intermediateSize, D, false);
    lin(`${lp}mlp.down_proj`, D, tc.intermediateSize, false);
    for (const n of ["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"]) {
      rms(`${lp}${n}`, D);
    }
  }
  rms(`${T}norm`, D);
  return out;
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
