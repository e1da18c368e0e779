/** The nano checkpoint's geometry (224 px / patch 16, its tokenizer) at a width tests train in milliseconds. */
import { join } from "node:path";
import { repoRoot } from "./paths.js";
import { parsePaliGemmaConfig } from "../../src/config/paligemma.js";
import { NANO_CONFIG_JSON, NANO_NAME } from "../../src/nano/checkpoint.js";

export const NANO_DIR = join(repoRoot(), "models", NANO_NAME);

/** The nano config with width 16 and one layer on each side. */
export const tinyNanoConfig = () => parsePaliGemmaConfig({
  ...structuredClone(NANO_CONFIG_JSON), projection_dim: 16, hidden_size: 16,
  text_config: { ...NANO_CONFIG_JSON.text_config, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, query_pre_attn_scalar: 8 },
  vision_config: { ...NANO_CONFIG_JSON.vision_config, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
    num_attention_heads: 2, projection_dim: 16 },
});
