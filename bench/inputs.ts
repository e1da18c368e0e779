/**
 * The two benchmark models and their inputs.
 *
 * - `tiny`: the golden fixture (`test/fixtures/golden/paligemma2-tiny`, HF weights) with the first row of its golden
 *   training inputs (`outputs.safetensors`: `inputs.pixel_values`, `inputs.input_ids`, …; I64 read as int32).
 * - `small`: `bench/configs/small/config.json` (106.6M params, 224 px) with seeded random weights and the
 *   standard input of bench/configs/README.md:
 *
 *       256 × <image> (34000) | <bos> 2 | 24 prefix ids | "\n" 108 | 38 suffix ids | <eos> 1      = 321 tokens
 *       token_type_ids  0 … 0 (image + bos + prefix + "\n")       1 … 1 (suffix + eos)
 *       labels       −100 … −100                                  = ids
 *
 *   The generation prompt is its first 282 tokens (image + bos + prefix + "\n").
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../src/tf.js";
import { parsePaliGemmaConfig } from "../src/config/index.js";
import { SafetensorsCheckpoint } from "../src/io/safetensors.js";
import { PaliGemmaForConditionalGeneration, type ForwardInputs } from "../src/model/paligemma.js";
import type { BackendName } from "../src/backend/select.js";
import { smallConfigPath, tinyDir } from "./paths.js";

export interface BenchModel {
  name: "tiny" | "small";
  model: PaliGemmaForConditionalGeneration;
  /** Parameter count (all trainable in a full fine-tune). */
  params: number;
  /** Training inputs (with tokenTypeIds and labels) for batch size b. The caller disposes them. */
  trainInputs(b: number): ForwardInputs;
  /** Greedy-decoding prompt: one image and prompt row (small only). The caller disposes them. */
  prompt?(): { pixelValues: tf.Tensor; inputIds: tf.Tensor };
}

/** Dispose every tensor of an inputs object. */
export function disposeInputs(x: object): void {
  for (const t of Object.values(x)) if (t instanceof tf.Tensor) t.dispose();
}

function countParams(model: PaliGemmaForConditionalGeneration): number {
  let n = 0;
  for (const v of model.namedParameters().values()) n += v.size;
  return n;
}

/** Repeat row 0 of a [1, …] tensor b times along axis 0 (or return a clone for b = 1). */
function repeatRows(t: tf.Tensor, b: number): tf.Tensor {
  return b === 1 ? t.clone() : tf.tile(t, [b, ...t.shape.slice(1).map(() => 1)]);
}

/** The golden tiny model and the first row of its golden inputs (B = 1; tiled for larger b). */
export async function loadTiny(backend?: BackendName): Promise<BenchModel> {
  const dir = tinyDir();
  const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend });
  const ckpt = await SafetensorsCheckpoint.open(join(dir, "outputs.safetensors"));
  const rows: Record<string, tf.Tensor> = {};
  try {
    for (const k of ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"]) {
      const h = await ckpt.read(`inputs.${k}`);
      const full = tf.tensor(h.data, h.shape, h.dtype === "bool" ? "int32" : h.dtype);
      rows[k] = tf.slice(full, 0, 1); // first sample only: [1, …]
      full.dispose();
    }
  } finally {
    await ckpt.close();
  }
  return {
    name: "tiny",
    model,
    params: countParams(model),
    trainInputs: (b) => ({
      pixelValues: repeatRows(rows["pixel_values"]!, b),
      inputIds: repeatRows(rows["input_ids"]!, b),
      attentionMask: repeatRows(rows["attention_mask"]!, b),
      tokenTypeIds: repeatRows(rows["token_type_ids"]!, b),
      labels: repeatRows(rows["labels"]!, b),
    }),
  };
}

/** Deterministic pseudo-random text ids in [3, 34000) (a 32-bit LCG; never special or image tokens). */
function textIds(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 3 + (s % (34000 - 3));
  });
}

/** Deterministic pixels in [−1, 1]: a sin pattern over channel, row and column. float32[b,C,S,S]. */
function sinPixels(b: number, c: number, size: number): tf.Tensor {
  const data = new Float32Array(b * c * size * size);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.0137 + Math.floor(i / (size * size)) * 0.7);
  return tf.tensor4d(data, [b, c, size, size]);
}

/** Token layout of the standard `small` input (see the file comment). */
export const SMALL_LAYOUT = { prefix: 24, suffix: 38, bos: 2, newline: 108, eos: 1 } as const;

/** The `small` config with seeded random weights and the standard 321-token input. */
export async function loadSmall(backend?: BackendName): Promise<BenchModel> {
  const cfg = parsePaliGemmaConfig(JSON.parse(await readFile(smallConfigPath(), "utf8")), smallConfigPath());
  const model = await PaliGemmaForConditionalGeneration.fromConfig(cfg, { backend, seed: 0 });
  const { prefix, suffix, bos, newline, eos } = SMALL_LAYOUT;
  const image: number[] = new Array(cfg.numImageTokens).fill(cfg.imageTokenIndex);
  const promptIds = [...image, bos, ...textIds(prefix, 1), newline]; // 282 tokens
  const answer = [...textIds(suffix, 2), eos]; // 39 tokens
  const ids = [...promptIds, ...answer]; // 321 tokens
  const L = ids.length;
  const types = ids.map((_, i) => (i < promptIds.length ? 0 : 1));
  const labels = ids.map((id, i) => (i < promptIds.length ? -100 : id));
  const vc = cfg.visionConfig;
  const row = (v: number[], b: number) => tf.tensor2d(Array.from({ length: b }, () => v).flat(), [b, L], "int32");
  return {
    name: "small",
    model,
    params: countParams(model),
    trainInputs: (b) => ({
      pixelValues: sinPixels(b, vc.numChannels, vc.imageSize),
      inputIds: row(ids, b),
      attentionMask: row(new Array(L).fill(1), b),
      tokenTypeIds: row(types, b),
      labels: row(labels, b),
    }),
    prompt: () => ({
      pixelValues: sinPixels(1, vc.numChannels, vc.imageSize),
      inputIds: tf.tensor2d(promptIds, [1, promptIds.length], "int32"),
    }),
  };
}
