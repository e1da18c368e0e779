/**
 * `planMemory`: what a PaliGemma 2 configuration needs in memory, before anything is allocated. Pure arithmetic
 * from a `PaliGemmaConfig` and the layer table of `model/layers.ts` (the one list of tensors); no TF.js.
 *
 *     const plan = planMemory(config, { mode: "qlora", batchSize: 4, textTokens: 128, gradientCheckpointing: true });
 *     console.log(formatMemoryPlan(plan));
 *
 * Weights are counted by storage format: on disk (BF16 for published checkpoints), resident (float32, what the
 * loader uploads), and quantized when QLoRA is asked (NF4 or int8 codes + per-block absmax, double-quantized absmax
 * as bitsandbytes with `bnb_4bit_use_double_quant`). The tied embedding, norms and biases stay float32 (as
 * `quantizeModel` and bitsandbytes keep them). Optimizer state is AdamW's two float32 moments per trainable value.
 */
import type { PaliGemmaConfig } from "../config/types.js";
import type { ParamSpec } from "../io/keymap.js";
import { paliGemmaParamSpecs } from "../model/layers.js";
import { PALIGEMMA_PROJECTIONS } from "../lora/config.js";
import {
  estimateActivations,
  inferenceActivationBytes,
  trainingActivationBytes,
  type ActivationEstimate,
} from "./activations.js";

export type TrainingMode = "inference" | "full" | "lora" | "qlora";

/** What the plan is for. Every field optional; defaults below. */
export interface MemoryPlanOptions {
  /** "inference" (load + generate), "full" fine-tune, "lora", or "qlora" (quantized base + LoRA). Default "inference". */
  mode?: TrainingMode;
  /** Rows per step. Default 1. */
  batchSize?: number;
  /** Text tokens per row (prompt + suffix), image tokens added from the config. Default 128. */
  textTokens?: number;
  /** Rows per sample whose logits are computed (`computeLoss` keeps labelled rows only). Default `textTokens`. */
  labelledTokens?: number;
  /** Recompute each layer in the backward pass (`gradientCheckpointingEnable()`). Default false. */
  gradientCheckpointing?: boolean;
  /** LoRA rank. Default 8. */
  loraRank?: number;
  /** LoRA target modules as PEFT suffixes. Default the seven projections (`LORA_PRESETS.maestro`). */
  loraTargets?: readonly string[];
  /** QLoRA storage: 4 (NF4) or 8 (int8) bits, block size, double quantization. Default NF4, 64, true. */
  quant?: { bits?: 4 | 8; blockSize?: number; doubleQuant?: boolean };
  /** Bytes per value of the checkpoint on disk. Default 2 (BF16, as published). */
  diskBytesPerValue?: number;
  /**
   * "qlora" only: the loader quantizes each linear as it reads it (`fromPretrained` with `quantizationConfig`), so
   * loading peaks at the quantized model + one tensor. `false`: float32 first, then `quantizeModel`. Default true.
   */
  quantizeWhileLoading?: boolean;
}

export interface MemoryPlanRow {
  what: string;
  bytes: number;
  /** Counted in the peak (false: shown for information, e.g. disk size). */
  counted: boolean;
  note: string;
}

export interface MemoryPlan {
  options: Required<Omit<MemoryPlanOptions, "quant">> & { quant: { bits: 4 | 8; blockSize: number; doubleQuant: boolean } };
  /** Parameter values (all tensors of the keymap). */
  parameters: number;
  /** Bytes of every parameter as float32 (what `fromPretrained` makes resident). */
  float32WeightBytes: number;
  /** Bytes of the checkpoint's tensors on disk at `diskBytesPerValue`. */
  diskBytes: number;
  /** Bytes of the resident weights in this mode (quantized linears in "qlora"). */
  residentWeightBytes: number;
  /** Trainable values (all parameters in "full"; the LoRA A and B matrices in "lora"/"qlora"; 0 in "inference"). */
  trainableValues: number;
  /** Activation figures by part. */
  activations: ActivationEstimate;
  /** Activation bytes the forward pass keeps (plus the KV cache in "inference"). */
  activationBytes: number;
  /** Bytes the backward pass holds until it ends: activation gradients and transposed weights (0 in "inference"). */
  backwardBytes: number;
  /** Bytes while loading: the resident weights (float32, or quantized while loading) + one tensor in transit. */
  loadPeakBytes: number;
  /** Bytes during a step (or a generate call in "inference"). */
  stepPeakBytes: number;
  /** max(loadPeakBytes, stepPeakBytes). */
  peakBytes: number;
  rows: MemoryPlanRow[];
}

const F32 = 4;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** PEFT's list rule: a module matches a target when its name is the target or ends with `.target`. */
function matchesTarget(module: string, targets: readonly string[]): boolean {
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

/** The float linear weights `quantizeModel` replaces: every "linear" layout weight (the embedding is "plain"). */
function linearWeights(specs: readonly ParamSpec[]): ParamSpec[] {
  return specs.filter((s) => s.layout === "linear");
}

/** Device bytes of one quantized [out, in] matrix, as `uploadQuantized` stores it (int32 words, padded). */
export function quantizedMatrixBytes(values: number, quant: MemoryPlan["options"]["quant"]): number {
  const blocks = Math.ceil(values / quant.blockSize);
  const codes = (blocks * quant.blockSize * quant.bits) / 8; // NF4: two values a byte; int8: one
  if (!quant.doubleQuant) return codes + blocks * F32;
  const groupSize = 256; // bitsandbytes' absmax group
  const groups = Math.ceil(blocks / groupSize);
  return codes + groups * groupSize /* uint8 codes, padded */ + groups * F32 /* absmax2 */ + F32 /* offset */;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`planMemory: ${name} must be a positive integer; got ${v}`);
  return v;
}

/** Fill defaults and validate (field named in the message). */
function resolveOptions(o: MemoryPlanOptions): MemoryPlan["options"] {
  const mode = o.mode ?? "inference";
  if (!["inference", "full", "lora", "qlora"].includes(mode)) {
    throw new RangeError(`planMemory: mode must be "inference", "full", "lora" or "qlora"; got ${JSON.stringify(mode)}`);
  }
  const textTokens = positiveInt("textTokens", o.textTokens ?? 128);
  const bits = o.quant?.bits ?? 4;
  if (bits !== 4 && bits !== 8) throw new RangeError(`planMemory: quant.bits must be 4 or 8; got ${bits}`);
  return {
    mode,
    batchSize: positiveInt("batchSize", o.batchSize ?? 1),
    textTokens,
    labelledTokens: positiveInt("labelledTokens", o.labelledTokens ?? textTokens),
    gradientCheckpointing: o.gradientCheckpointing ?? false,
    loraRank: positiveInt("loraRank", o.loraRank ?? 8),
    loraTargets: o.loraTargets ?? PALIGEMMA_PROJECTIONS,
    quant: { bits, blockSize: positiveInt("quant.blockSize", o.quant?.blockSize ?? 64), doubleQuant: o.quant?.doubleQuant ?? true },
    diskBytesPerValue: o.diskBytesPerValue ?? 2,
    quantizeWhileLoading: o.quantizeWhileLoading ?? true,
  };
}

/** What `cfg` needs in memory for `options` (see the file doc). Throws a RangeError naming a bad option. */
export function planMemory(cfg: PaliGemmaConfig, options: MemoryPlanOptions = {}): MemoryPlan {
  const o = resolveOptions(options);
  const specs = paliGemmaParamSpecs(cfg);
  const parameters = specs.reduce((s, p) => s + product(p.hfShape), 0);
  const float32WeightBytes = parameters * F32;
  const linears = linearWeights(specs);

  let residentWeightBytes = float32WeightBytes;
  let quantNote = "";
  if (o.mode === "qlora") {
    const linearValues = linears.reduce((s, p) => s + product(p.hfShape), 0);
    const quantBytes = linears.reduce((s, p) => s + quantizedMatrixBytes(product(p.hfShape), o.quant), 0);
    residentWeightBytes = float32WeightBytes - linearValues * F32 + quantBytes;
    quantNote = `${linears.length} linears ${o.quant.bits === 4 ? "NF4" : "int8"} (block ${o.quant.blockSize}` +
      `${o.quant.doubleQuant ? ", double-quantized absmax" : ""}); embedding, norms, biases float32`;
  }

  let trainableValues = 0;
  let loraModules = 0;
  if (o.mode === "full") trainableValues = parameters;
  if (o.mode === "lora" || o.mode === "qlora") {
    for (const p of linears) {
      if (!matchesTarget(p.name.replace(/\.weight$/, ""), o.loraTargets)) continue;
      const [out, inp] = p.hfShape as [number, number];
      trainableValues += o.loraRank * (inp + out); // A: [r, in], B: [out, r]
      loraModules++;
    }
  }

  const activations = estimateActivations(cfg, {
    batchSize: o.batchSize,
    textTokens: o.textTokens,
    logitRows: o.mode === "inference" ? 1 : o.labelledTokens,
  });
  const tc = cfg.textConfig;
  const kvCacheBytes = o.mode === "inference"
    ? F32 * 2 * tc.numHiddenLayers * o.batchSize * activations.sequenceLength * tc.numKeyValueHeads * tc.headDim
    : 0;
  const activationBytes = o.mode === "inference"
    ? inferenceActivationBytes(activations) + kvCacheBytes
    : trainingActivationBytes(activations, o.gradientCheckpointing);
  // QLoRA dequantizes one weight at a time to float32 for its matmul (and its gradient)
  const largestLinear = Math.max(0, ...linears.map((p) => product(p.hfShape)));
  const dequantBytes = o.mode === "qlora" ? 2 * largestLinear * F32 : 0;

  // The backward pass (TF.js engine.gradients) runs in one tidy: the gradient of every kept activation lives until
  // it ends, and so does each linear's transposed weight (ops/matmul.ts's explicit-transpose gradient, dx = dy·Wᵀ;
  // QLoRA transposes the dequantized weight). With recomputation, a layer's transients die with its own gradient
  // call: one layer's weights at a time.
  const linearBytes = linears.reduce((s, p) => s + F32 * product(p.hfShape), 0);
  const layerLinearBytes = Math.max(
    ...[cfg.visionConfig.numHiddenLayers, tc.numHiddenLayers].map((n, tower) => {
      const inTower = linears.filter((p) => p.name.startsWith(tower === 0 ? "vision_tower." : "language_model."));
      return inTower.reduce((s, p) => s + F32 * product(p.hfShape), 0) / n;
    }),
  );
  const backwardBytes = o.mode === "inference" ? 0 : activationBytes + (o.gradientCheckpointing ? layerLinearBytes : linearBytes);

  const loraBytes = o.mode === "lora" || o.mode === "qlora" ? trainableValues * F32 : 0;
  const gradBytes = trainableValues * F32;
  const adamBytes = 2 * trainableValues * F32;
  // The tied LM head in training, logits = h·Eᵀ: a full fine-tune keeps Eᵀ [D, V] until the backward pass ends
  // and gives it a gradient (ops/matmul.ts's matMulT); with the embedding frozen (LoRA, QLoRA) Eᵀ is a temporary
  // of the forward (matMulTFrozen). The real 3B config's Eᵀ is 2.37 GB.
  const vocabBytes = F32 * tc.vocabSize * tc.hiddenSize;
  const lmHeadBytes = o.mode === "inference" ? 0 : o.mode === "full" ? 2 * vocabBytes : vocabBytes;
  const stepPeakBytes = residentWeightBytes + loraBytes + gradBytes + adamBytes + activationBytes + backwardBytes + dequantBytes + lmHeadBytes;
  // Loading streams one tensor at a time: besides what stays resident, its bytes as read, and a float32 copy when
  // the resident form is another array (a transposed linear, or the codes of a quantized one).
  const quantizedWhileLoading = o.mode === "qlora" && o.quantizeWhileLoading;
  const transitBytes = Math.max(...specs.map((p) => product(p.hfShape) * (o.diskBytesPerValue + (p.layout === "plain" ? 0 : F32))));
  const loadPeakBytes = (quantizedWhileLoading ? residentWeightBytes : float32WeightBytes) + transitBytes;
  const diskBytes = parameters * o.diskBytesPerValue;

  const T = activations.sequenceLength;
  const rows: MemoryPlanRow[] = [
    { what: "checkpoint on disk", bytes: diskBytes, counted: false, note: `${o.diskBytesPerValue * 8}-bit values; read one tensor at a time` },
    {
      what: "weights while loading",
      bytes: loadPeakBytes,
      counted: true,
      note: quantizedWhileLoading
        ? "quantized while reading + one tensor in transit (no float32 model)"
        : `float32, all resident + one tensor in transit${o.mode === "qlora" ? " (quantizeModel after loading)" : ""}`,
    },
    {
      what: "weights, resident",
      bytes: residentWeightBytes,
      counted: true,
      note: o.mode === "qlora" ? quantNote : `float32, ${parameters.toLocaleString("en-US")} values`,
    },
  ];
  if (loraBytes) rows.push({ what: "LoRA A and B", bytes: loraBytes, counted: true, note: `r=${o.loraRank} on ${loraModules} linears` });
  if (gradBytes) rows.push({ what: "gradients", bytes: gradBytes, counted: true, note: "float32, one per trainable value" });
  if (adamBytes) rows.push({ what: "AdamW moments", bytes: adamBytes, counted: true, note: "float32 m and v" });
  rows.push({
    what: o.mode === "inference" ? "activations + KV cache" : "activations",
    bytes: activationBytes,
    counted: true,
    note: `B=${o.batchSize}, T=${T} (${cfg.numImageTokens} image + ${o.textTokens} text)` +
      (o.mode === "inference" ? "" : o.gradientCheckpointing ? ", gradient checkpointing" : ", all layers kept") +
      (o.mode === "inference" ? "" : `; logits at ${o.labelledTokens} labelled rows`),
  });
  if (backwardBytes) {
    rows.push({
      what: "backward transients",
      bytes: backwardBytes,
      counted: true,
      note: `gradients of the kept activations + transposed weights (${o.gradientCheckpointing ? "one layer" : "every linear"}), until the pass ends`,
    });
  }
  if (lmHeadBytes) {
    rows.push({
      what: "LM head transients",
      bytes: lmHeadBytes,
      counted: true,
      note: o.mode === "full" ? "transposed tied embedding [D,V] for h·Eᵀ and its gradient" : "transposed tied embedding [D,V] for h·Eᵀ, during the forward only (frozen)",
    });
  }
  if (dequantBytes) rows.push({ what: "dequantized weight", bytes: dequantBytes, counted: true, note: "largest linear in float32, and its gradient" });

  return {
    options: o,
    parameters,
    float32WeightBytes,
    diskBytes,
    residentWeightBytes,
    trainableValues,
    activations,
    activationBytes,
    backwardBytes,
    loadPeakBytes,
    stepPeakBytes,
    peakBytes: Math.max(loadPeakBytes, stepPeakBytes),
    rows,
  };
}
