/**
 * `paligemma2-nano-pt-224`: the shape of this project's small PaliGemma 2 and the files that make it a Hugging Face
 * checkpoint (config.json, model.safetensors, tokenizer.json, tokenizer_config.json, preprocessor_config.json,
 * generation_config.json), so every API that takes a real checkpoint takes it.
 *
 * Tokenizer: Gemma's tokenizer.json conventions (transformers `GemmaConvert`): normalizer Replace(" " → "▁"),
 * pre-tokenizer Split(" ", MergedWithPrevious), byte-fallback BPE, decoder Replace("▁" → " ") + ByteFallback + Fuse,
 * post-processor `<bos> $A`. The vocabulary is character level (a BPE without merges): the pretraining reads random
 * strings, so there are no frequent words to merge, and one glyph = one token keeps reading a per-character job.
 *
 *   ids 0..3       <pad> <eos> <bos> <unk>            (as Gemma)
 *   ids 4..259     <0x00>..<0xFF>                       byte fallback for anything else (é, €, emoji)
 *   ids 260..355   "▁", "\n", printable ASCII ! .. ~     one token per character
 *   ids 356..1379  <loc0000>..<loc1023>                 (PaliGemma's order: loc, then seg, then image)
 *   ids 1380..1507 <seg000>..<seg127>
 *   id  1508       <image>                              = config.image_token_index
 *
 * Model: SigLIP 224 px / patch 16 → 196 image tokens (a 14×14 grid; a 16 px cell holds one glyph of a line of
 * ~14 large characters and keeps 2–3 small ones distinct, which patch 32 would merge), Gemma 2 decoder; see
 * {@link NANO_CONFIG_JSON}.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parsePaliGemmaConfig } from "../config/paligemma.js";
import type { PaliGemmaConfig } from "../config/types.js";

export const NANO_NAME = "paligemma2-nano-pt-224";

const SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"] as const;
const BYTES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
/** "▁" (space after normalization), newline, then every printable ASCII character except space. */
const CHARS = ["▁", "\n", ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))];
const LOCS = Array.from({ length: 1024 }, (_, i) => `<loc${String(i).padStart(4, "0")}>`);
const SEGS = Array.from({ length: 128 }, (_, i) => `<seg${String(i).padStart(3, "0")}>`);
const IMAGE = "<image>";

/** Every token in id order. */
export const NANO_VOCAB: readonly string[] = [...SPECIALS, ...BYTES, ...CHARS, ...LOCS, ...SEGS, IMAGE];
export const NANO_IMAGE_TOKEN_INDEX = NANO_VOCAB.length - 1; // 1508
export const NANO_VOCAB_SIZE = NANO_VOCAB.length; // 1509

/** The HF `config.json` of the nano model (the keys a hub config would store). */
export const NANO_CONFIG_JSON = Object.freeze({
  architectures: ["PaliGemmaForConditionalGeneration"],
  model_type: "paligemma",
  transformers_version: "4.47.0",
  image_token_index: NANO_IMAGE_TOKEN_INDEX,
  projection_dim: 256,
  hidden_size: 256,
  pad_token_id: 0,
  bos_token_id: 2,
  eos_token_id: 1,
  torch_dtype: "bfloat16",
  text_config: {
    model_type: "gemma2",
    vocab_size: NANO_VOCAB_SIZE,
    hidden_size: 256,
    intermediate_size: 768,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 64,
    query_pre_attn_scalar: 64,
    hidden_activation: "gelu_pytorch_tanh",
    max_position_embeddings: 2048,
    sliding_window: 1024,
    attn_logit_softcapping: 50.0,
    final_logit_softcapping: 30.0,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    tie_word_embeddings: true,
    num_image_tokens: 196,
    torch_dtype: "bfloat16",
  },
  vision_config: {
    model_type: "siglip_vision_model",
    hidden_size: 192,
    intermediate_size: 768,
    num_hidden_layers: 6,
    num_attention_heads: 3,
    image_size: 224,
    patch_size: 16,
    projection_dim: 256,
    num_image_tokens: 196,
    vision_use_head: false,
    torch_dtype: "bfloat16",
  },
});

/** The typed config (parsed from {@link NANO_CONFIG_JSON}, so the file and the code cannot disagree). */
export function nanoConfig(): PaliGemmaConfig {
  return parsePaliGemmaConfig(structuredClone(NANO_CONFIG_JSON) as unknown, `${NANO_NAME}/config.json`);
}

/** Gemma-style `tokenizer.json` for {@link NANO_VOCAB}. */
export function nanoTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  NANO_VOCAB.forEach((t, i) => (vocab[t] = i));
  const added = (id: number, content: string, special: boolean) =>
    ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  const firstLoc = NANO_VOCAB.indexOf(LOCS[0]!);
  const firstSeg = NANO_VOCAB.indexOf(SEGS[0]!);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      ...SPECIALS.map((t, i) => added(i, t, true)),
      ...LOCS.map((t, i) => added(firstLoc + i, t, false)),
      ...SEGS.map((t, i) => added(firstSeg + i, t, false)),
      added(NANO_IMAGE_TOKEN_INDEX, IMAGE, true),
    ],
    normalizer: { type: "Replace", pattern: { String: " " }, content: "▁" },
    pre_tokenizer: { type: "Split", pattern: { String: " " }, behavior: "MergedWithPrevious", invert: false },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<bos>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<bos>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<bos>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<bos>": { id: "<bos>", ids: [2], tokens: ["<bos>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }],
    },
    model: {
      type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: [],
    },
  };
}

export const NANO_TOKENIZER_CONFIG = Object.freeze({
  add_bos_token: true,
  add_eos_token: false,
  bos_token: "<bos>",
  eos_token: "<eos>",
  pad_token: "<pad>",
  unk_token: "<unk>",
  clean_up_tokenization_spaces: false,
  model_max_length: 2048,
  padding_side: "right",
  processor_class: "PaliGemmaProcessor",
  tokenizer_class: "GemmaTokenizer",
});

export const NANO_PREPROCESSOR_CONFIG = Object.freeze({
  do_convert_rgb: null,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.5, 0.5, 0.5],
  image_processor_type: "SiglipImageProcessor",
  image_seq_length: 196,
  image_std: [0.5, 0.5, 0.5],
  processor_class: "PaliGemmaProcessor",
  resample: 3,
  rescale_factor: 1 / 255,
  size: { height: 224, width: 224 },
});

export const NANO_GENERATION_CONFIG = Object.freeze({
  bos_token_id: 2,
  eos_token_id: 1,
  pad_token_id: 0,
  cache_implementation: "hybrid",
  transformers_version: "4.47.0",
});

async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + "\n");
  await rename(tmp, path);
}

/**
 * Write everything but the weights into `dir`: config.json, the tokenizer files, preprocessor_config.json and
 * generation_config.json. The weights come from `model.savePretrained(dir, { dtype: "BF16" })`, which also writes
 * config.json (the same content, every key spelled out); this one is written last by the caller's order.
 */
export async function writeNanoFiles(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeJson(join(dir, "tokenizer.json"), nanoTokenizerJson());
  await writeJson(join(dir, "tokenizer_config.json"), NANO_TOKENIZER_CONFIG);
  await writeJson(join(dir, "preprocessor_config.json"), NANO_PREPROCESSOR_CONFIG);
  await writeJson(join(dir, "generation_config.json"), NANO_GENERATION_CONFIG);
  await writeJson(join(dir, "config.json"), NANO_CONFIG_JSON);
}
