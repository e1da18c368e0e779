/**
 * A tiny random PaliGemma 2 checkpoint in the Hugging Face layout (config.json, model.safetensors, tokenizer.json,
 * tokenizer_config.json, preprocessor_config.json) built from the committed test tokenizer
 * (test/fixtures/tokenizer: Gemma-style BPE, <loc>/<seg>, <image> last): what the CLI and the main job load
 * through `fromPretrained`, small enough (SigLIP 28 px / patch 14 → 4 image tokens; Gemma 2 × 32 wide) for
 * tests that train a step or two on WASM.
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parsePaliGemmaConfig } from "../../src/config/paligemma.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { repoRoot } from "./paths.js";

export const TINY_VOCAB = 2519;
export const TINY_IMAGE_TOKEN = 2518;

export function tinyConfigJson(): Record<string, unknown> {
  return {
    architectures: ["PaliGemmaForConditionalGeneration"], model_type: "paligemma",
    bos_token_id: 2, eos_token_id: 1, pad_token_id: 0, hidden_size: 32, projection_dim: 32, image_token_index: TINY_IMAGE_TOKEN,
    text_config: {
      model_type: "gemma2", vocab_size: TINY_VOCAB, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
      num_key_value_heads: 2, head_dim: 8, query_pre_attn_scalar: 8, sliding_window: 16, attn_logit_softcapping: 50.0,
      final_logit_softcapping: 30.0, hidden_activation: "gelu_pytorch_tanh", num_image_tokens: 4,
    },
    vision_config: {
      model_type: "siglip_vision_model", hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2,
      image_size: 28, patch_size: 14, projection_dim: 32, vision_use_head: false,
    },
  };
}

/** Write the tiny checkpoint into `dir` (seeded random weights, F32). */
export async function writeTinyCheckpoint(dir: string, seed = 0): Promise<string> {
  await mkdir(dir, { recursive: true });
  const cfg = parsePaliGemmaConfig(tinyConfigJson());
  const model = await PaliGemmaForConditionalGeneration.fromConfig(cfg, { seed, std: 0.05 });
  await model.savePretrained(dir);
  model.dispose();
  const tok = join(repoRoot(), "test", "fixtures", "tokenizer");
  await copyFile(join(tok, "tokenizer.json"), join(dir, "tokenizer.json"));
  await copyFile(join(tok, "tokenizer_config.json"), join(dir, "tokenizer_config.json"));
  await writeFile(join(dir, "preprocessor_config.json"), JSON.stringify({
    do_normalize: true, do_rescale: true, do_resize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
    image_processor_type: "SiglipImageProcessor", image_seq_length: 4, processor_class: "PaliGemmaProcessor", resample: 3,
    rescale_factor: 1 / 255, size: { height: 28, width: 28 },
  }, null, 2));
  return dir;
}
