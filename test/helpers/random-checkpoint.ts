/**
 * A full-size checkpoint with random BF16 weights for a config.json (the real `google/paligemma2-3b-pt-224` one in
 * test/fixtures/memory/), sharded the way `save_pretrained(max_shard_size="5GB")` shards it (tensors in state-dict
 * order, a new shard when the next tensor would pass the limit: the hub's model-00001-of-00002 / -00002-of-00002),
 * with `model.safetensors.index.json`. Written tensor by tensor in chunks, so writing 6 GB needs ~100 MB of memory.
 *
 * Weights follow `fromConfig`'s init (N(0, std) for weights, 0 for biases and RMSNorm offsets, 1 for LayerNorm γ),
 * drawn from a 65,536-entry table of BF16 normal samples indexed by a xorshift32 stream (fast; seeded).
 *
 *     const dir = await writeRandomBf16Checkpoint(REAL_3B_CONFIG_DIR, "/tmp/pg2-3b-random", { seed: 0 });
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadPaliGemmaConfig } from "../../src/config/paligemma.js";
import type { ParamSpec } from "../../src/io/keymap.js";
import { paliGemmaParamSpecs } from "../../src/model/layers.js";
import { INDEX_FILE } from "../../src/io/safetensors.js";

export interface RandomCheckpointOptions {
  seed?: number;
  /** Standard deviation of the "normal" weights. Default 0.02 (Gemma's initializer_range). */
  std?: number;
  /** Shard limit in bytes. Default 5e9 (transformers' `max_shard_size="5GB"`). */
  maxShardBytes?: number;
}

const MARKER = ".random-checkpoint.json";
const CHUNK = 1 << 25; // 32M values = 64 MB of BF16 per write

/** float32 → bfloat16 bits, round to nearest even (NaN-free input). */
function toBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

function normalTable(std: number, seed: number): Uint16Array {
  const table = new Uint16Array(65536);
  let s = (seed * 2654435761 + 1) >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  for (let i = 0; i < table.length; i++) {
    table[i] = toBf16(std * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())); // Box–Muller
  }
  return table;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Group specs into shards as save_pretrained does (greedy, in order, by byte size). */
function shardSpecs(specs: readonly ParamSpec[], maxShardBytes: number): ParamSpec[][] {
  const shards: ParamSpec[][] = [[]];
  let size = 0;
  for (const spec of specs) {
    const bytes = 2 * numel(spec.hfShape);
    if (size + bytes > maxShardBytes && shards.at(-1)!.length > 0) {
      shards.push([]);
      size = 0;
    }
    shards.at(-1)!.push(spec);
    size += bytes;
  }
  return shards;
}

/**
 * Write the checkpoint for `configDir`'s config.json into `outDir` (created). When `outDir` already holds one
 * written with the same config and options, it is kept (returns at once). Returns `outDir`.
 */
export async function writeRandomBf16Checkpoint(configDir: string, outDir: string, options: RandomCheckpointOptions = {}): Promise<string> {
  const seed = options.seed ?? 0;
  const std = options.std ?? 0.02;
  const maxShardBytes = options.maxShardBytes ?? 5e9;
  const configText = await readFile(join(configDir, "config.json"), "utf8");
  const stamp = JSON.stringify({ config: createHash("sha256").update(configText).digest("hex"), seed, std, maxShardBytes });
  if (await readFile(join(outDir, MARKER), "utf8").then((t) => t === stamp, () => false)) return outDir;
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const cfg = await loadPaliGemmaConfig(configDir);
  const specs = paliGemmaParamSpecs(cfg);
  const table = normalTable(std, seed);
  const one = toBf16(1);
  let s = (seed + 0x9e3779b9) >>> 0 || 1;
  const shards = shardSpecs(specs, maxShardBytes);
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  const buf = new Uint16Array(CHUNK);
  for (const [i, group] of shards.entries()) {
    const file = `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`;
    const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
    let offset = 0;
    for (const spec of group) {
      const bytes = 2 * numel(spec.hfShape);
      header[spec.name] = { dtype: "BF16", shape: spec.hfShape, data_offsets: [offset, offset + bytes] };
      weightMap[spec.name] = file;
      offset += bytes;
    }
    totalSize += offset;
    let json = JSON.stringify(header);
    json += " ".repeat((8 - (json.length % 8)) % 8); // safetensors pads the header to 8 bytes with spaces
    const fh = await open(join(outDir, file), "w");
    try {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      await fh.write(len);
      await fh.write(Buffer.from(json, "utf8"));
      for (const spec of group) {
        let left = numel(spec.hfShape);
        while (left > 0) {
          const n = Math.min(CHUNK, left);
          if (spec.init === "normal") {
            for (let k = 0; k < n; k++) {
              s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
              buf[k] = table[s & 0xffff]!;
            }
          } else buf.fill(spec.init === "ones" ? one : 0, 0, n);
          await fh.write(new Uint8Array(buf.buffer, 0, 2 * n));
          left -= n;
        }
      }
    } finally {
      await fh.close();
    }
  }
  await writeFile(join(outDir, INDEX_FILE), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  await copyFile(join(configDir, "config.json"), join(outDir, "config.json"));
  await writeFile(join(outDir, MARKER), stamp);
  return outDir;
}
