/**
 * SigLIP vision tower as PaliGemma uses it (`vision_use_head=False`): patch embedding + learned positions,
 * pre-LN transformer encoder, final LayerNorm; no CLS token, no pooling head.
 * Reference: HF `modeling_siglip.py` (4.47); Zhai et al. 2023, "Sigmoid Loss for Language Image Pre-Training".
 */
import { tf } from "../tf.js";
import type { SiglipVisionConfig } from "../config/types.js";
import { Linear, type LinearLayer } from "./linear.js";
import { geluTanh, layerNorm } from "../ops/elementwise.js";
import { groupedQueryAttention } from "../ops/attention.js";
import { checkpoint, variablesOf } from "../ops/checkpoint.js";
import { INFERENCE, type ForwardContext } from "./context.js";

export interface LayerNormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
}

export interface SiglipLayer {
  layerNorm1: LayerNormParams;
  qProj: LinearLayer;
  kProj: LinearLayer;
  vProj: LinearLayer;
  outProj: LinearLayer;
  layerNorm2: LayerNormParams;
  fc1: LinearLayer;
  fc2: LinearLayer;
}

export interface SiglipTower {
  config: SiglipVisionConfig;
  patchEmbedding: Linear; // weight float32[C·p·p, D]: the stride-p conv as a matmul over flattened patches
  positionEmbedding: tf.Variable; // float32[N, D]
  layers: SiglipLayer[];
  postLayerNorm: LayerNormParams;
  /** Recompute each layer in the backward pass instead of keeping its activations (training only). */
  gradientCheckpointing?: boolean;
}

/**
 * Cut pixels into non-overlapping p×p patches in row-major patch order, each flattened in (c, ky, kx) order,
 * the order of a flattened OIHW conv kernel. pixelValues: float32[B,C,H,W] → float32[B, (H/p)·(W/p), C·p·p].
 */
export function patchify(pixelValues: tf.Tensor, p: number): tf.Tensor {
  return tf.tidy(() => {
    const [B, C, H, W] = pixelValues.shape as number[];
    const gh = H / p;
    const gw = W / p;
    const x = tf.reshape(pixelValues, [B, C, gh, p, gw, p]);
    const t = tf.transpose(x, [0, 2, 4, 1, 3, 5]); // [B, gh, gw, C, p, p]
    return tf.reshape(t, [B, gh * gw, C * p * p]);
  });
}

/** Patch conv + position embedding: hidden_states[0]. float32[B,C,H,W] → float32[B,N,D]. */
export function siglipEmbeddings(tower: SiglipTower, pixelValues: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const patches = patchify(pixelValues, tower.config.patchSize); // [B,N,C·p·p]
    return tf.add(tower.patchEmbedding.forward(patches), tower.positionEmbedding); // [B,N,D]
  });
}

/** Multi-head self-attention, no mask, no softcap, scale head_dim^-0.5. x: float32[B,N,D] → float32[B,N,D]. */
export function siglipAttention(layer: SiglipLayer, x: tf.Tensor, numHeads: number, ctx: ForwardContext = INFERENCE): tf.Tensor {
  return tf.tidy(() => {
    const [B, N, D] = x.shape as number[];
    const hd = D / numHeads;
    const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, N, numHeads, hd]), [0, 2, 1, 3]); // [B,H,N,hd]
    const q = heads(layer.qProj.forward(x, ctx));
    const k = heads(layer.kProj.forward(x, ctx));
    const v = heads(layer.vProj.forward(x, ctx));
    const a = groupedQueryAttention(q, k, v, { scale: hd ** -0.5 }); // [B,H,N,hd]
    return layer.outProj.forward(tf.reshape(tf.transpose(a, [0, 2, 1, 3]), [B, N, D]), ctx);
  });
}

/** Pre-LN encoder layer: x += attn(LN1(x)); x += fc2(gelu_tanh(fc1(LN2(x)))). */
export function siglipEncoderLayer(layer: SiglipLayer, x: tf.Tensor, cfg: SiglipVisionConfig, ctx: ForwardContext = INFERENCE): tf.Tensor {
  return tf.tidy(() => {
    const eps = cfg.layerNormEps;
    const h = layerNorm(x, layer.layerNorm1.gamma, layer.layerNorm1.beta, eps);
    const x1 = tf.add(x, siglipAttention(layer, h, cfg.numAttentionHeads, ctx));
    const h2 = layerNorm(x1, layer.layerNorm2.gamma, layer.layerNorm2.beta, eps);
    return tf.add(x1, layer.fc2.forward(geluTanh(layer.fc1.forward(h2, ctx)), ctx));
  });
}

export interface SiglipOutput {
  lastHiddenState: tf.Tensor; // float32[B,N,D] after post_layernorm
  hiddenStates?: tf.Tensor[]; // embeddings, then each layer's output (before post_layernorm)
}

/** pixelValues: float32[B,C,H,W] → last hidden state (and optionally every layer's hidden state). */
export function siglipVisionTower(tower: SiglipTower, pixelValues: tf.Tensor, keepHidden = false, ctx: ForwardContext = INFERENCE): SiglipOutput {
  const hidden: tf.Tensor[] = [];
  const last = tf.tidy(() => {
    let x = siglipEmbeddings(tower, pixelValues);
    if (keepHidden) hidden.push(tf.keep(x.clone()));
    for (const layer of tower.layers) {
      x = tower.gradientCheckpointing
        ? checkpoint((h) => siglipEncoderLayer(layer, h, tower.config, ctx), x, [], variablesOf(layer)) // same ctx: same masks
        : siglipEncoderLayer(layer, x, tower.config, ctx);
      if (keepHidden) hidden.push(tf.keep(x.clone()));
    }
    const pl = tower.postLayerNorm;
    return layerNorm(x, pl.gamma, pl.beta, tower.config.layerNormEps);
  });
  return keepHidden ? { lastHiddenState: last, hiddenStates: hidden } : { lastHiddenState: last };
}
