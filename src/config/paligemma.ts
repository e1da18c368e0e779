/**
 * PaliGemma 2 `config.json` → typed {@link PaliGemmaConfig}, with Hugging Face transformers 4.47 semantics.
 *
 * Port of (transformers v4.47.0, commit a5bb5284):
 *   - `models/paligemma/configuration_paligemma.py` (`PaliGemmaConfig.__init__`)
 *   - `models/gemma2/configuration_gemma2.py`       (`Gemma2Config.__init__` defaults)
 *   - `models/siglip/configuration_siglip.py`       (`SiglipVisionConfig.__init__` defaults)
 *
 * Hub configs are written with `to_json_file()` (`use_diff=True`): only keys that differ from the class defaults
 * are stored, so every omitted key must be filled with the default HF fills in. Unknown keys are ignored (HF
 * configs carry dozens of generation/bookkeeping keys). Everything is validated once, here, with a
 * {@link ConfigError} that names the dotted field, the value and the fix.
 */
import { readFile } from "node:fs/promises";
import * as path from "node:path";

import { ConfigError } from "./errors.js";
import type { Gemma2TextConfig, PaliGemmaConfig, SiglipVisionConfig } from "./types.js";

type JsonObject = Record<string, unknown>;

/** `Gemma2Config()` defaults (configuration_gemma2.py, v4.47; the Gemma 2 2B shapes). */
export const GEMMA2_DEFAULTS: Readonly<Gemma2TextConfig> = Object.freeze({
  modelType: "gemma2",
  vocabSize: 256000,
  hiddenSize: 2304,
  intermediateSize: 9216,
  numHiddenLayers: 26,
  numAttentionHeads: 8,
  numKeyValueHeads: 4,
  headDim: 256,
  rmsNormEps: 1e-6,
  ropeTheta: 10000.0,
  queryPreAttnScalar: 256,
  attnLogitSoftcapping: 50.0,
  finalLogitSoftcapping: 30.0,
  slidingWindow: 4096,
  hiddenActivation: "gelu_pytorch_tanh",
  maxPositionEmbeddings: 8192,
  tieWordEmbeddings: true,
  padTokenId: 0,
  bosTokenId: 2,
  eosTokenId: 1,
});

/** `SiglipVisionConfig()` defaults (configuration_siglip.py, v4.47; the SigLIP base/16 shapes). */
export const SIGLIP_VISION_DEFAULTS: Readonly<SiglipVisionConfig> = Object.freeze({
  hiddenSize: 768,
  intermediateSize: 3072,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  numChannels: 3,
  imageSize: 224,
  patchSize: 16,
  layerNormEps: 1e-6,
  hiddenAct: "gelu_pytorch_tanh",
});

/**
 * The vision config `PaliGemmaConfig` builds when `vision_config` is absent (configuration_paligemma.py):
 * `SiglipVisionConfig(intermediate_size=4096, hidden_size=1152, patch_size=14, image_size=224,
 * num_hidden_layers=27, num_attention_heads=16, vocab_size=257152, vision_use_head=False)`.
 * Note 4096, not So400m's 4304: real checkpoints always carry an explicit vision_config.
 */
export const PALIGEMMA_DEFAULT_VISION: Readonly<SiglipVisionConfig> = Object.freeze({
  ...SIGLIP_VISION_DEFAULTS,
  intermediateSize: 4096,
  hiddenSize: 1152,
  patchSize: 14,
  imageSize: 224,
  numHiddenLayers: 27,
  numAttentionHeads: 16,
});

/** `PaliGemmaConfig.__init__` keyword defaults (configuration_paligemma.py). */
export const PALIGEMMA_DEFAULTS = Object.freeze({ imageTokenIndex: 256000, projectionDim: 2048, padTokenId: 0 });

/** Typed accessors for one JSON object; every error names `<prefix><key>`. */
class Fields {
  constructor(
    private readonly obj: JsonObject,
    private readonly prefix: string,
    private readonly file: string,
  ) {}

  /** Dotted path of a key of this object. */
  path(key: string): string {
    return this.prefix + key;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  fail(key: string, fix: string, value: unknown = this.obj[key]): never {
    throw new ConfigError({ field: this.path(key), value, fix, file: this.file });
  }

  /** A positive integer (`hidden_size`, layer counts, ...); `dflt` when the key is absent. */
  posInt(key: string, dflt: number): number {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) this.fail(key, "expected a positive integer");
    return v;
  }

  /** A token id: an integer ≥ 0. */
  tokenId(key: string, dflt: number): number {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      this.fail(key, "expected a token id (an integer >= 0)");
    }
    return v;
  }

  /** A positive finite number (epsilons, rope_theta, query_pre_attn_scalar). */
  posNum(key: string, dflt: number): number {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) this.fail(key, "expected a positive number");
    return v;
  }

  /** A positive number (integer if `integer`), or `null` = disabled (HF tests `is not None`): softcaps, window. */
  positiveOrNull(key: string, dflt: number | null, integer: boolean): number | null {
    const v = this.obj[key];
    if (v === null) return null;
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !(integer ? Number.isInteger(v) : Number.isFinite(v)) || v <= 0) {
      this.fail(key, `expected a positive ${integer ? "integer" : "number"}, or null to disable it`);
    }
    return v;
  }

  str(key: string, dflt: string): string {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "string" || v === "") this.fail(key, "expected a non-empty string");
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "boolean") this.fail(key, "expected true or false");
    return v;
  }

  /** A nested object; `undefined` when absent or null (HF treats `None` as "use the default"). */
  object(key: string): JsonObject | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) this.fail(key, "expected a JSON object");
    return v;
  }
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const PALIGEMMA1_FIX =
  "PaliGemma 1 / Gemma 1 text models are not supported yet; PaliGemma 2 checkpoints have " +
  'text_config.model_type "gemma2"';

/** Gemma2Config(**text_config), with the v4.47 defaults for omitted keys. */
function parseGemma2(t: Fields): Gemma2TextConfig {
  const modelType = t.raw("model_type");
  if (modelType === undefined) {
    // PaliGemmaConfig: text_config["model_type"] = text_config.get("model_type", "gemma")
    t.fail("model_type", `Hugging Face reads a text_config without model_type as "gemma"; ${PALIGEMMA1_FIX}`);
  }
  if (modelType === "gemma") t.fail("model_type", PALIGEMMA1_FIX);
  if (modelType !== "gemma2") t.fail("model_type", 'expected "gemma2" (PaliGemma 2 text model)');
  if (t.bool("attention_bias", false)) {
    t.fail("attention_bias", "Gemma 2 has no attention biases; only false is supported");
  }
  const d = GEMMA2_DEFAULTS;
  // Gemma2Config reads `hidden_activation`; the legacy Gemma key `hidden_act` is accepted as a fallback.
  const act = t.raw("hidden_activation") !== undefined
    ? t.str("hidden_activation", d.hiddenActivation)
    : t.str("hidden_act", d.hiddenActivation);
  return {
    modelType: "gemma2",
    vocabSize: t.posInt("vocab_size", d.vocabSize),
    hiddenSize: t.posInt("hidden_size", d.hiddenSize),
    intermediateSize: t.posInt("intermediate_size", d.intermediateSize),
    numHiddenLayers: t.posInt("num_hidden_layers", d.numHiddenLayers),
    numAttentionHeads: t.posInt("num_attention_heads", d.numAttentionHeads),
    numKeyValueHeads: t.posInt("num_key_value_heads", d.numKeyValueHeads),
    headDim: t.posInt("head_dim", d.headDim),
    rmsNormEps: t.posNum("rms_norm_eps", d.rmsNormEps),
    ropeTheta: t.posNum("rope_theta", d.ropeTheta),
    queryPreAttnScalar: t.posNum("query_pre_attn_scalar", d.queryPreAttnScalar),
    attnLogitSoftcapping: t.positiveOrNull("attn_logit_softcapping", d.attnLogitSoftcapping, false),
    finalLogitSoftcapping: t.positiveOrNull("final_logit_softcapping", d.finalLogitSoftcapping, false),
    slidingWindow: t.positiveOrNull("sliding_window", d.slidingWindow, true),
    hiddenActivation: act,
    maxPositionEmbeddings: t.posInt("max_position_embeddings", d.maxPositionEmbeddings),
    tieWordEmbeddings: t.bool("tie_word_embeddings", d.tieWordEmbeddings),
    padTokenId: t.tokenId("pad_token_id", d.padTokenId),
    bosTokenId: t.tokenId("bos_token_id", d.bosTokenId),
    eosTokenId: t.tokenId("eos_token_id", d.eosTokenId),
  };
}

/** SiglipVisionConfig(**vision_config) over `base` (the Siglip defaults, or PaliGemma's default tower). */
function parseSiglip(v: Fields, base: Readonly<SiglipVisionConfig>): SiglipVisionConfig {
  const modelType = v.raw("model_type");
  if (modelType !== undefined && modelType !== "siglip_vision_model") {
    v.fail("model_type", 'expected "siglip_vision_model" (the SigLIP tower of PaliGemma)');
  }
  return {
    hiddenSize: v.posInt("hidden_size", base.hiddenSize),
    intermediateSize: v.posInt("intermediate_size", base.intermediateSize),
    numHiddenLayers: v.posInt("num_hidden_layers", base.numHiddenLayers),
    numAttentionHeads: v.posInt("num_attention_heads", base.numAttentionHeads),
    numChannels: v.posInt("num_channels", base.numChannels),
    imageSize: v.posInt("image_size", base.imageSize),
    patchSize: v.posInt("patch_size", base.patchSize),
    layerNormEps: v.posNum("layer_norm_eps", base.layerNormEps),
    hiddenAct: v.str("hidden_act", base.hiddenAct),
  };
}

/**
 * Parse a PaliGemma 2 `config.json` object (as `JSON.parse` returns it) with HF 4.47 semantics.
 *
 * @param json the parsed JSON document
 * @param source file name used in error messages
 * @returns a fully populated config: every key HF would default is filled in
 * @throws ConfigError naming the dotted field, the value and the fix
 * @example
 * const cfg = parsePaliGemmaConfig(JSON.parse(text), "config.json");
 * cfg.numImageTokens; // 256 for a 224px checkpoint
 */
export function parsePaliGemmaConfig(json: unknown, source = "config.json"): PaliGemmaConfig {
  if (!isObject(json)) {
    throw new ConfigError({ field: "(root)", value: json, fix: "expected a JSON object (a Hugging Face config.json)", file: source });
  }
  const top: Fields = new Fields(json, "", source);
  const modelType = top.raw("model_type");
  if (modelType !== undefined && modelType !== "paligemma") {
    top.fail("model_type", 'expected "paligemma" (PaliGemmaForConditionalGeneration)');
  }

  const textJson = top.object("text_config");
  if (textJson === undefined) {
    top.fail("text_config",
      'a PaliGemma 2 config needs text_config with model_type "gemma2" (without it Hugging Face builds a ' +
      "Gemma 1 text model, i.e. PaliGemma 1, which is not supported yet)");
  }
  const t: Fields = new Fields(textJson, "text_config.", source);
  const text = parseGemma2(t);

  // vision_config None → PaliGemma's own So400m-like default tower; a dict → SiglipVisionConfig(**dict).
  const visionJson = top.object("vision_config");
  const v: Fields = new Fields(visionJson ?? {}, "vision_config.", source);
  const vision = parseSiglip(v, visionJson === undefined ? PALIGEMMA_DEFAULT_VISION : SIGLIP_VISION_DEFAULTS);

  const imageTokenIndex = top.tokenId("image_token_index", PALIGEMMA_DEFAULTS.imageTokenIndex);
  const projectionDim = top.posInt("projection_dim", PALIGEMMA_DEFAULTS.projectionDim);

  // ---- cross-field checks (what the model code silently relies on) ----
  if (vision.hiddenSize % vision.numAttentionHeads !== 0) {
    v.fail("num_attention_heads", `vision_config.hidden_size (${vision.hiddenSize}) must be divisible by it`,
      vision.numAttentionHeads);
  }
  if (vision.imageSize % vision.patchSize !== 0) {
    v.fail("image_size", `expected a multiple of vision_config.patch_size (${vision.patchSize})`, vision.imageSize);
  }
  if (text.numAttentionHeads % text.numKeyValueHeads !== 0) {
    t.fail("num_key_value_heads",
      `text_config.num_attention_heads (${text.numAttentionHeads}) must be a multiple of it (grouped-query attention)`,
      text.numKeyValueHeads);
  }
  for (const [key, id] of [["pad_token_id", text.padTokenId], ["bos_token_id", text.bosTokenId],
    ["eos_token_id", text.eosTokenId]] as const) {
    if (id >= text.vocabSize) t.fail(key, `expected a token id < text_config.vocab_size (${text.vocabSize})`, id);
  }
  if (imageTokenIndex >= text.vocabSize) {
    top.fail("image_token_index", `expected a token id < text_config.vocab_size (${text.vocabSize})`, imageTokenIndex);
  }
  if (projectionDim !== text.hiddenSize) {
    const dflt = top.raw("projection_dim") === undefined ? `${projectionDim} is the default when the key is absent; ` : "";
    top.fail("projection_dim", `${dflt}the projector maps vision features to the text width: set ` +
      `"projection_dim": ${text.hiddenSize} (= text_config.hidden_size)`, projectionDim);
  }

  // Top-level ids: pad defaults to 0; bos/eos follow the text model when absent.
  const padTokenId = top.tokenId("pad_token_id", PALIGEMMA_DEFAULTS.padTokenId);
  const bosTokenId = top.tokenId("bos_token_id", text.bosTokenId);
  const eosTokenId = top.tokenId("eos_token_id", text.eosTokenId);
  for (const [key, id] of [["pad_token_id", padTokenId], ["bos_token_id", bosTokenId],
    ["eos_token_id", eosTokenId]] as const) {
    if (id >= text.vocabSize) top.fail(key, `expected a token id < text_config.vocab_size (${text.vocabSize})`, id);
  }

  // PaliGemmaConfig: text_config.num_image_tokens = (image_size // patch_size) ** 2 (the stored value is ignored)
  const side = vision.imageSize / vision.patchSize;
  return {
    textConfig: text,
    visionConfig: vision,
    imageTokenIndex,
    projectionDim,
    numImageTokens: side * side,
    padTokenId,
    bosTokenId,
    eosTokenId,
  };
}

/**
 * Read and parse `<dir>/config.json`.
 *
 * @param dir a checkpoint folder (as downloaded from the hub)
 * @throws ConfigError when the file is missing/unreadable, not JSON, or not a valid PaliGemma 2 config
 * @example
 * const cfg = await loadPaliGemmaConfig("./paligemma2-3b-pt-224");
 */
export async function loadPaliGemmaConfig(dir: string): Promise<PaliGemmaConfig> {
  const file = path.join(dir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError({
      field: "(root)", value: undefined, file, cause: err,
      shown: code === "ENOENT" ? "no such file" : `an unreadable file (${(err as Error).message})`,
      fix: `expected the checkpoint's config.json at ${file} (download it together with the weights)`,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError({
      field: "(root)", value: undefined, file, cause: err,
      shown: `invalid JSON (${(err as Error).message})`,
      fix: "expected a JSON object as written by save_pretrained",
    });
  }
  return parsePaliGemmaConfig(json, file);
}

/**
 * Write `cfg` as a complete Hugging Face `config.json` object (every key spelled out, snake_case, with
 * `model_type`s); `parsePaliGemmaConfig(configToHfJson(cfg))` equals `cfg`.
 *
 * @example
 * await writeFile("out/config.json", JSON.stringify(configToHfJson(cfg), null, 2));
 */
export function configToHfJson(cfg: PaliGemmaConfig): Record<string, unknown> {
  const t = cfg.textConfig;
  const v = cfg.visionConfig;
  return {
    architectures: ["PaliGemmaForConditionalGeneration"],
    model_type: "paligemma",
    transformers_version: "4.47.0",
    image_token_index: cfg.imageTokenIndex,
    projection_dim: cfg.projectionDim,
    hidden_size: t.hiddenSize,
    pad_token_id: cfg.padTokenId,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    text_config: {
      model_type: "gemma2",
      vocab_size: t.vocabSize,
      hidden_size: t.hiddenSize,
      intermediate_size: t.intermediateSize,
      num_hidden_layers: t.numHiddenLayers,
      num_attention_heads: t.numAttentionHeads,
      num_key_value_heads: t.numKeyValueHeads,
      head_dim: t.headDim,
      hidden_activation: t.hiddenActivation,
      max_position_embeddings: t.maxPositionEmbeddings,
      rms_norm_eps: t.rmsNormEps,
      rope_theta: t.ropeTheta,
      query_pre_attn_scalar: t.queryPreAttnScalar,
      sliding_window: t.slidingWindow,
      final_logit_softcapping: t.finalLogitSoftcapping,
      attn_logit_softcapping: t.attnLogitSoftcapping,
      attention_bias: false,
      tie_word_embeddings: t.tieWordEmbeddings,
      pad_token_id: t.padTokenId,
      bos_token_id: t.bosTokenId,
      eos_token_id: t.eosTokenId,
      num_image_tokens: cfg.numImageTokens,
    },
    vision_config: {
      model_type: "siglip_vision_model",
      hidden_size: v.hiddenSize,
      intermediate_size: v.intermediateSize,
      num_hidden_layers: v.numHiddenLayers,
      num_attention_heads: v.numAttentionHeads,
      num_channels: v.numChannels,
      image_size: v.imageSize,
      patch_size: v.patchSize,
      hidden_act: v.hiddenAct,
      layer_norm_eps: v.layerNormEps,
      projection_dim: cfg.projectionDim,
      num_image_tokens: cfg.numImageTokens,
      vision_use_head: false,
    },
  };
}
