/**
 * Gemma 2 decoder (Gemma Team 2024, "Gemma 2: Improving Open Language Models at a Practical Size"; HF
 * `modeling_gemma2.py` 4.47). Every Gemma 2 specific is visible where it acts:
 *   - sandwich norms: RMSNorm before AND after attention and MLP, weights used as (1 + w);
 *   - scores scaled by query_pre_attn_scalar^-0.5 (not head_dim), soft-capped at 50 before the mask;
 *   - sliding-window attention on even layers (0, 2, …), global on odd layers;
 *   - GeGLU MLP with tanh GELU; RoPE half-split; embeddings × √hidden.
 * PaliGemma 1's Gemma (1) decoder runs through the same code: its layer table has no post-norms, and its config
 * (config/text.ts) has no soft-caps, no window, and query_pre_attn_scalar = head_dim.
 */
import { tf } from "../tf.js";
import type { Gemma2TextConfig } from "../config/types.js";
import type { DecoderLayerParams, DecoderParams, ModuleKinds } from "./layers.js";
import { activation, rmsNorm } from "../ops/elementwise.js";
import { applyRope, type RopeTables } from "../ops/rope.js";
import { cachedAttention } from "../ops/attention.js";
import { INFERENCE, type ForwardContext } from "./context.js";
import { checkpoint, variablesOf } from "../ops/checkpoint.js";
import { matMul } from "../ops/matmul.js";
import { Linear, type LinearSlot } from "./linear.js";
import type { KVCache } from "./kvcache.js";

/** One decoder layer's modules: the decoder layer table (model/layers.ts) read as modules. */
export type Gemma2Layer = DecoderLayerParams<ModuleKinds>;

export interface Gemma2Decoder extends DecoderParams<ModuleKinds> {
  config: Gemma2TextConfig;
  /** Recompute each layer in the backward pass instead of keeping its activations (training only). */
  gradientCheckpointing?: boolean;
}

/** Layers 0, 2, 4, … use the sliding window (HF: `not bool(layer_idx % 2)`). */
export function isSlidingLayer(layerIdx: number): boolean {
  return layerIdx % 2 === 0;
}

/** What every layer's attention reads, built once per call (paligemma.ts `attentionInputs`). */
export interface AttentionInputs {
  rope: RopeTables; // tables for the query positions
  /** Additive masks float32[B,1,Lq,Lk] for global and sliding layers; null = every key visible. */
  globalMask: tf.Tensor | null;
  slidingMask: tf.Tensor | null;
}

/**
 * Self-attention of layer `idx`. x: float32[B,L,D] → float32[B,L,D], or decoding rows float32[R,D] → float32[R,D]
 * (one position per row: the linears then need no reshapes).
 * With a cache (`ctx.cache`, kvcache.ts), the keys are stored there and the queries attend to everything it holds; sliding layers
 * keep only the last `sliding_window` keys (a rolling buffer), and a single decoding query attends to exactly that.
 */
export function gemma2Attention(layer: Gemma2Layer, idx: number, x: tf.Tensor, cfg: Gemma2TextConfig, att: AttentionInputs, ctx: ForwardContext = INFERENCE): tf.Tensor {
  return tf.tidy(() => {
    const [B, L] = x.rank === 2 ? [x.shape[0]!, 1] : (x.shape as number[]); // rank 2: decoding rows [R,D], L = 1
    const H = cfg.numAttentionHeads;
    const KV = cfg.numKeyValueHeads;
    const hd = cfg.headDim;
    // [B,L,n·hd] → [B,n,L,hd]; with one position (decoding) the transpose moves nothing: a reshape says the same
    const heads = (t: tf.Tensor, n: number) => (L === 1 ? tf.reshape(t, [B, n, 1, hd]) : tf.transpose(tf.reshape(t, [B, L, n, hd]), [0, 2, 1, 3]));
    const qkWeight = x.rank === 2 && ctx.cache ? fusedQkWeight(layer, ctx.cache) : null;
    const [q, k] = qkWeight // decoding: one product and one RoPE for q and k together, then split by heads
      ? tf.split(applyRope(heads(matMul(x, qkWeight), H + KV), att.rope), [H, KV], 1)
      : [applyRope(heads(layer.qProj.forward(x, ctx), H), att.rope), applyRope(heads(layer.kProj.forward(x, ctx), KV), att.rope)];
    const v = heads(layer.vProj.forward(x, ctx), KV);
    const attention = {
      scale: cfg.queryPreAttnScalar ** -0.5, // Gemma 2: query_pre_attn_scalar, not head_dim
      softcap: cfg.attnLogitSoftcapping, // 50, applied before the mask
    };
    const mask = isSlidingLayer(idx) && cfg.slidingWindow !== null ? att.slidingMask : att.globalMask;
    const keys = ctx.cache ? ctx.cache.updateAndFetch(idx, k, v) : [{ k, v }];
    const a = cachedAttention(q, keys, { ...attention, mask }); // [B,H,L,hd]
    const merged = L === 1 ? a : tf.transpose(a, [0, 2, 1, 3]); // [B,L,H,hd] (L = 1: same memory order)
    return layer.oProj.forward(tf.reshape(merged, x.rank === 2 ? [B, H * hd] : [B, L, H * hd]), ctx);
  });
}

/** The weight of a slot holding a plain float Linear without bias (not LoRA, not quantized), else null. */
function plainWeight(slot: LinearSlot): tf.Tensor | null {
  const layer = slot.get();
  return layer instanceof Linear && !layer.bias ? layer.weight : null;
}

/**
 * [W_q | W_k] float32[D, (H+KV)·hd], once per generate call (weights are frozen while decoding), when both slots
 * hold plain Linears; null otherwise (LoRA, quantized: each slot computes its own product).
 */
function fusedQkWeight(layer: Gemma2Layer, cache: KVCache): tf.Tensor | null {
  const wq = plainWeight(layer.qProj);
  const wk = plainWeight(layer.kProj);
  return wq && wk ? cache.derived(wq, () => tf.concat([wq, wk], 1)) : null;
}

/** GeGLU: down(act(gate(h)) · up(h)), act = `hidden_activation` (tanh GELU in Gemma and Gemma 2). */
export function gemma2Mlp(layer: Gemma2Layer, h: tf.Tensor, cfg: Gemma2TextConfig, ctx: ForwardContext = INFERENCE): tf.Tensor {
  const act = activation(cfg.hiddenActivation);
  return tf.tidy(() => layer.downProj.forward(tf.mul(act(layer.gateProj.forward(h, ctx)), layer.upProj.forward(h, ctx)), ctx));
}

/** RMSNorm at the config's eps; while decoding (a cache: weights frozen) 1 + w is computed once per generate call. */
function normWith(cfg: Gemma2TextConfig, ctx: ForwardContext): (x: tf.Tensor, w: tf.Tensor) => tf.Tensor {
  const cache = ctx.cache;
  if (!cache) return (x, w) => rmsNorm(x, w, cfg.rmsNormEps);
  return (x, w) => rmsNorm(x, w, cfg.rmsNormEps, cache.derived(w, () => tf.add(1, w)));
}

/**
 * One decoder layer with sandwich norms:
 *   x = x + post_attn_norm(attn(input_norm(x)));  x = x + post_ff_norm(mlp(pre_ff_norm(x)))
 * Gemma (1) has no post-norms (null in its layer table): x = x + attn(input_norm(x)); x = x + mlp(pre_ff_norm(x)).
 */
export function gemma2DecoderLayer(layer: Gemma2Layer, idx: number, x: tf.Tensor, cfg: Gemma2TextConfig, att: AttentionInputs, ctx: ForwardContext = INFERENCE): tf.Tensor {
  return tf.tidy(() => {
    const norm = normWith(cfg, ctx);
    const a = gemma2Attention(layer, idx, norm(x, layer.inputLayernorm), cfg, att, ctx);
    const post = (t: tf.Tensor, w: tf.Variable | null) => (w ? norm(t, w) : t);
    const x1 = tf.add(x, post(a, layer.postAttentionLayernorm));
    const m = gemma2Mlp(layer, norm(x1, layer.preFeedforwardLayernorm), cfg, ctx);
    return tf.add(x1, post(m, layer.postFeedforwardLayernorm));
  });
}

/** √hidden as float32 (HF multiplies by `torch.tensor(hidden_size**0.5, dtype=float32)`). */
export function embeddingNormalizer(cfg: Gemma2TextConfig): number {
  return Math.fround(Math.sqrt(cfg.hiddenSize));
}

export interface DecoderOutput {
  hidden: tf.Tensor; // float32[B,L,D] after the final norm
  hiddenStates?: tf.Tensor[]; // [embeds·√D, layer 0 out, …, final-norm output] like HF (last entry is normed)
}

/** inputsEmbeds (before ×√D): float32[B,L,D] (or decoding rows float32[R,D]) → final hidden state, same shape. */
export function gemma2Decoder(dec: Gemma2Decoder, inputsEmbeds: tf.Tensor, att: AttentionInputs, ctx: ForwardContext = INFERENCE, keepHidden = false): DecoderOutput {
  const hidden: tf.Tensor[] = [];
  const out = tf.tidy(() => {
    let x = tf.mul(inputsEmbeds, embeddingNormalizer(dec.config));
    if (keepHidden) hidden.push(tf.keep(x.clone()));
    const recompute = dec.gradientCheckpointing && !ctx.cache;
    // constants the layer reads, handed to the checkpoint explicitly (see ops/checkpoint.ts)
    const constants = [att.rope.cos, att.rope.sin, att.globalMask, att.slidingMask].filter((t): t is tf.Tensor => t !== null);
    const rebuild = (c: tf.Tensor[]): AttentionInputs => {
      const [cos, sin, globalMask = null, slidingMask = globalMask] = c;
      return { rope: { cos, sin }, globalMask, slidingMask: att.slidingMask ? slidingMask : null };
    };
    dec.layers.forEach((layer, i) => {
      x = recompute // the recomputation gets the same ctx, so it draws the forward's dropout masks
        ? checkpoint((h, c) => gemma2DecoderLayer(layer, i, h, dec.config, rebuild(c), ctx), x, constants, variablesOf(layer))
        : gemma2DecoderLayer(layer, i, x, dec.config, att, ctx);
      if (keepHidden && i < dec.layers.length - 1) hidden.push(tf.keep(x.clone()));
    });
    const normed = normWith(dec.config, ctx)(x, dec.norm);
    if (keepHidden) hidden.push(tf.keep(normed.clone()));
    return normed;
  });
  return keepHidden ? { hidden: out, hiddenStates: hidden } : { hidden: out };
}
