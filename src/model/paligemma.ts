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
import { paliGemmaParamSpecs, toCheckpointLayout } from "../io/keymap.js";
import { buildModules, type PaliGemmaModules, type ParamMap } from "./build.js";
import { loadParams, randomParams } from "./load.js";
import { siglipVisionTower } from "./siglip.js";
import { gemma2Decoder } from "./gemma2.js";
import { additiveMask, applySlidingWindow, makePrefixLmMask } from "./masks.js";
import { ropeTables } from "../ops/rope.js";
import { gatherRows } from "../ops/gather.js";
import { matMul, matMulT, swapLastAxes } from "../ops/matmul.js";
import { fitsOneTensor } from "../ops/row-blocks.js";
import type { DecodeCache } from "./kvcache.js";
import { softcap } from "../ops/elementwise.js";
import { causalLmLoss, crossEntropy, lossRows } from "../ops/loss.js";
import { InputError, readInputs, type ForwardInputs, type HostInputs } from "./inputs.js";
import type { ForwardOptions, ForwardOutput, TrainableModel } from "./trainable.js";
import type { LinearLayer } from "./linear.js";
import { generate, type GenerateInputs, type GenerateOptions, type GenerateOutput } from "../generate/generate.js";

export type { ForwardInputs } from "./inputs.js";

export type { ForwardOptions, ForwardOutput, TrainableModel } from "./trainable.js";

export interface LoadOptions extends MemoryCheckOptions {
  /** Force a backend ("tensorflow", "wasm", "cpu"); default: the best present (see backend/select.ts). */
  backend?: BackendName;
}

/** A linear slot of the model, by its HF module path (e.g. `language_model.model.layers.0.self_attn.q_proj`). */
export interface LinearSlot {
  name: string;
  get(): LinearLayer;
  set(layer: LinearLayer): void;
}

export class PaliGemmaForConditionalGeneration implements TrainableModel {
  readonly modules: PaliGemmaModules;

  constructor(
    readonly config: PaliGemmaConfig,
    private readonly params: ParamMap,
  ) {
    this.modules = buildModules(config, params);
  }

  /**
   * Load `config.json` and the safetensors weights (single file or sharded) from a HF checkpoint directory.
   * Before reading any weight, the memory plan (`options.memoryPlan`, default inference) is checked against the
   * backend's limit: a MemoryPlanError names the figure, the limit and the ways out (`memoryCheck: false` skips it).
   */
  static async fromPretrained(dir: string, options: LoadOptions = {}): Promise<PaliGemmaForConditionalGeneration> {
    await initBackend({ backend: options.backend });
    const config = await loadPaliGemmaConfig(dir);
    checkMemoryBeforeLoad(config, options, memoryLimit(), dir);
    return new PaliGemmaForConditionalGeneration(config, await loadParams(config, dir));
  }

  /** A randomly initialised model (seeded) for tests and benchmarks. */
  static async fromConfig(config: PaliGemmaConfig, options: LoadOptions & { seed?: number; std?: number } = {}) {
    await initBackend({ backend: options.backend });
    return new PaliGemmaForConditionalGeneration(config, randomParams(config, options));
  }

  /** Every parameter by its HF checkpoint name (internal layout; the tied lm_head is `embed_tokens`). */
  namedParameters(): Map<string, tf.Variable> {
    return new Map(this.params);
  }

  /**
   * Every linear layer as a named slot: the injection point for LoRA and quantized layers (replace with `set`;
   * no module surgery by string path). Names are HF module paths, the PEFT `target_modules` vocabulary.
   */
  namedLinears(): LinearSlot[] {
    const slots: LinearSlot[] = [];
    const add = <K extends string>(prefix: string, owner: Record<K, LinearLayer>, key: K, hf: string) =>
      slots.push({ name: `${prefix}${hf}`, get: () => owner[key], set: (l) => (owner[key] = l) });
    const V = "vision_tower.vision_model.encoder.layers.";
    this.modules.visionTower.layers.forEach((l, i) => {
      const o = l as unknown as Record<string, LinearLayer>;
      add(`${V}${i}.`, o, "qProj", "self_attn.q_proj");
      add(`${V}${i}.`, o, "kProj", "self_attn.k_proj");
      add(`${V}${i}.`, o, "vProj", "self_attn.v_proj");
      add(`${V}${i}.`, o, "outProj", "self_attn.out_proj");
      add(`${V}${i}.`, o, "fc1", "mlp.fc1");
      add(`${V}${i}.`, o, "fc2", "mlp.fc2");
    });
    add("", this.modules as unknown as Record<string, LinearLayer>, "projector", "multi_modal_projector.linear");
    const T = "language_model.model.layers.";
    this.modules.languageModel.layers.forEach((l, i) => {
      const o = l as unknown as Record<string, LinearLayer>;
      for (const [key, hf] of [
        ["qProj", "self_attn.q_proj"], ["kProj", "self_attn.k_proj"], ["vProj", "self_attn.v_proj"],
        ["oProj", "self_attn.o_proj"], ["gateProj", "mlp.gate_proj"], ["upProj", "mlp.up_proj"], ["downProj", "mlp.down_proj"],
      ] as const) add(`${T}${i}.`, o, key, hf);
    });
    return slots;
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
  imageFeatures(pixelValues: tf.Tensor, keepHidden = false): { features: tf.Tensor; visionHiddenStates?: tf.Tensor[] } {
    const vis = siglipVisionTower(this.modules.visionTower, pixelValues, keepHidden);
    const features = tf.tidy(() =>
      tf.div(this.modules.projector.forward(vis.lastHiddenState), Math.sqrt(this.config.textConfig.hiddenSize)),
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
   * Logits from final hidden states: tied LM head (h·Eᵀ), then the final soft-cap. float32[N,D] → float32[N,V].
   * During generation Eᵀ is computed once per call (`lmHeadT`); otherwise the transpose is part of the graph so the
   * tied embedding receives the head's gradient.
   */
  lmHeadRows(h: tf.Tensor, lmHeadT: tf.Tensor | null = null): tf.Tensor {
    return tf.tidy(() => {
      const cap = this.config.textConfig.finalLogitSoftcapping;
      const logits = lmHeadT ? matMul(h, lmHeadT) : matMulT(h, this.modules.languageModel.embedTokens);
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

  /** Vision tower, merge and decoder for validated inputs (call inside a tidy). */
  private decodeAll(inputs: ForwardInputs, x: HostInputs, keep: boolean) {
    const { B, L } = x;
    const tc = this.config.textConfig;
    const style = x.tokenTypeIds && x.labels ? "training" : "inference";
    const allowed = makePrefixLmMask(x.attentionMask, x.tokenTypeIds, B, L, style);
    const positions = Array.from({ length: B }, () => Array.from({ length: L }, (_, i) => i + 1));
    const rope = ropeTables(positions, tc.headDim, tc.ropeTheta);
    const globalMask = additiveMask(allowed, B, L, L);
    const slidingMask =
      tc.slidingWindow !== null ? additiveMask(applySlidingWindow(allowed, B, L, tc.slidingWindow), B, L, L) : globalMask;
    const img = inputs.pixelValues ? this.imageFeatures(inputs.pixelValues, keep) : null;
    const embeds = this.embedInputs(x.inputIds, B, L, img?.features ?? null);
    const dec = gemma2Decoder(this.modules.languageModel, embeds, { rope, globalMask, slidingMask }, keep);
    return { dec, img };
  }

  /**
   * The training/scoring forward. With `tokenTypeIds` AND `labels` the prefix-LM training mask is used, otherwise
   * the inference mask (whole input bidirectional), exactly as HF 4.47 decides. Positions are 1..L.
   * The caller owns (and disposes) the returned tensors.
   */
  forward(inputs: ForwardInputs, options: ForwardOptions = {}): ForwardOutput {
    const x = readInputs(inputs, this.config);
    const keep = options.outputHiddenStates ?? false;
    return tf.tidy(() => {
      const { dec, img } = this.decodeAll(inputs, x, keep);
      const logits = this.lmHead(dec.hidden);
      const o: ForwardOutput = { logits };
      if (x.labels) o.loss = causalLmLoss(logits, x.labels, x.attentionMask);
      if (keep) {
        o.hiddenStates = dec.hiddenStates;
        o.visionHiddenStates = img?.visionHiddenStates;
        o.imageFeatures = img?.features;
      }
      return o as unknown as tf.TensorContainer;
    }) as unknown as ForwardOutput;
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
      const { dec } = this.decodeAll(inputs, x, false);
      const D = this.config.textConfig.hiddenSize;
      const h = gatherRows(tf.reshape(dec.hidden, [x.B * x.L, D]), rows); // [K,D]
      return crossEntropy(this.lmHeadRows(h), targets) as tf.Scalar;
    });
  }

  /**
   * Run the prompt once and return the last position's logits and a KV cache (HF generate's prefill).
   * promptIds: one unpadded row; pixelValues float32[1,C,H,W]. Positions 1..n; inference mask.
   */
  prefill(pixelValues: tf.Tensor | null, promptIds: Int32Array): { logits: tf.Tensor; cache: DecodeCache } {
    const tc = this.config.textConfig;
    const n = promptIds.length;
    const cache: DecodeCache = this.modules.languageModel.layers.map(() => null);
    const E = this.modules.languageModel.embedTokens; // [V,D]; Eᵀ once per call, unless too big for one tensor (row blocks then)
    if (fitsOneTensor(E)) cache.lmHeadT = tf.tidy(() => swapLastAxes(E)); // [D,V], freed with the cache
    const allowed = new Uint8Array(n * n).fill(1);
    const logits = tf.tidy(() => {
      const rope = ropeTables([Array.from({ length: n }, (_, i) => i + 1)], tc.headDim, tc.ropeTheta);
      const globalMask = additiveMask(allowed, 1, n, n);
      const slidingMask = tc.slidingWindow !== null ? additiveMask(applySlidingWindow(allowed, 1, n, tc.slidingWindow), 1, n, n) : globalMask;
      const img = pixelValues ? this.imageFeatures(pixelValues) : null;
      const embeds = this.embedInputs(promptIds, 1, n, img?.features ?? null);
      const dec = gemma2Decoder(this.modules.languageModel, embeds, { rope, globalMask, slidingMask, cache });
      const last = tf.slice(dec.hidden, [0, n - 1, 0], [1, 1, -1]);
      return tf.reshape(this.lmHead(last, cache.lmHeadT), [1, tc.vocabSize]);
    });
    return { logits, cache };
  }

  /**
   * One decoding step for R rows that share a cache of equal length: tokens int32 host [R] at 0-based index
   * `index` (position index+1). Generated tokens attend causally to everything cached. Returns float32[R,V].
   */
  decodeStep(tokens: Int32Array, index: number, cache: DecodeCache): tf.Tensor {
    const tc = this.config.textConfig;
    const R = tokens.length;
    return tf.tidy(() => {
      const rope = ropeTables(Array.from({ length: R }, () => [index + 1]), tc.headDim, tc.ropeTheta);
      const embeds = this.embedInputs(tokens, R, 1, null);
      const dec = gemma2Decoder(this.modules.languageModel, embeds, { rope, globalMask: null, slidingMask: null, cache });
      return tf.reshape(this.lmHead(dec.hidden, cache.lmHeadT ?? null), [R, tc.vocabSize]);
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


