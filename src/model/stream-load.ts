/**
 * Streamed checkpoint loading: every tensor of a (sharded) safetensors checkpoint is read on its own, shard by
 * shard in file order (one file handle per shard, bytes fetched by offset; never a whole file in memory), decoded
 * (BF16/F16 → float32 per tensor), checked, turned into a variable, and its host bytes dropped before the next read.
 *
 * With `quantize` (what `fromPretrained`'s `quantizationConfig` resolves to, QLoRA's `load_in_4bit`), each target
 * linear's float32 copy exists only while it is quantized: the codes go to the backend and the float32 array is
 * dropped, so the whole float32 model is never resident. Peak memory while loading ≈ quantized model + one tensor
 * (its 16-bit bytes, its float32 decode and, for a float weight, its transposed copy). The result equals
 * `loadParams` then `quantizeModel` bit for bit: the weight is quantized in torch layout [out, in], which is how it
 * is stored in the file, so no transpose is needed for it at all.
 *
 * Before any tensor data is read, names, shapes and dtypes are all checked (missing and unused tensors reported
 * together), so a mismatched checkpoint fails in milliseconds without allocating.
 *
 * @example
 * const { params, linears, report } = await streamCheckpoint(cfg, dir, { quantize: { bits: 4, blockSize: 64, doubleQuant: true, skip: [] } });
 * const model = new PaliGemmaForConditionalGeneration(cfg, params, linears);
 */
import { tf } from "../tf.js";
import type { PaliGemmaConfig } from "../config/types.js";
import type { ResolvedQuantization } from "../config/quantization.js";
import { SafetensorsCheckpoint, type TensorInfo } from "../io/safetensors.js";
import { canonicalName, internalShape, toInternalLayout, LM_HEAD, type ParamSpec } from "../io/keymap.js";
import { paliGemmaParamSpecs } from "./layers.js";
import { QuantLinear, quantizeHost } from "../quant/quant-linear.js";
import { disposeQuantized, uploadQuantized, type DeviceQuantized } from "../quant/device.js";
import { matchesModuleName, type QuantizeReport } from "../quant/quantize-model.js";
import { ProgressEmitter, type ProgressCallback } from "../events/progress.js";
import { listSome } from "../util/list-some.js";
import { CheckpointError } from "./checkpoint-error.js";
import type { ParamMap } from "./build.js";
import type { LinearLayer } from "./linear.js";

export interface StreamLoadOptions {
  /** Quantize every linear weight while reading it (skip: modules kept float32). Default: load float32. */
  quantize?: ResolvedQuantization;
  /** `load` progress: one update per tensor (`unit` "tensor"). */
  onProgress?: ProgressCallback;
  /**
   * Assign into these variables (by parameter name, e.g. the trainable ones when a Trainer resumes) instead of
   * creating new ones; tensors not in it are checked but not read. Not with `quantize`.
   */
  assignTo?: ReadonlyMap<string, tf.Variable>;
}

export interface StreamedCheckpoint {
  /** Float parameters by HF name, in keymap order (quantized weights are not here, as after `quantizeModel`). */
  params: ParamMap;
  /** Quantized linears by module name, ready for their model slots (bias frozen, as `quantizeModel` does). */
  linears: Map<string, LinearLayer>;
  /** What was quantized, as `quantizeModel` reports it; null without `quantize`. */
  report: QuantizeReport | null;
}

/** Checkpoint name of every spec, after checking that the file's tensors are exactly the config's. */
function matchNames(specs: readonly ParamSpec[], ckpt: SafetensorsCheckpoint, path: string, cfg: PaliGemmaConfig): Map<string, string> {
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
        `${path}: tensors "${other}" and "${k}" are both ${canonical} (old and new Hugging Face naming); keep only one of them`,
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
  return fileName;
}

function checkSpec(spec: ParamSpec, info: TensorInfo): void {
  const { shape, dtype, file } = info;
  if (!["F32", "F16", "BF16", "F64"].includes(dtype)) {
    throw new CheckpointError(`${file}: tensor "${spec.name}" has dtype ${dtype}; a model weight must be F32, BF16, F16 or F64`, file);
  }
  if (shape.length !== spec.hfShape.length || shape.some((d, i) => d !== spec.hfShape[i])) {
    throw new CheckpointError(`${file}: tensor "${spec.name}" has shape [${shape}] but config.json implies [${spec.hfShape}]`, file);
  }
}

/** Index of the first NaN or ±Infinity in `data`, or -1. */
function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

/** Module names (`….q_proj`) whose weight is quantized; every skip pattern must match a linear. */
function quantizedModules(specs: readonly ParamSpec[], q: ResolvedQuantization): Set<string> {
  const modules = specs.filter((s) => s.layout === "linear").map((s) => s.name.replace(/\.weight$/, ""));
  for (const p of q.skip) {
    if (!modules.some((m) => matchesModuleName(p, m))) {
      throw new RangeError(`quantizationConfig.llmInt8SkipModules: "${p}" matches no linear module; the model has: ${listSome(modules)}`);
    }
  }
  return new Set(modules.filter((m) => !q.skip.some((p) => matchesModuleName(p, m))));
}

/** Read every parameter of `cfg` from the checkpoint at `path`, streaming (see the file doc). */
export async function streamCheckpoint(cfg: PaliGemmaConfig, path: string, options: StreamLoadOptions = {}): Promise<StreamedCheckpoint> {
  const ckpt = await SafetensorsCheckpoint.open(path);
  const specs = paliGemmaParamSpecs(cfg);
  const q = options.quantize;
  const target = options.assignTo;
  if (q && target) throw new RangeError("streamCheckpoint: assignTo and quantize cannot be combined");
  const floats = new Map<string, tf.Variable>();
  const codes = new Map<string, DeviceQuantized>(); // module name → quantized weight
  let done = 0;
  const progress = new ProgressEmitter(options.onProgress, { task: "load", total: specs.length, unit: "tensor", label: q ? `load + ${q.bits === 4 ? "NF4" : "int8"}` : "load" });
  try {
    const fileName = matchNames(specs, ckpt, path, cfg);
    const toQuantize = q ? quantizedModules(specs, q) : new Set<string>();
    const located = specs.map((spec) => ({ spec, info: ckpt.info(fileName.get(spec.name)!) }));
    for (const { spec, info } of located) checkSpec(spec, info); // every shape and dtype before any data
    // Shard by shard, in file order: sequential reads, one tensor's bytes at a time.
    located.sort((a, b) => (a.info.file === b.info.file ? a.info.byteOffset - b.info.byteOffset : a.info.file < b.info.file ? -1 : 1));
    for (const { spec, info } of located) {
      if (target && !target.has(spec.name)) {
        progress.update(++done);
        continue;
      }
      const host = (await ckpt.read(info.name)).data as Float32Array; // float32, checkpoint layout
      const bad = firstNonFinite(host);
      if (bad >= 0) {
        throw new CheckpointError(`${info.file}: tensor "${info.name}" holds ${host[bad]} at flat index ${bad}; ` +
          `the checkpoint is corrupt (or was saved after training diverged): use another checkpoint`, info.file);
      }
      const module = spec.name.replace(/\.weight$/, "");
      if (spec.layout === "linear" && toQuantize.has(module)) {
        // torch layout [out, in], as in the file: the codes equal QuantLinear.fromLinear's of the loaded weight
        codes.set(module, uploadQuantized(quantizeHost(host, spec.hfShape as [number, number], q!)));
      } else {
        const t = tf.tensor(toInternalLayout(spec, host), internalShape(spec), "float32");
        if (target) target.get(spec.name)!.assign(t);
        else floats.set(spec.name, tf.variable(t, true));
        t.dispose(); // the variable holds its own reference to the data
      }
      progress.update(++done);
    }
  } catch (e) {
    for (const v of floats.values()) v.dispose();
    for (const c of codes.values()) disposeQuantized(c);
    progress.end(done, undefined, (e as Error).message);
    throw e;
  } finally {
    await ckpt.close();
  }
  progress.end(done);
  const params: ParamMap = new Map();
  for (const spec of specs) if (floats.has(spec.name)) params.set(spec.name, floats.get(spec.name)!);
  if (!q) return { params, linears: new Map(), report: null };
  const report: QuantizeReport = { quantized: [], skipped: [], floatBytes: 0, quantBytes: 0 };
  const linears = new Map<string, LinearLayer>();
  for (const spec of specs) {
    if (spec.layout !== "linear") continue;
    const module = spec.name.replace(/\.weight$/, "");
    const weight = codes.get(module);
    if (!weight) {
      report.skipped.push(module);
      continue;
    }
    const bias = params.get(`${module}.bias`) ?? null;
    if (bias) bias.trainable = false; // a quantized layer is frozen, its bias with it
    const layer = new QuantLinear(weight, bias, { bits: q.bits, blockSize: q.blockSize, doubleQuant: q.doubleQuant });
    linears.set(module, layer);
    report.quantized.push(module);
    report.floatBytes += layer.numel * 4;
    report.quantBytes += layer.numBytes;
  }
  return { params, linears, report };
}
