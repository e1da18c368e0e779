/**
 * Activation memory of one forward (+ backward) pass, derived from the model's own shapes: what the gradient tape
 * keeps per layer, counted as float32 values. Pure arithmetic; no TF.js.
 *
 * Per-layer counts follow the forward code (`model/siglip.ts`, `model/gemma2.ts`): every op output the tape holds
 * until the backward pass. Coefficients are "tensors of this shape per layer"; the measured check in
 * `test/memory/plan.test.ts` compares the total against the real peak on the tiny model.
 */
import type { PaliGemmaConfig } from "../config/types.js";

export interface ActivationShape {
  /** Batch size B. */
  batchSize: number;
  /** Text tokens per row (prompt + suffix); the decoder sees T = image tokens + text tokens. */
  textTokens: number;
  /** Rows whose logits are computed: `computeLoss` keeps only labelled rows (per sample). */
  logitRows: number;
}

export interface ActivationEstimate {
  /** Vision tower, all layers kept (no recomputation), bytes. */
  visionBytes: number;
  /** Decoder, all layers kept, bytes. */
  decoderBytes: number;
  /** One vision layer's working set, bytes (what recomputation holds at a time). */
  visionLayerBytes: number;
  /** One decoder layer's working set, bytes. */
  decoderLayerBytes: number;
  /** Layer inputs kept at the checkpoints (one (B,N,Dv) per vision layer, one (B,T,D) per decoder layer), bytes. */
  checkpointInputsBytes: number;
  /** Embeddings, projector, final norm: outside the layers, bytes. */
  edgeBytes: number;
  /** Logits at the kept rows with softcap and log-softmax, bytes. */
  logitsBytes: number;
  /** Decoder sequence length T. */
  sequenceLength: number;
}

const F32 = 4;

/**
 * SigLIP encoder layer, per token: LayerNorm ×2 (output + normalised copy), q/k/v/out with bias (matmul + add),
 * head split/merge transposes, residual adds ×2, fc1 + bias, gelu-tanh intermediates (x³, tanh, products), fc2.
 */
const SIGLIP_PER_TOKEN = { hidden: 22, intermediate: 6 };
/** SigLIP attention, per (head, query, key): scores, scaled, softmax. */
const SIGLIP_PER_SCORE = 3;
/**
 * Gemma 2 decoder layer, per token: four RMSNorms (x², mean, rsqrt, scaled, ×(1+w)), residual adds, o/down
 * projections; per query/key/value channel: projections, RoPE (rotate-half, cos/sin products), GQA repeat, head
 * transposes; MLP: gate, up, gelu-tanh intermediates, product.
 */
const GEMMA2_PER_TOKEN = { hidden: 20, attention: 8, intermediate: 7 };
/** Gemma 2 attention, per (head, query, key): scores, ÷√d, softcap (÷, tanh, ×), mask add, softmax. */
const GEMMA2_PER_SCORE = 7;
/** Logits, per (row, vocab entry): matmul, softcap (÷, tanh, ×), log-softmax. */
const LOGITS_PER_VALUE = 5;

/** What one forward pass holds for the backward pass, by part (see the file doc). */
export function estimateActivations(cfg: PaliGemmaConfig, shape: ActivationShape): ActivationEstimate {
  const vc = cfg.visionConfig;
  const tc = cfg.textConfig;
  const B = shape.batchSize;
  const N = cfg.numImageTokens; // patches = (imageSize / patchSize)²
  const T = N + shape.textTokens;

  // SigLIP layer: (B, N, Dv) hidden, (B, N, I_v) MLP, (B, H_v, N, N) scores
  const visionLayer =
    B * N * (SIGLIP_PER_TOKEN.hidden * vc.hiddenSize + SIGLIP_PER_TOKEN.intermediate * vc.intermediateSize) +
    SIGLIP_PER_SCORE * B * vc.numAttentionHeads * N * N;
  // Gemma 2 layer: (B, T, D) hidden, (B, T, (Hq + 2·Hkv)·hd) attention channels, (B, T, I) MLP, (B, Hq, T, T) scores
  const attnChannels = (tc.numAttentionHeads + 2 * tc.numKeyValueHeads) * tc.headDim;
  const decoderLayer =
    B * T * (GEMMA2_PER_TOKEN.hidden * tc.hiddenSize + GEMMA2_PER_TOKEN.attention * attnChannels +
      GEMMA2_PER_TOKEN.intermediate * tc.intermediateSize) +
    GEMMA2_PER_SCORE * B * tc.numAttentionHeads * T * T;
  // patch embedding (patches, matmul, + position), post-LayerNorm, projector, ÷√d, ×√d, merged embeddings
  const patchValues = vc.numChannels * vc.patchSize * vc.patchSize;
  const edge = B * N * (patchValues + 4 * vc.hiddenSize + 2 * cfg.projectionDim) + B * T * 4 * tc.hiddenSize;
  const logits = LOGITS_PER_VALUE * B * shape.logitRows * tc.vocabSize + 2 * B * shape.logitRows * tc.hiddenSize;
  return {
    visionBytes: F32 * vc.numHiddenLayers * visionLayer,
    decoderBytes: F32 * tc.numHiddenLayers * decoderLayer,
    visionLayerBytes: F32 * visionLayer,
    decoderLayerBytes: F32 * decoderLayer,
    checkpointInputsBytes: F32 * (vc.numHiddenLayers * B * N * vc.hiddenSize + tc.numHiddenLayers * B * T * tc.hiddenSize),
    edgeBytes: F32 * edge,
    logitsBytes: F32 * logits,
    sequenceLength: T,
  };
}

/**
 * Bytes of activations the forward pass of a training step keeps for the backward pass. Without recomputation
 * every layer's activations are kept; with gradient checkpointing only the layer inputs, plus one layer recomputed
 * at a time.
 */
export function trainingActivationBytes(a: ActivationEstimate, gradientCheckpointing: boolean): number {
  const outside = a.edgeBytes + a.logitsBytes;
  if (!gradientCheckpointing) return a.visionBytes + a.decoderBytes + outside;
  return a.checkpointInputsBytes + Math.max(a.visionLayerBytes, a.decoderLayerBytes) + outside;
}

/** Bytes an inference pass (no tape) holds at its peak: one layer's working set, the edges and the logits. */
export function inferenceActivationBytes(a: ActivationEstimate): number {
  return Math.max(a.visionLayerBytes, a.decoderLayerBytes) + a.edgeBytes + a.logitsBytes;
}
