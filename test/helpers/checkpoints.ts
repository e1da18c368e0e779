/**
 * Altered copies of the golden tiny PaliGemma 2 checkpoint (`test/fixtures/golden/paligemma2-tiny`) for loader tests:
 * BF16, sharded, renamed (newer HF naming), and deliberately broken ones. Every helper writes into a directory the
 * caller owns (make it with `makeTmpDir`/`withTmpDir`) and copies `config.json` next to the weights unless the
 * case is about config.json itself. The golden weights are read with {@link SafetensorsCheckpoint}.
 */
import { copyFile, mkdir, open, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SafetensorsCheckpoint, SINGLE_FILE } from "../../src/io/safetensors.js";
import {
  saveSafetensors,
  saveShardedSafetensors,
  type ShardedSaveResult,
  type TensorToWrite,
} from "../../src/io/safetensors-write.js";
import { TINY } from "./golden.js";
import { repoRoot } from "./paths.js";

/** One weight on the host, in checkpoint (HF) layout. */
export interface HostWeight {
  shape: number[];
  data: Float32Array;
}

/** Every golden weight by its file name, in file header order (F32, HF layout). */
export async function readGoldenWeights(): Promise<Map<string, HostWeight>> {
  const ckpt = await SafetensorsCheckpoint.open(join(TINY, SINGLE_FILE));
  try {
    const out = new Map<string, HostWeight>();
    for (const name of ckpt.keys()) {
      const t = await ckpt.read(name);
      if (t.dtype !== "float32") throw new Error(`golden weight ${name} is ${t.dtype}, expected float32`);
      out.set(name, { shape: t.shape, data: t.data as Float32Array });
    }
    return out;
  } finally {
    await ckpt.close();
  }
}

/** The weights as `saveSafetensors` input, every tensor stored as `dtype`. */
export function toWritable(weights: Map<string, HostWeight>, dtype: "F32" | "BF16" | "F16" = "F32"): Record<string, TensorToWrite> {
  const out: Record<string, TensorToWrite> = {};
  for (const [name, w] of weights) out[name] = { dtype, shape: w.shape, data: w.data };
  return out;
}

/** Copy the golden config.json into `dir` (creating `dir`). */
export async function copyConfig(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await copyFile(join(TINY, "config.json"), join(dir, "config.json"));
}

/** Write `config.json` into `dir`: the golden one passed through `edit` (which may mutate and/or return it). */
export async function writeEditedConfig(dir: string, edit: (cfg: Record<string, any>) => void): Promise<void> {
  await mkdir(dir, { recursive: true });
  const cfg = JSON.parse(await readFile(join(TINY, "config.json"), "utf-8")) as Record<string, any>;
  edit(cfg);
  await writeFile(join(dir, "config.json"), JSON.stringify(cfg, null, 2));
}

/** A plain F32 single-file copy (model.safetensors written by our writer + config.json). */
export async function makeF32Copy(dir: string): Promise<string> {
  await copyConfig(dir);
  await saveSafetensors(join(dir, SINGLE_FILE), toWritable(await readGoldenWeights(), "F32"), { format: "pt" });
  return dir;
}

/** Every weight rounded to BF16 (round-to-nearest-even) in one model.safetensors, plus config.json. */
export async function makeBf16Copy(dir: string): Promise<string> {
  await copyConfig(dir);
  await saveSafetensors(join(dir, SINGLE_FILE), toWritable(await readGoldenWeights(), "BF16"), { format: "pt" });
  return dir;
}

/**
 * A `save_pretrained`-style sharded copy: `model-0000i-of-0000n.safetensors` + `model.safetensors.index.json`
 * (+ config.json). Throws when `maxShardBytes` is too large to give at least 3 shards, so a test cannot silently
 * test a single file.
 */
export async function makeShardedCopy(
  dir: string,
  opts: { maxShardBytes: number; dtype?: "F32" | "BF16" | "F16" },
): Promise<ShardedSaveResult> {
  await copyConfig(dir);
  const res = await saveShardedSafetensors(dir, toWritable(await readGoldenWeights(), opts.dtype ?? "F32"), {
    maxShardBytes: opts.maxShardBytes,
    metadata: { format: "pt" },
  });
  if (res.files.length < 3 || res.indexFile === undefined) {
    throw new Error(`makeShardedCopy: maxShardBytes ${opts.maxShardBytes} gave ${res.files.length} shard(s); want ≥ 3`);
  }
  return res;
}

/**
 * transformers ≥ 4.52 in-memory names: `model.vision_tower.…`, `model.multi_modal_projector.…`,
 * `model.language_model.…` (no inner `.model`), plus an explicit `lm_head.weight` (= embed_tokens, tied).
 */
export function newerHfName(name: string): string {
  if (name.startsWith("vision_tower.")) return `model.${name}`;
  if (name.startsWith("multi_modal_projector.")) return `model.${name}`;
  if (name.startsWith("language_model.model.")) return `model.language_model.${name.slice("language_model.model.".length)}`;
  throw new Error(`newerHfName: unexpected golden name ${name}`);
}

/** An F32 copy written with newer HF naming (see {@link newerHfName}) and an `lm_head.weight`. Returns the names. */
export async function makeNewerNamingCopy(dir: string): Promise<string[]> {
  await copyConfig(dir);
  const weights = await readGoldenWeights();
  const renamed = new Map<string, HostWeight>();
  for (const [name, w] of weights) renamed.set(newerHfName(name), w);
  const emb = weights.get("language_model.model.embed_tokens.weight")!;
  renamed.set("lm_head.weight", { shape: emb.shape, data: emb.data.slice() });
  await saveSafetensors(join(dir, SINGLE_FILE), toWritable(renamed), { format: "pt" });
  return [...renamed.keys()];
}

// ---------------------------------------------------------------- broken copies

/** The tensors the corrupt cases alter (fixed, so tests can spell them out). */
export const CORRUPT = {
  unknownDtypeTensor: "language_model.model.layers.1.mlp.up_proj.weight",
  unknownDtype: "F8_E9M9",
  intTensor: "multi_modal_projector.linear.weight",
  missingTensor: "language_model.model.layers.1.self_attn.v_proj.weight",
  extraTensor: "language_model.model.layers.2.self_attn.v_proj.weight",
  /** `duplicate-names` stores this weight twice: under its golden name and under {@link newerHfName} (altered). */
  duplicateTensor: "language_model.model.norm.weight",
  /** The shard `missing-shard` deletes (index 1 of ≥ 3). */
  missingShardIndex: 1,
  shardBytes: 80_000,
} as const;

export type CorruptKind =
  | "truncated" // model.safetensors with its last 100 bytes cut
  | "header-length" // the u64 header length claims more bytes than the file holds
  | "missing-shard" // a sharded checkpoint with one shard deleted
  | "unknown-dtype" // one header entry's dtype rewritten to "F8_E9M9"
  | "text-intermediate-96" // config.json text_config.intermediate_size 96, weights 64
  | "vision-intermediate-96" // config.json vision_config.intermediate_size 96, weights 64
  | "config-no-text_config" // config.json without text_config
  | "config-absent" // no config.json at all
  | "missing-and-extra" // one tensor dropped, one unknown tensor added
  | "int-weight" // one weight stored as I32
  | "duplicate-names"; // one weight under both its old and its new HF name, with different values

export interface CorruptCopy {
  /** The checkpoint directory to pass to `fromPretrained`. */
  dir: string;
  /** The file the error must name. */
  file: string;
  /** Tensors the alteration concerns (for `truncated`: every tensor whose bytes were cut). */
  tensors: string[];
}

/** Raw header of a safetensors file: JSON object, data start, total size. */
async function readHeader(path: string): Promise<{ header: Record<string, any>; dataStart: number; size: number }> {
  const bytes = await readFile(path);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + len).toString("utf-8")) as Record<string, any>;
  return { header, dataStart: 8 + len, size: bytes.length };
}

/** Rewrite the JSON header of `path` (re-padded to a multiple of 8), keeping the data section byte for byte. */
async function rewriteHeader(path: string, edit: (header: Record<string, any>) => void): Promise<void> {
  const bytes = await readFile(path);
  const { header, dataStart } = await readHeader(path);
  edit(header);
  let json = Buffer.from(JSON.stringify(header), "utf-8");
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  await writeFile(path, Buffer.concat([len, json, bytes.subarray(dataStart)]));
}

/** Write a broken copy of the golden checkpoint of the given kind into `dir`. */
export async function makeCorruptCopy(dir: string, kind: CorruptKind): Promise<CorruptCopy> {
  await mkdir(dir, { recursive: true });
  const model = join(dir, SINGLE_FILE);
  switch (kind) {
    case "truncated": {
      await copyConfig(dir);
      await copyFile(join(TINY, SINGLE_FILE), model);
      const { header, dataStart, size } = await readHeader(model);
      const newSize = size - 100;
      await truncate(model, newSize);
      const cut = Object.entries(header)
        .filter(([k, v]) => k !== "__metadata__" && dataStart + (v.data_offsets[1] as number) > newSize)
        .map(([k]) => k);
      if (cut.length === 0) throw new Error("truncated: no tensor lost bytes");
      return { dir, file: model, tensors: cut };
    }
    case "header-length": {
      await copyConfig(dir);
      await copyFile(join(TINY, SINGLE_FILE), model);
      const handle = await open(model, "r+");
      try {
        const size = (await handle.stat()).size;
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(size)); // > size − 8: more bytes than follow the length field
        await handle.write(len, 0, 8, 0);
      } finally {
        await handle.close();
      }
      return { dir, file: model, tensors: [] };
    }
    case "missing-shard": {
      const res = await makeShardedCopy(dir, { maxShardBytes: CORRUPT.shardBytes });
      const gone = res.files[CORRUPT.missingShardIndex]!;
      const index = JSON.parse(await readFile(res.indexFile!, "utf-8")) as { weight_map: Record<string, string> };
      const base = gone.slice(dir.length + 1);
      const users = Object.keys(index.weight_map).filter((k) => index.weight_map[k] === base);
      await rm(gone);
      return { dir, file: gone, tensors: users };
    }
    case "unknown-dtype": {
      await copyConfig(dir);
      await copyFile(join(TINY, SINGLE_FILE), model);
      await rewriteHeader(model, (h) => {
        if (!h[CORRUPT.unknownDtypeTensor]) throw new Error(`no ${CORRUPT.unknownDtypeTensor} in the golden file`);
        h[CORRUPT.unknownDtypeTensor].dtype = CORRUPT.unknownDtype;
      });
      return { dir, file: model, tensors: [CORRUPT.unknownDtypeTensor] };
    }
    case "text-intermediate-96":
    case "vision-intermediate-96": {
      const section = kind === "text-intermediate-96" ? "text_config" : "vision_config";
      await writeEditedConfig(dir, (cfg) => void (cfg[section].intermediate_size = 96));
      await copyFile(join(TINY, SINGLE_FILE), model);
      const tensor = kind === "text-intermediate-96"
        ? "language_model.model.layers.0.mlp.gate_proj.weight"
        : "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight";
      return { dir, file: model, tensors: [tensor] };
    }
    case "config-no-text_config": {
      await writeEditedConfig(dir, (cfg) => void delete cfg["text_config"]);
      await copyFile(join(TINY, SINGLE_FILE), model);
      return { dir, file: join(dir, "config.json"), tensors: [] };
    }
    case "config-absent": {
      await copyFile(join(TINY, SINGLE_FILE), model);
      return { dir, file: join(dir, "config.json"), tensors: [] };
    }
    case "missing-and-extra": {
      await copyConfig(dir);
      const w = await readGoldenWeights();
      const v = w.get(CORRUPT.missingTensor)!;
      w.delete(CORRUPT.missingTensor);
      w.set(CORRUPT.extraTensor, v);
      await saveSafetensors(model, toWritable(w), { format: "pt" });
      return { dir, file: model, tensors: [CORRUPT.missingTensor, CORRUPT.extraTensor] };
    }
    case "int-weight": {
      await copyConfig(dir);
      const w = await readGoldenWeights();
      const tensors: Record<string, TensorToWrite> = toWritable(w);
      const f = w.get(CORRUPT.intTensor)!;
      tensors[CORRUPT.intTensor] = { dtype: "I32", shape: f.shape, data: Int32Array.from(f.data, (x) => Math.round(x * 100)) };
      await saveSafetensors(model, tensors, { format: "pt" });
      return { dir, file: model, tensors: [CORRUPT.intTensor] };
    }
    case "duplicate-names": {
      await copyConfig(dir);
      const w = await readGoldenWeights();
      const tensors: Record<string, TensorToWrite> = toWritable(w);
      const f = w.get(CORRUPT.duplicateTensor)!;
      const renamed = newerHfName(CORRUPT.duplicateTensor);
      tensors[renamed] = { shape: f.shape, data: Float32Array.from(f.data, (x) => x + 1) };
      await saveSafetensors(model, tensors, { format: "pt" });
      return { dir, file: model, tensors: [CORRUPT.duplicateTensor, renamed] };
    }
  }
}

/**
 * The fixture tokenizer (tokenizer.json, tokenizer_config.json) and the 224 px preprocessor_config.json copied into
 * `dir` (created): a checkpoint folder that `PaliGemmaProcessor.fromPretrained(dir)` loads.
 */
export async function writeProcessorFixture(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const fx = join(repoRoot(), "test", "fixtures");
  await copyFile(join(fx, "tokenizer", "tokenizer.json"), join(dir, "tokenizer.json"));
  await copyFile(join(fx, "tokenizer", "tokenizer_config.json"), join(dir, "tokenizer_config.json"));
  await copyFile(join(fx, "processor", "preprocessor_config_224.json"), join(dir, "preprocessor_config.json"));
  return dir;
}
