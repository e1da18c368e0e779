/**
 * PaliGemma 2 = SigLIP vision tower → linear projector → Gemma 2 decoder, with image features written into the
 * text sequence at `<image>` positions and a prefix-LM mask (Beyer et al. 2024; Steiner et al. 2024).
 * API mirrors HF `PaliGemmaForConditionalGeneration` (4.47):
 *
 *     const model = await PaliGemmaForConditionalGeneration.fromPretrained("./paligemma2-3b-pt-224");
 *     const { logits, loss } = model.forward({ pixelValues, inputIds, attentionMask, tokenTypeIds, labels });
 *     const { sequences } = await model.generate({ pixelValues, inputIds, attentionMask }, { maxNewTokens: 32 });
 */
import { tf } from "../tf.js";
import type { PaliGemmaConfig } from "../config/types.js";
import { ensureDir, writeFileAtomic } from "../util/atomic-write.js";
import { join } from "node:path";
import { configToHfJson, loadPaliGemmaConfig } from "../config/paligemma.js";
import { saveShardedSafetensors, type TensorToWrite } from "../io/safetensors-write.js";
import { initBackend, type BackendName } from "../backend/select.js";
import { checkMemoryBeforeLoad, type MemoryCheckOptions } from "../memory/check.js";
import { memoryLimit } from "../memory/limit.js";
import { resolveQuantization, type BitsAndBytesConfig, type ResolvedQuantization } from "../config/quantization.js";
import type { ProgressCallback } from "../events/progress.js";
import { streamCheckpoint } from "./stream-load.js";
import { toCheckpointLayout } from "../io/keymap.js";
import { paliGemmaParamSpecs } from "./layers.js";
import { buildModules, type PaliGemmaModules, type ParamMap } from "./build.js";
import { loadParamsInto, randomParams } from "./load.js";
import { siglipVisionTower } from "./siglip.js";
import { gemma2Decoder, isSlidingLayer, type AttentionInputs } from "./gemma2.js";
import { INFERENCE, callSeed, type ForwardContext } from "./context.js";
import { additiveMask, applySlidingWindow, makePrefixLmMask } from "./masks.js";
import { ropeTables } from "../ops/rope.js";
import { gatherRows } from "../ops/gather.js";
import { matMul, matMulT, matMulTFrozen, swapLastAxes } from "../ops/matmul.js";
import { fitsOneTensor } from "../ops/row-blocks.js";
import { KVCache } from "./kvcache.js";
import { softcap } from "../ops/elementwise.js";
import { causalLmLoss, crossEntropy, lossRows } from "../ops/loss.js";
import { InputError, readInputs, type ForwardInputs, type HostInputs } from "./inputs.js";
import type { ForwardOptions, ForwardOutput, TrainableModel } from "./trainable.js";
import type { LinearLayer, LinearSlot } from "./linear.js";
import { generate, type GenerateInputs, type GenerateOptions, type GenerateOutput } from "../generate/generate.js";

export type { ForwardInputs } from "./inputs.js";

export type { ForwardOptions, ForwardOutput, TrainableModel } from "./trainable.js";

export interface LoadOptions extends MemoryCheckOptions {
  /** Force a backend ("tensorflow", "wasm", "cpu"); default: the best present (see backend/select.ts). */
  backend?: BackendName;
}

export interface PretrainedOptions extends LoadOptions {
  /**
   * Quantize the linears while reading the checkpoint (transformers' `quantization_config`): each float32 weight
   * exists only while it is quantized, so the float32 model is never resident. Equals `fromPretrained` then
   * `quantizeModel` bit for bit. The memory check then plans "qlora" unless `memoryPlan` says otherwise.
   */
  quantizationConfig?: BitsAndBytesConfig;
  /** `load` progress, one update per tensor. */
  onProgress?: ProgressCallback;
}

/** A linear slot of the model, by its HF module path (e.g. `language_model.model.layers.0.self_attn.q_proj`). */
export type { LinearSlot } from "./linear.js";

export class PaliGemmaForConditionalGeneration implements TrainableModel {
  readonly modules: PaliGemmaModules;
  private isTraining = false;
  private trainingSeed = 0;
  private forwardCalls = 0;

  constructor(
    readonly config: PaliGemmaConfig,
    private readonly params: ParamMap,
    /** Layers that take their slot instead of a float Linear over `params` (quantized while loading). */
    linears?: ReadonlyMap<string, LinearLayer>,
  ) {
    this.modules = buildModules(config, params, linears);
  }

  /**
   * Load `config.json` and the safetensors weights (single file or sharded) from a HF checkpoint directory.
   * Before reading any weight, the memory plan (`options.memoryPlan`, default inference) is checked against the
   * backend's limit: a MemoryPlanError names the figure, the limit and the ways out (`memoryCheck: false` skips it).
   */
  static async fromPretrained(dir: string, options: PretrainedOptions = {}): Promise<PaliGemmaForConditionalGeneration> {
    const quantize = options.quantizationConfig === undefined ? undefined : resolveQuantization(options.quantizationConfig);
    await initBackend({ backend: options.backend });
    const config = await loadPaliGemmaConfig(dir);
    checkMemoryBeforeLoad(config, withQuantizedPlan(options, quantize), memoryLimit(), dir);
    const { params, linears } = await streamCheckpoint(config, dir, { quantize, onProgress: options.onProgress });
    return new PaliGemmaForConditionalGeneration(config, params, linears);
  }

  /**
   * A randomly initialised model (seeded) for tests and benchmarks. The same memory check as `fromPretrained`
   * runs first (`memoryCheck: false` skips it).
   */
  static async fromConfig(config: PaliGemmaConfig, options: LoadOptions & { seed?: number; std?: number } = {}) {
    await initBackend({ backend: options.backend });
    checkMemoryBeforeLoad(config, options, memoryLimit(), "fromConfig");
    return new PaliGemmaForConditionalGeneration(config, randomParams(config, options));
  }

  /** Every parameter by its HF checkpoint name (internal layout; a tied lm_head is `embed_tokens`). */
  namedParameters(): Map<string, tf.Variable> {
    return new Map(this.params);
  }

  /**
   * Every linear layer as a named slot: the injection point for LoRA and quantized layers (replace with `set`;
   * no module surgery by string path). Names are HF module paths, the PEFT `target_modules` vocabulary; the slots
   * are the ones the layer table's linear factory created (model/build.ts), in table order.
   */
  namedLinears(): LinearSlot[] {
    return [...this.modules.linearSlots];
  }

  /**
   * Drop a parameter from this model's registry and free it (a quantized layer that replaced a float weight calls
   * this). The slot that used it must have been replaced first.
   */
  releaseParameter(name: string): void {
    const v = this.params.get(name);
    if (!v) throw new Error(`releaseParameter: no parameter named ${name}`);
    v.dispose();
    this.params.delete(name);
  }

  /**
   * Gradient checkpointing for every vision and decoder layer (HF `gradient_checkpointing_enable()`): training
   * keeps one layer's activations at a time and recomputes each layer in the backward pass. Gradients are unchanged.
   */
  gradientCheckpointingEnable(enabled = true): void {
    this.modules.visionTower.gradientCheckpointing = enabled;
    this.modules.languageModel.gradientCheckpointing = enabled;
  }

  get isGradientCheckpointing(): boolean {
    return this.modules.languageModel.gradientCheckpointing ?? false;
  }

  /** Whether dropout (LoRA's, when adapters sit in the slots) is active: torch `module.training`. Default false. */
  get training(): boolean {
    return this.isTraining;
  }

  /** Training mode (torch `model.train()`): forwards draw dropout masks. Generation always runs without. */
  train(mode = true): this {
    this.isTraining = mode;
    return this;
  }

  /** Inference mode (torch `model.eval()`). */
  eval(): this {
    return this.train(false);
  }

  /** The dropout masks of the following forwards derive from this seed (the Trainer sets one per micro-batch). */
  setTrainingSeed(seed: number): void {
    this.trainingSeed = seed >>> 0;
    this.forwardCalls = 0;
  }

  /** The parameters an optimizer should update: those whose `trainable` flag is set (freezing clears it). */
  trainableParameters(): Map<string, tf.Variable> {
    return new Map([...this.params].filter(([, v]) => v.trainable));
  }

  /**
   * Write a Hugging Face checkpoint directory (`config.json` + `model.safetensors`, or shards + index above
   * `maxShardBytes`, default 5 GB like `save_pretrained`) that `fromPretrained` and transformers both load.
   */
  async savePretrained(dir: string, options: { maxShardBytes?: number; dtype?: "F32" | "BF16" | "F16" } = {}): Promise<void> {
    await ensureDir(dir);
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of await this.stateDict()) tensors[name] = { dtype: options.dtype ?? "F32", shape: t.shape, data: t.data };
    await saveShardedSafetensors(dir, tensors, { maxShardBytes: options.maxShardBytes ?? 5e9, metadata: { format: "pt" } });
    await writeFileAtomic(join(dir, "config.json"), JSON.stringify(configToHfJson(this.config), null, 2) + "\n");
  }

  /** A Trainer checkpoint of the base model is its HF checkpoint: it restores every parameter exactly (F32). */
  async saveState(dir: string): Promise<void> {
    await this.savePretrained(dir);
  }

  /** Put the trainable parameters back from the HF checkpoint in `dir` (through this model's own loader). */
  async loadState(dir: string): Promise<void> {
    await loadParamsInto(this.config, dir, this.trainableParameters());
  }

  /** Every checkpoint tensor in the checkpoint's own layout, as host arrays (what a full fine-tune saves). */
  async stateDict(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const spec of paliGemmaParamSpecs(this.config)) {
      const v = this.params.get(spec.name)!;
      const data = (await v.data()) as Float32Array;
      out.set(spec.name, { shape: spec.hfShape.slice(), data: toCheckpointLayout(spec, data) });
    }
    return out;
  }

  /** float32[B,C,H,W] → image features float32[B,N,D_text] (projector output ÷ √D_text). */
  imageFeatures(pixelValues: tf.Tensor, keepHidden = false, ctx: ForwardContext = INFERENCE): { features: tf.Tensor; visionHiddenStates?: tf.Tensor[] } {
    const vis = siglipVisionTower(this.modules.visionTower, pixelValues, keepHidden, ctx);
    const features = tf.tidy(() =>
      tf.div(this.modules.projector.forward(vis.lastHiddenState, ctx), Math.sqrt(this.config.textConfig.hiddenSize)),
    );
    vis.lastHiddenState.dispose();
    return { features, visionHiddenStates: vis.hiddenStates };
  }

  /**
   * Token embeddings with the n-th `<image>` position (batch-major) replaced by the n-th image feature vector
   * (HF `masked_scatter`). ids: int32 host [B·L]; features: float32[B,N,D] → float32[B,L,D] (before ×√D).
   */
  embedInputs(ids: Int32Array, B: number, L: number, features: tf.Tensor | null): tf.Tensor {
    return tf.tidy(() => {
      const D = this.config.textConfig.hiddenSize;
      const text = tf.reshape(gatherRows(this.modules.languageModel.embedTokens, ids), [B, L, D]);
      const imageId = this.config.imageTokenIndex;
      const slot = new Int32Array(ids.length);
      const isImage = new Uint8Array(ids.length);
      let n = 0;
      for (let i = 0; i < ids.length; i++) if (ids[i] === imageId) (slot[i] = n++), (isImage[i] = 1);
      const available = features ? features.shape[0]! * features.shape[1]! : 0;
      if (n !== available) {
        throw new InputError(
          `inputIds hold ${n} <image> tokens (id ${imageId}) but the images give ${available} features ` +
            `(${features ? `${features.shape[0]} image(s) × ${features.shape[1]}` : "no pixelValues"}); ` +
            `each image needs exactly ${this.config.numImageTokens} <image> tokens`,
        );
      }
      if (n === 0) return text;
      const flat = tf.reshape(features!, [available, D]);
      const scattered = tf.reshape(gatherRows(flat, slot), [B, L, D]);
      return tf.where(tf.tensor3d(isImage, [B, L, 1], "bool").tile([1, 1, D]), scattered, text);
    });
  }

  /**
   * The LM head's weight float32[V,D] (HF `get_output_embeddings`): `embed_tokens` when tied (the default), else the
   * checkpoint's own `lm_head.weight` (`text_config.tie_word_embeddings: false`).
   */
  outputEmbeddings(): tf.Variable {
    const lm = this.modules.languageModel;
    return lm.lmHead ?? lm.embedTokens;
  }

  /**
   * Logits from final hidden states: the LM head (h·Wᵀ, W = `outputEmbeddings()`), then the final soft-cap.
   * float32[N,D] → float32[N,V]. During generation Wᵀ is computed once per call (`lmHeadT`); otherwise the transpose
   * is part of the graph so the (tied) weight receives the head's gradient, unless it is frozen (LoRA, QLoRA): then
   * Wᵀ is only a temporary (`matMulTFrozen`: no gradient for it, nothing held through the backward pass).
   */
  lmHeadRows(h: tf.Tensor, lmHeadT: tf.Tensor | null = null): tf.Tensor {
    return tf.tidy(() => {
      const cap = this.config.textConfig.finalLogitSoftcapping;
      const W = this.outputEmbeddings();
      const logits = lmHeadT ? matMul(h, lmHeadT) : W.trainable ? matMulT(h, W) : matMulTFrozen(h, W);
      return cap ? softcap(logits, cap) : logits;
    });
  }

  /** float32[B,L,D] → float32[B,L,V]. */
  lmHead(hidden: tf.Tensor, lmHeadT: tf.Tensor | null = null): tf.Tensor {
    return tf.tidy(() => {
      const [B, L, D] = hidden.shape as number[];
      return tf.reshape(this.lmHeadRows(tf.reshape(hidden, [B * L, D]), lmHeadT), [B, L, this.config.textConfig.vocabSize]);
    });
  }

  /**
   * RoPE tables and the global/sliding masks of one call, built once and read by every decoder layer. With
   * `tokenTypeIds` AND `labels` the prefix-LM training mask, otherwise the inference mask (HF 4.47); positions 1..L.
   */
  private attentionInputs(x: HostInputs): AttentionInputs {
    const { B, L } = x;
    const tc = this.config.textConfig;
    const allowed = makePrefixLmMask(x.attentionMask, x.tokenTypeIds, B, L, x.tokenTypeIds && x.labels ? "training" : "inference");
    const positions = Array.from({ length: B }, () => Array.from({ length: L }, (_, i) => i + 1));
    const globalMask = additiveMask(allowed, B, L, L);
    return {
      rope: ropeTables(positions, tc.headDim, tc.ropeTheta),
      globalMask,
      slidingMask: tc.slidingWindow !== null ? additiveMask(applySlidingWindow(allowed, B, L, tc.slidingWindow), B, L, L) : globalMask,
    };
  }

  /** Vision tower, merge and decoder for validated inputs (call inside a tidy); fills `ctx.cache` when given. */
  private decodeAll(pixelValues: tf.Tensor | null | undefined, x: HostInputs, keep: boolean, ctx: ForwardContext) {
    const img = pixelValues ? this.imageFeatures(pixelValues, keep, ctx) : null;
    const embeds = this.embedInputs(x.inputIds, x.B, x.L, img?.features ?? null);
    const dec = gemma2Decoder(this.modules.languageModel, embeds, this.attentionInputs(x), ctx, keep);
    return { dec, img };
  }

  /**
   * The context of one training/scoring forward: in training mode each call gets a fresh dropout seed derived from
   * the training seed (so successive forwards draw new masks, and a reseed repeats them); in eval mode none.
   */
  private nextForwardContext(): ForwardContext {
    return this.isTraining ? { training: true, dropoutSeed: callSeed(this.trainingSeed, ++this.forwardCalls) } : INFERENCE;
  }

  /**
   * The training/scoring forward. With `tokenTypeIds` AND `labels` the prefix-LM training mask is used, otherwise
   * the inference mask (whole input bidirectional), exactly as HF 4.47 decides. Positions are 1..L.
   * The caller owns (and disposes) the returned tensors.
   */
  forward(inputs: ForwardInputs, options: ForwardOptions = {}): ForwardOutput {
    const x = readInputs(inputs, this.config);
    const keep = options.outputHiddenStates ?? false;
    const t = tf.tidy(() => {
      const { dec, img } = this.decodeAll(inputs.pixelValues, x, keep, this.nextForwardContext());
      const logits = this.lmHead(dec.hidden);
      const loss = x.labels ? causalLmLoss(logits, x.labels, x.attentionMask) : undefined;
      return keep
        ? { logits, loss, hiddenStates: dec.hiddenStates, visionHiddenStates: img?.visionHiddenStates, imageFeatures: img?.features }
        : { logits, loss };
    });
    const o: ForwardOutput = { logits: t.logits };
    if (t.loss) o.loss = t.loss;
    if ("hiddenStates" in t) {
      o.hiddenStates = t.hiddenStates;
      o.visionHiddenStates = t.visionHiddenStates;
      o.imageFeatures = t.imageFeatures;
    }
    return o;
  }

  /**
   * The loss alone (scalar), equal to `forward(inputs).loss`, for training: logits are computed only at the
   * positions that predict a kept label, so memory and time for the vocabulary projection shrink by L/K.
   */
  computeLoss(inputs: ForwardInputs): tf.Scalar {
    const x = readInputs(inputs, this.config);
    if (!x.labels) throw new InputError("computeLoss: labels are required");
    const { rows, targets } = lossRows(x.labels, x.attentionMask, x.B, x.L, this.config.textConfig.vocabSize);
    return tf.tidy(() => {
      const { dec } = this.decodeAll(inputs.pixelValues, x, false, this.nextForwardContext());
      const D = this.config.textConfig.hiddenSize;
      const h = gatherRows(tf.reshape(dec.hidden, [x.B * x.L, D]), rows); // [K,D]
      return crossEntropy(this.lmHeadRows(h), targets) as tf.Scalar;
    });
  }

  /**
   * Run the prompt once and return the last position's logits and a KV cache (HF generate's prefill).
   * promptIds: one unpadded row; pixelValues float32[1,C,H,W]. Positions 1..n; inference mask.
   */
  prefill(pixelValues: tf.Tensor | null, promptIds: Int32Array): { logits: tf.Tensor; cache: KVCache } {
    const tc = this.config.textConfig;
    const n = promptIds.length;
    const cache = new KVCache(tc.numHiddenLayers, (i) => (isSlidingLayer(i) ? tc.slidingWindow : null));
    const W = this.outputEmbeddings(); // [V,D]; Wᵀ once per call, unless too big for one tensor (row blocks then)
    if (fitsOneTensor(W)) cache.lmHeadT = tf.tidy(() => swapLastAxes(W)); // [D,V], freed with the cache
    const prompt: HostInputs = { B: 1, L: n, inputIds: promptIds, attentionMask: new Int32Array(n).fill(1), tokenTypeIds: null, labels: null };
    const logits = tf.tidy(() => {
      const { dec } = this.decodeAll(pixelValues, prompt, false, { ...INFERENCE, cache });
      const last = tf.slice(dec.hidden, [0, n - 1, 0], [1, 1, -1]);
      return tf.reshape(this.lmHead(last, cache.lmHeadT), [1, tc.vocabSize]);
    });
    return { logits, cache };
  }

  /**
   * One decoding step for R rows that share a cache of equal length: tokens int32 host [R] at 0-based index
   * `index` (position index+1). Generated tokens attend causally to everything cached. Returns float32[R,V].
   */
  decodeStep(tokens: Int32Array, index: number, cache: KVCache): tf.Tensor {
    const tc = this.config.textConfig;
    const R = tokens.length;
    return tf.tidy(() => {
      const rope = ropeTables(Array.from({ length: R }, () => [index + 1]), tc.headDim, tc.ropeTheta, "halfSwap");
      const embeds = tf.reshape(this.embedInputs(tokens, R, 1, null), [R, tc.hiddenSize]); // rows: no reshapes per linear
      const dec = gemma2Decoder(this.modules.languageModel, embeds, { rope, globalMask: null, slidingMask: null }, { ...INFERENCE, cache });
      return this.lmHeadRows(dec.hidden, cache.lmHeadT); // [R,V]
    });
  }

  /** Greedy or beam-search generation with a KV cache; `sequences` = prompt + new ids per row, like HF. */
  generate(inputs: GenerateInputs, options: GenerateOptions = {}): Promise<GenerateOutput> {
    return generate(this, inputs, options);
  }

  /** Free every variable. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

/** The plan `fromPretrained` checks: with a quantizationConfig and no plan given, QLoRA with that storage. */
function withQuantizedPlan(options: PretrainedOptions, q: ResolvedQuantization | undefined): MemoryCheckOptions {
  if (!q || options.memoryPlan) return options;
  return { ...options, memoryPlan: { mode: "qlora", quant: { bits: q.bits, blockSize: q.blockSize, doubleQuant: q.doubleQuant } } };
}
