/**
 * PaliGemma 2 (and PaliGemma 1) `config.json` → typed {@link PaliGemmaConfig}, with Hugging Face transformers 4.47
 * semantics.
 *
 * Port of (transformers v4.47.0, commit a5bb5284):
 *   - `models/paligemma/configuration_paligemma.py` (`PaliGemmaConfig.__init__`)
 *   - `models/gemma2/configuration_gemma2.py`       (`Gemma2Config.__init__` defaults: text.ts)
 *   - `models/gemma/configuration_gemma.py`         (`GemmaConfig.__init__` defaults, PaliGemma 1: text.ts)
 *   - `models/siglip/configuration_siglip.py`       (`SiglipVisionConfig.__init__` defaults: vision.ts)
 *
 * Hub configs are written with `to_json_file()` (`use_diff=True`): only keys that differ from the class defaults
 * are stored, so every omitted key must be filled with the default HF fills in. Unknown keys are ignored (HF
 * configs carry dozens of generation/bookkeeping keys). Everything is validated once, here, with a
 * {@link ConfigError} that names the dotted field, the value and the fix.
 */
import { readFile } from "node:fs/promises";
import * as path from "node:path";

import { ConfigError } from "./errors.js";
import { Fields, isObject } from "./fields.js";
import { PALIGEMMA_DEFAULT_TEXT, parseGemmaText } from "./text.js";
import { PALIGEMMA_DEFAULT_VISION, SIGLIP_VISION_DEFAULTS, parseSiglip } from "./vision.js";
import type { PaliGemmaConfig } from "./types.js";

/** `PaliGemmaConfig.__init__` keyword defaults (configuration_paligemma.py). */
export const PALIGEMMA_DEFAULTS = Object.freeze({ imageTokenIndex: 256000, projectionDim: 2048, padTokenId: 0 });

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

  // text_config None → PaliGemma 1's Gemma (vocab from the top-level vocab_size); a dict → Gemma(2)Config(**dict)
  const textJson = top.object("text_config");
  const t: Fields = new Fields(textJson ?? {}, "text_config.", source);
  const text = textJson === undefined
    ? parseGemmaText(t, { ...PALIGEMMA_DEFAULT_TEXT, vocabSize: top.posInt("vocab_size", PALIGEMMA_DEFAULT_TEXT.vocabSize) })
    : parseGemmaText(t);

  // vision_config None → PaliGemma's own So400m-like default tower; a dict → SiglipVisionConfig(**dict).
  const visionJson = top.object("vision_config");
  const v: Fields = new Fields(visionJson ?? {}, "vision_config.", source);
  const vision = parseSiglip(v, visionJson === undefined ? PALIGEMMA_DEFAULT_VISION : SIGLIP_VISION_DEFAULTS);

  const imageTokenIndex = top.tokenId("image_token_index", PALIGEMMA_DEFAULTS.imageTokenIndex);
  const projectionDim = top.posInt("projection_dim", PALIGEMMA_DEFAULTS.projectionDim);

  // ---- cross-field checks (what the model code silently relies on) ----
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
    text_config: textConfigToHfJson(cfg),
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

/** `text_config` as Gemma2Config or GemmaConfig writes it (Gemma (1) has no soft-caps, window or pre-attn scalar). */
function textConfigToHfJson(cfg: PaliGemmaConfig): Record<string, unknown> {
  const t = cfg.textConfig;
  const gemma2 = t.modelType === "gemma2"
    ? {
      query_pre_attn_scalar: t.queryPreAttnScalar,
      sliding_window: t.slidingWindow,
      final_logit_softcapping: t.finalLogitSoftcapping,
      attn_logit_softcapping: t.attnLogitSoftcapping,
    }
    : {};
  return {
    model_type: t.modelType,
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
    ...gemma2,
    attention_bias: false,
    tie_word_embeddings: t.tieWordEmbeddings,
    pad_token_id: t.padTokenId,
    bos_token_id: t.bosTokenId,
    eos_token_id: t.eosTokenId,
    num_image_tokens: cfg.numImageTokens,
  };
}
