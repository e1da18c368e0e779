/**
 * THE layer table: every parameter of PaliGemma, module by module, written once — its Hugging Face checkpoint name,
 * its shape from the config, its kind (linear with or without bias, patch conv, LayerNorm, RMSNorm, embedding) and,
 * for a linear, the named slot PEFT `target_modules` address (the HF module path, e.g. `…layers.0.self_attn.q_proj`).
 *
 * A table is a function of a {@link ParamFactory}: each line asks the factory for one parameter group, and what the
 * factory returns depends on who reads the table. Two readers derive everything from it:
 *   - `paliGemmaParamSpecs` (below): the checkpoint keymap — names, file shapes, layouts, init — that loading,
 *     saving, memory plans, adapter and trainer-state files use (io/keymap.ts converts the layouts);
 *   - `buildModules` (model/build.ts): the modules, with a variable per tensor and a `LinearSlot` per linear; the
 *     factory records each slot it creates, and those records are the model's `namedLinears()`.
 * The module structs (`SiglipLayer`, `Gemma2Layer`, …) are these tables' types read with {@link ModuleKinds}.
 *
 * Variants are tables: Gemma 2's decoder layer has four norms, Gemma (1)'s (PaliGemma 1) two; which one a model
 * uses follows `text_config.model_type` ({@link DECODER_LAYER_TABLES}).
 *
 * Sources: HF `modeling_siglip.py`, `modeling_gemma.py`, `modeling_gemma2.py`, `modeling_paligemma.py` (4.47).
 *
 * @example
 * paliGemmaParamSpecs(cfg).length;  // every tensor of the checkpoint
 * model.namedLinears().map((s) => s.name); // the table's linears, in table order
 */
import type { tf } from "../tf.js";
import type { GemmaTextConfig, PaliGemmaConfig, SiglipVisionConfig } from "../config/types.js";
import { LM_HEAD, type Init, type Layout, type ParamSpec } from "../io/keymap.js";
import type { Linear, LinearSlot } from "./linear.js";

/** What each kind of parameter group becomes for one reader of the table. */
export interface Kinds {
  linear: unknown; // nn.Linear: weight [out, in] (+ bias [out]); a named slot
  patch: unknown; // Conv2d with kernel = stride = p: weight OIHW [D, C, p, p] + bias [D]; one matmul over patches
  layerNorm: unknown; // nn.LayerNorm: weight γ [D] (init 1) + bias β [D] (init 0)
  vector: unknown; // one tensor: an RMSNorm weight w [D] (used as 1 + w, init 0) or an embedding table [N, D]
}

/** The parameter groups a table may ask for; `name` is the HF module name (the tensors are `name.weight`, …). */
export interface ParamFactory<K extends Kinds> {
  linear(name: string, outFeatures: number, inFeatures: number, bias: boolean): K["linear"];
  patch(name: string, outChannels: number, inChannels: number, size: number): K["patch"];
  layerNorm(name: string, dim: number): K["layerNorm"];
  rmsNorm(name: string, dim: number): K["vector"];
  embedding(name: string, rows: number, dim: number): K["vector"];
}

export interface LayerNormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
}

/** The tables read as modules (model/build.ts): what the forward functions receive. */
export interface ModuleKinds extends Kinds {
  linear: LinearSlot;
  patch: Linear; // weight float32[C·p·p, D]: the stride-p conv as a matmul over flattened patches
  layerNorm: LayerNormParams;
  vector: tf.Variable;
}

// ---------------------------------------------------------------------------------------------------------------
// SigLIP vision tower (PaliGemma: `vision_use_head=False`, no pooling head)
// ---------------------------------------------------------------------------------------------------------------

export interface SiglipLayerParams<K extends Kinds> {
  qProj: K["linear"];
  kProj: K["linear"];
  vProj: K["linear"];
  outProj: K["linear"];
  layerNorm1: K["layerNorm"];
  layerNorm2: K["layerNorm"];
  fc1: K["linear"];
  fc2: K["linear"];
}

/** `SiglipEncoderLayer` at prefix `p` (`vision_tower.vision_model.encoder.layers.{i}.`). */
export function siglipLayerTable<K extends Kinds>(f: ParamFactory<K>, p: string, vc: SiglipVisionConfig): SiglipLayerParams<K> {
  const D = vc.hiddenSize;
  const F = vc.intermediateSize;
  return {
    qProj: f.linear(`${p}self_attn.q_proj`, D, D, true),
    kProj: f.linear(`${p}self_attn.k_proj`, D, D, true),
    vProj: f.linear(`${p}self_attn.v_proj`, D, D, true),
    outProj: f.linear(`${p}self_attn.out_proj`, D, D, true),
    layerNorm1: f.layerNorm(`${p}layer_norm1`, D),
    layerNorm2: f.layerNorm(`${p}layer_norm2`, D),
    fc1: f.linear(`${p}mlp.fc1`, F, D, true),
    fc2: f.linear(`${p}mlp.fc2`, D, F, true),
  };
}

export interface SiglipTowerParams<K extends Kinds> {
  patchEmbedding: K["patch"];
  positionEmbedding: K["vector"]; // [N, D], one row per patch
  layers: SiglipLayerParams<K>[];
  postLayerNorm: K["layerNorm"];
}

const VISION = "vision_tower.vision_model.";

export function siglipTowerTable<K extends Kinds>(f: ParamFactory<K>, cfg: PaliGemmaConfig): SiglipTowerParams<K> {
  const vc = cfg.visionConfig;
  const D = vc.hiddenSize;
  return {
    patchEmbedding: f.patch(`${VISION}embeddings.patch_embedding`, D, vc.numChannels, vc.patchSize),
    positionEmbedding: f.embedding(`${VISION}embeddings.position_embedding`, cfg.numImageTokens, D),
    layers: Array.from({ length: vc.numHiddenLayers }, (_, l) => siglipLayerTable(f, `${VISION}encoder.layers.${l}.`, vc)),
    postLayerNorm: f.layerNorm(`${VISION}post_layernorm`, D),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Gemma decoders: Gemma 2 (PaliGemma 2) and Gemma (1) (PaliGemma 1)
// ---------------------------------------------------------------------------------------------------------------

/**
 * One decoder layer. The forward is `x += post_attn?(attn(input(x)));  x += post_ff?(mlp(pre_ff(x)))`: a norm
 * that a variant does not have is `null` (the identity).
 */
export interface DecoderLayerParams<K extends Kinds> {
  qProj: K["linear"];
  kProj: K["linear"];
  vProj: K["linear"];
  oProj: K["linear"];
  gateProj: K["linear"];
  upProj: K["linear"];
  downProj: K["linear"];
  inputLayernorm: K["vector"];
  postAttentionLayernorm: K["vector"] | null; // on the attention output (Gemma 2 only)
  preFeedforwardLayernorm: K["vector"]; // on the MLP input
  postFeedforwardLayernorm: K["vector"] | null; // on the MLP output (Gemma 2 only)
}

/** The seven linears of a Gemma / Gemma 2 layer (no biases: `attention_bias` false, MLP bias-free). */
function gemmaLinears<K extends Kinds>(f: ParamFactory<K>, p: string, tc: GemmaTextConfig) {
  const D = tc.hiddenSize;
  const Q = tc.numAttentionHeads * tc.headDim;
  const KV = tc.numKeyValueHeads * tc.headDim;
  const F = tc.intermediateSize;
  return {
    qProj: f.linear(`${p}self_attn.q_proj`, Q, D, false),
    kProj: f.linear(`${p}self_attn.k_proj`, KV, D, false),
    vProj: f.linear(`${p}self_attn.v_proj`, KV, D, false),
    oProj: f.linear(`${p}self_attn.o_proj`, D, Q, false),
    gateProj: f.linear(`${p}mlp.gate_proj`, F, D, false),
    upProj: f.linear(`${p}mlp.up_proj`, F, D, false),
    downProj: f.linear(`${p}mlp.down_proj`, D, F, false),
  };
}

/** `Gemma2DecoderLayer`: sandwich norms, RMSNorm before and after both attention and MLP. */
export function gemma2LayerTable<K extends Kinds>(f: ParamFactory<K>, p: string, tc: GemmaTextConfig): DecoderLayerParams<K> {
  const D = tc.hiddenSize;
  return {
    ...gemmaLinears(f, p, tc),
    inputLayernorm: f.rmsNorm(`${p}input_layernorm`, D),
    postAttentionLayernorm: f.rmsNorm(`${p}post_attention_layernorm`, D),
    preFeedforwardLayernorm: f.rmsNorm(`${p}pre_feedforward_layernorm`, D),
    postFeedforwardLayernorm: f.rmsNorm(`${p}post_feedforward_layernorm`, D),
  };
}

/**
 * `GemmaDecoderLayer` (Gemma 1): pre-norms only. Its `post_attention_layernorm` is, despite the name, the norm on
 * the MLP input (`hidden_states = self.post_attention_layernorm(hidden_states)` after the attention residual), i.e.
 * Gemma 2's `pre_feedforward_layernorm`; nothing normalises the attention or MLP outputs.
 */
export function gemmaLayerTable<K extends Kinds>(f: ParamFactory<K>, p: string, tc: GemmaTextConfig): DecoderLayerParams<K> {
  const D = tc.hiddenSize;
  return {
    ...gemmaLinears(f, p, tc),
    inputLayernorm: f.rmsNorm(`${p}input_layernorm`, D),
    postAttentionLayernorm: null,
    preFeedforwardLayernorm: f.rmsNorm(`${p}post_attention_layernorm`, D),
    postFeedforwardLayernorm: null,
  };
}

/** The decoder-layer table of each `text_config.model_type`. */
export const DECODER_LAYER_TABLES = { gemma: gemmaLayerTable, gemma2: gemma2LayerTable } as const;

export interface DecoderParams<K extends Kinds> {
  embedTokens: K["vector"]; // [V, D]; also the LM head when tied
  layers: DecoderLayerParams<K>[];
  norm: K["vector"]; // final RMSNorm
  lmHead: K["vector"] | null; // [V, D] untied output embedding (`tie_word_embeddings: false`); null = tied
}

const TEXT = "language_model.model.";

export function decoderTable<K extends Kinds>(f: ParamFactory<K>, tc: GemmaTextConfig): DecoderParams<K> {
  const layerTable = DECODER_LAYER_TABLES[tc.modelType];
  return {
    embedTokens: f.embedding(`${TEXT}embed_tokens`, tc.vocabSize, tc.hiddenSize),
    layers: Array.from({ length: tc.numHiddenLayers }, (_, l) => layerTable(f, `${TEXT}layers.${l}.`, tc)),
    norm: f.rmsNorm(`${TEXT}norm`, tc.hiddenSize),
    // nn.Linear(D, V, bias=False) holds [V, D] = [out, in]: kept as is and used as h·Wᵀ, like the tied embedding
    lmHead: tc.tieWordEmbeddings ? null : f.embedding(LM_HEAD, tc.vocabSize, tc.hiddenSize),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The whole model
// ---------------------------------------------------------------------------------------------------------------

export interface PaliGemmaParams<K extends Kinds> {
  visionTower: SiglipTowerParams<K>;
  projector: K["linear"]; // `multi_modal_projector.linear`: vision width → text width
  languageModel: DecoderParams<K>;
}

/** Every parameter group of the PaliGemma for `cfg`, in checkpoint (HF module) order. */
export function paliGemmaTable<K extends Kinds>(f: ParamFactory<K>, cfg: PaliGemmaConfig): PaliGemmaParams<K> {
  return {
    visionTower: siglipTowerTable(f, cfg),
    projector: f.linear("multi_modal_projector.linear", cfg.projectionDim, cfg.visionConfig.hiddenSize, true),
    languageModel: decoderTable(f, cfg.textConfig),
  };
}

/** The table read as tensors: names and shapes as the checkpoint file stores them, with layout and init. */
interface SpecKinds extends Kinds {
  linear: void;
  patch: void;
  layerNorm: void;
  vector: void;
}

/**
 * Every tensor of the model for `cfg`, in checkpoint order: the checkpoint keymap. Linear weights are [out, in]
 * (torch) in the file, the patch conv OIHW; `io/keymap.ts` converts both to our layout.
 *
 * @example
 * paliGemmaParamSpecs(cfg).find((s) => s.name.endsWith("layers.0.self_attn.q_proj.weight"))!.hfShape; // [H·hd, D]
 */
export function paliGemmaParamSpecs(cfg: PaliGemmaConfig): ParamSpec[] {
  const out: ParamSpec[] = [];
  const put = (name: string, hfShape: number[], layout: Layout, init: Init) => out.push({ name, hfShape, layout, init });
  const specs: ParamFactory<SpecKinds> = {
    linear(name, o, i, bias) {
      put(`${name}.weight`, [o, i], "linear", "normal");
      if (bias) put(`${name}.bias`, [o], "plain", "zeros");
    },
    patch(name, D, C, p) {
      put(`${name}.weight`, [D, C, p, p], "patch", "normal");
      put(`${name}.bias`, [D], "plain", "zeros");
    },
    layerNorm(name, d) {
      put(`${name}.weight`, [d], "plain", "ones");
      put(`${name}.bias`, [d], "plain", "zeros");
    },
    rmsNorm: (name, d) => put(`${name}.weight`, [d], "plain", "zeros"),
    embedding: (name, rows, d) => put(`${name}.weight`, [rows, d], "plain", "normal"),
  };
  paliGemmaTable(specs, cfg);
  return out;
}
