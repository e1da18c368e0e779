/**
 * Creating parameters: from a Hugging Face checkpoint directory (config.json + model.safetensors or sharded
 * model-0000i-of-0000n.safetensors + index), or randomly from a config. Loading fails loudly: missing and unused
 * tensors are reported together, every shape and dtype is checked against the keymap, and tensors are read one at a
 * time by offset (never a whole multi-GB file in memory), converted to float32, and uploaded.
 */
import { tf } from "../tf.js";
import type { PaliGemmaConfig } from "../config/types.js";
import { SafetensorsCheckpoint } from "../io/safetensors.js";
import {
  canonicalName,
  internalShape,
  toInternalLayout,
  LM_HEAD,
  type ParamSpec,
} from "../io/keymap.js";
import { paliGemmaParamSpecs } from "./layers.js";
import type { ParamMap } from "./build.js";
import { listSome } from "../util/list-some.js";

export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Read every parameter of `cfg` from the checkpoint at `path` (a directory or a .safetensors file). */
export async function loadParams(cfg: PaliGemmaConfig, path: string): Promise<ParamMap> {
  const params: ParamMap = new Map();
  try {
    await readParams(cfg, path, () => true, (name, t) => params.set(name, tf.variable(t, true)));
    return params;
  } catch (e) {
    for (const v of params.values()) v.dispose();
    throw e;
  }
}

/**
 * Assign the checkpoint's values to the variables of `target` (by parameter name; e.g. the trainable ones when a
 * Trainer resumes), with the same checks as {@link loadParams}. Tensors not in `target` are not read.
 */
export async function loadParamsInto(cfg: PaliGemmaConfig, path: string, target: ReadonlyMap<string, tf.Variable>): Promise<void> {
  await readParams(cfg, path, (name) => target.has(name), (name, t) => target.get(name)!.assign(t));
}

/** Check the checkpoint against `cfg`'s keymap, then hand each wanted tensor (internal layout) to `take`. */
async function readParams(cfg: PaliGemmaConfig, path: string, wantTensor: (name: string) => boolean, take: (name: string, t: tf.Tensor) => void): Promise<void> {
  const ckpt = await SafetensorsCheckpoint.open(path);
  try {
    const specs = paliGemmaParamSpecs(cfg);
    // a tied head is embed_tokens: a stored copy (some exporters write one) is accepted and not read
    const tiedHead = cfg.textConfig.tieWordEmbeddings ? `${LM_HEAD}.weight` : null;
    const fileName = new Map<string, string>(); // canonical → name in file
    for (const k of ckpt.keys()) {
      const canonical = canonicalName(k);
      const other = fileName.get(canonical);
      if (other !== undefined && canonical !== tiedHead) {
        // Old and new HF spellings of one weight (e.g. `language_model.model.norm.weight` and
        // `model.language_model.norm.weight`): which one is meant is ambiguous, so refuse instead of picking one.
        throw new CheckpointError(
          `${path}: tensors "${other}" and "${k}" are both ${canonical} (old and new Hugging Face naming); ` +
            `keep only one of them`,
          path,
        );
      }
      fileName.set(canonical, k);
    }
    const wanted = new Set(specs.map((s) => s.name));
    const missing = specs.filter((s) => !fileName.has(s.name)).map((s) => s.name);
    const unused = [...fileName.keys()].filter((k) => !wanted.has(k) && k !== tiedHead);
    if (missing.length || unused.length) {
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.length} tensor(s): ${listSome(missing, 8)}`);
      if (unused.length) parts.push(`${unused.length} tensor(s) the config does not use: ${listSome(unused, 8)}`);
      const untied = missing.includes(`${LM_HEAD}.weight`)
        ? " text_config.tie_word_embeddings is false, so the LM head is its own tensor: set it to true if the head is embed_tokens."
        : "";
      throw new CheckpointError(
        `${path}: checkpoint does not match config.json — ${parts.join("; ")}. ` +
          `Check that config.json belongs to these weights (layer counts, image size).${untied}`,
        path,
      );
    }
    for (const spec of specs) {
      if (!wantTensor(spec.name)) continue;
      const name = fileName.get(spec.name)!;
      const info = ckpt.info(name);
      checkSpec(spec, info.shape, info.dtype, info.file);
      const host = await ckpt.read(name);
      const bad = firstNonFinite(host.data as Float32Array);
      if (bad >= 0) {
        throw new CheckpointError(`${info.file}: tensor "${name}" holds ${(host.data as Float32Array)[bad]} at flat index ${bad}; ` +
          `the checkpoint is corrupt (or was saved after training diverged): use another checkpoint`, info.file);
      }
      const data = toInternalLayout(spec, host.data as Float32Array);
      const t = tf.tensor(data, internalShape(spec), "float32");
      take(spec.name, t);
      t.dispose(); // a variable holds its own reference to the data
    }
  } finally {
    await ckpt.close();
  }
}

function checkSpec(spec: ParamSpec, shape: number[], dtype: string, file: string): void {
  if (!["F32", "F16", "BF16", "F64"].includes(dtype)) {
    throw new CheckpointError(`${file}: tensor "${spec.name}" has dtype ${dtype}; a model weight must be F32, BF16, F16 or F64`, file);
  }
  if (shape.length !== spec.hfShape.length || shape.some((d, i) => d !== spec.hfShape[i])) {
    throw new CheckpointError(
      `${file}: tensor "${spec.name}" has shape [${shape}] but config.json implies [${spec.hfShape}]`,
      file,
    );
  }
}

/**
 * Random parameters (HF-style init: weights N(0, std), biases 0, LayerNorm γ 1, RMSNorm offset 0), seeded.
 * Used for tests and benchmarks; `std` defaults to 0.02 (Gemma's `initializer_range`).
 */
export function randomParams(cfg: PaliGemmaConfig, opts: { seed?: number; std?: number } = {}): ParamMap {
  const std = opts.std ?? 0.02;
  let seed = opts.seed ?? 0;
  const params: ParamMap = new Map();
  for (const spec of paliGemmaParamSpecs(cfg)) {
    const shape = internalShape(spec);
    const t =
      spec.init === "normal"
        ? tf.randomNormal(shape, 0, std, "float32", seed++)
        : spec.init === "ones"
          ? tf.ones(shape)
          : tf.zeros(shape);
    params.set(spec.name, tf.variable(t, true));
    t.dispose();
  }
  return params;
}

/** Index of the first NaN or ±Infinity in `data`, or -1. */
function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}
