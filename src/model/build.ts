/**
 * Parameters → modules. Parameters live in one Map keyed by the Hugging Face checkpoint name (internal layout, see
 * io/keymap.ts); the towers hold references to the same variables, with every linear as an injectable `Linear`.
 */
import { tf } from "../tf.js";
import type { PaliGemmaConfig } from "../config/types.js";
import { Linear, type LinearLayer } from "./linear.js";
import type { SiglipLayer, SiglipTower } from "./siglip.js";
import type { Gemma2Decoder, Gemma2Layer } from "./gemma2.js";

export type ParamMap = Map<string, tf.Variable>;

export interface PaliGemmaModules {
  visionTower: SiglipTower;
  projector: LinearLayer;
  languageModel: Gemma2Decoder;
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
  const float = (name: string, bias: boolean) => new Linear(get(`${name}.weight`), bias ? get(`${name}.bias`) : null);
  const linear = (name: string, bias: boolean): LinearLayer => linears.get(name) ?? float(name, bias);
  const ln = (name: string) => ({ gamma: get(`${name}.weight`), beta: get(`${name}.bias`) });

  const V = "vision_tower.vision_model.";
  const vLayers: SiglipLayer[] = [];
  for (let l = 0; l < cfg.visionConfig.numHiddenLayers; l++) {
    const p = `${V}encoder.layers.${l}.`;
    vLayers.push({
      layerNorm1: ln(`${p}layer_norm1`),
      qProj: linear(`${p}self_attn.q_proj`, true),
      kProj: linear(`${p}self_attn.k_proj`, true),
      vProj: linear(`${p}self_attn.v_proj`, true),
      outProj: linear(`${p}self_attn.out_proj`, true),
      layerNorm2: ln(`${p}layer_norm2`),
      fc1: linear(`${p}mlp.fc1`, true),
      fc2: linear(`${p}mlp.fc2`, true),
    });
  }
  const T = "language_model.model.";
  const tLayers: Gemma2Layer[] = [];
  for (let l = 0; l < cfg.textConfig.numHiddenLayers; l++) {
    const p = `${T}layers.${l}.`;
    tLayers.push({
      inputLayernorm: get(`${p}input_layernorm.weight`),
      qProj: linear(`${p}self_attn.q_proj`, false),
      kProj: linear(`${p}self_attn.k_proj`, false),
      vProj: linear(`${p}self_attn.v_proj`, false),
      oProj: linear(`${p}self_attn.o_proj`, false),
      postAttentionLayernorm: get(`${p}post_attention_layernorm.weight`),
      preFeedforwardLayernorm: get(`${p}pre_feedforward_layernorm.weight`),
      gateProj: linear(`${p}mlp.gate_proj`, false),
      upProj: linear(`${p}mlp.up_proj`, false),
      downProj: linear(`${p}mlp.down_proj`, false),
      postFeedforwardLayernorm: get(`${p}post_feedforward_layernorm.weight`),
    });
  }
  return {
    visionTower: {
      config: cfg.visionConfig,
      patchEmbedding: float(`${V}embeddings.patch_embedding`, true),
      positionEmbedding: get(`${V}embeddings.position_embedding.weight`),
      layers: vLayers,
      postLayerNorm: ln(`${V}post_layernorm`),
    },
    projector: linear("multi_modal_projector.linear", true),
    languageModel: {
      config: cfg.textConfig,
      embedTokens: get(`${T}embed_tokens.weight`),
      layers: tLayers,
      norm: get(`${T}norm.weight`),
    },
  };
}
