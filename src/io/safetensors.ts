/**
 * Lazy, validating reader for Hugging Face checkpoints: one `.safetensors` file or a sharded directory
 * (transformers `save_pretrained` adds `model.safetensors.index.json`: `{ "metadata": {...}, "weight_map":
 * { tensorName: shardFile } }`). Each file is read by ./safetensors-file.ts (header only on open, one tensor's
 * bytes per `read()`; real checkpoints are 6–56 GB). The writer lives in `./safetensors-write.ts`.
 *
 * @example
 * const ckpt = await SafetensorsCheckpoint.open("weights/paligemma2-3b-pt-224");
 * const emb = await ckpt.read("language_model.model.embed_tokens.weight"); // float32[257216,2304]
 * await ckpt.close();
 */
import { resolveInside } from "../util/paths.js";
import { readFile, readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { SafetensorsError, SafetensorsFile, isObject, unknownTensor, type HostTensor, type ReadOptions, type TensorInfo } from "./safetensors-file.js";

export {
  DTYPE_SIZE, MAX_HEADER_BYTES, SafetensorsError, SafetensorsFile, bf16ToF32, decodeTensor, f16ToF32,
  type HostTensor, type ReadOptions, type SafetensorsDtype, type TensorInfo,
} from "./safetensors-file.js";

export const INDEX_FILE = "model.safetensors.index.json";
export const SINGLE_FILE = "model.safetensors";

/** A checkpoint: a single `.safetensors` file, or a directory with an index and shards (or one `model.safetensors`). */
export class SafetensorsCheckpoint {
  private constructor(
    /** Every opened `.safetensors` path (shards sorted by file name). */
    readonly files: string[],
    /** Checkpoint metadata: the index's `metadata` (values stringified), or the single file's `__metadata__`. */
    readonly metadata: Record<string, string>,
    private readonly byName: Map<string, SafetensorsFile>,
    private readonly shards: SafetensorsFile[],
    /** The file named in errors about unknown tensors: the index, or the single file. */
    private readonly source: string,
  ) {}

  /** Open a `.safetensors` file, or a directory holding `model.safetensors.index.json` or `model.safetensors`. */
  static async open(pathOrDir: string): Promise<SafetensorsCheckpoint> {
    let isDir: boolean;
    try {
      isDir = (await stat(pathOrDir)).isDirectory();
    } catch (cause) {
      const detail = `does not exist or cannot be read: ${(cause as Error).message}`;
      throw new SafetensorsError(pathOrDir, detail, undefined, { cause });
    }
    if (!isDir) return SafetensorsCheckpoint.single(pathOrDir);
    const entries = await readdir(pathOrDir);
    if (entries.includes(INDEX_FILE)) return SafetensorsCheckpoint.sharded(join(pathOrDir, INDEX_FILE));
    if (entries.includes(SINGLE_FILE)) return SafetensorsCheckpoint.single(join(pathOrDir, SINGLE_FILE));
    const found = entries.filter((e) => e.endsWith(".safetensors"));
    throw new SafetensorsError(pathOrDir, `has neither ${INDEX_FILE} nor ${SINGLE_FILE}` +
      (found.length ? `; it has ${found.join(", ")} (open one of those directly)` : "; it holds no .safetensors files"));
  }

  private static async single(path: string): Promise<SafetensorsCheckpoint> {
    const file = await SafetensorsFile.open(path);
    const byName = new Map(file.keys().map((k) => [k, file]));
    return new SafetensorsCheckpoint([path], { ...file.metadata }, byName, [file], path);
  }

  private static async sharded(indexPath: string): Promise<SafetensorsCheckpoint> {
    let index: unknown;
    try {
      index = JSON.parse(await readFile(indexPath, "utf-8"));
    } catch (cause) {
      throw new SafetensorsError(indexPath, `is not readable JSON: ${(cause as Error).message}`, undefined, { cause });
    }
    const weightMap = isObject(index) ? index["weight_map"] : undefined;
    if (!isObject(weightMap)) throw new SafetensorsError(indexPath, `needs "weight_map": {tensorName: shardFile}`);
    const bad = Object.entries(weightMap).find(([, v]) => typeof v !== "string" || v === "");
    if (bad) {
      throw new SafetensorsError(indexPath, `field "weight_map.${bad[0]}": expected a shard file name (a non-empty string); got ${JSON.stringify(bad[1])}`);
    }
    const metadata: Record<string, string> = {};
    const rawMeta = isObject(index) ? index["metadata"] : undefined;
    for (const [k, v] of Object.entries(isObject(rawMeta) ? rawMeta : {})) {
      metadata[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    const dir = dirname(indexPath);
    const shardNames = [...new Set(Object.values(weightMap as Record<string, string>))].sort();
    const shards: SafetensorsFile[] = [];
    try {
      for (const shard of shardNames) {
        // Shard names come from the index: resolved on the real path, they must stay in the checkpoint directory.
        const where = await resolveInside(dir, shard);
        if (!where.inside) {
          const users = Object.keys(weightMap).filter((k) => weightMap[k] === shard);
          throw new SafetensorsError(indexPath, `field "weight_map.${users[0]}": shard ${JSON.stringify(shard)} resolves to ${where.real}, ` +
            `outside the checkpoint directory ${where.root}; shard files must lie in the directory of the index`);
        }
        const path = join(dir, shard);
        const exists = await stat(path).then((s) => s.isFile(), () => false);
        if (!exists) {
          const users = Object.keys(weightMap).filter((k) => weightMap[k] === shard);
          throw new SafetensorsError(path, `is missing: ${indexPath} maps ${users.length} tensors to it ` +
            `(e.g. "${users[0]}")`);
        }
        shards.push(await SafetensorsFile.open(path));
      }
      const byName = new Map<string, SafetensorsFile>();
      for (const [name, shard] of Object.entries(weightMap as Record<string, string>)) {
        const file = shards[shardNames.indexOf(shard)]!;
        if (!file.has(name)) {
          throw new SafetensorsError(file.path, `is listed in ${indexPath} but absent from the shard`, name);
        }
        byName.set(name, file);
      }
      return new SafetensorsCheckpoint(shards.map((s) => s.path), metadata, byName, shards, indexPath);
    } catch (err) {
      await Promise.all(shards.map((s) => s.close()));
      throw err;
    }
  }

  /** Tensor names (index order for sharded checkpoints, header order otherwise). */
  keys(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    return this.fileOf(name).info(name);
  }

  async read(name: string, options?: ReadOptions): Promise<HostTensor> {
    return this.fileOf(name).read(name, options);
  }

  async readRaw(name: string): Promise<Uint8Array> {
    return this.fileOf(name).readRaw(name);
  }

  /** Bytes read from disk across all files (headers included). */
  get bytesRead(): number {
    return this.shards.reduce((sum, s) => sum + s.bytesRead, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }

  private fileOf(name: string): SafetensorsFile {
    const file = this.byName.get(name);
    if (file === undefined) throw unknownTensor(this.source, name, this.keys());
    return file;
  }
}
