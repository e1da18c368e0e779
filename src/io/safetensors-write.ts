/**
 * Safetensors writer: single files and `save_pretrained`-style sharded checkpoints.
 *
 * Format (huggingface/safetensors README, "Format"): u64 LE header length N, N bytes of JSON header padded with
 * spaces to a multiple of 8, then the raw little-endian data. Here `__metadata__` comes first and tensors are laid
 * out sorted by name (the Python library sorts by alignment, then name; readers do not care). Shards follow
 * transformers `save_pretrained`: `model-00001-of-00003.safetensors` + `model.safetensors.index.json`
 * `{"metadata": {"total_size": N}, "weight_map": {...}}`.
 *
 * Files are written through util/atomic-write.ts (`<path>.tmp-<pid>-<random>`, renamed into place), so a crash never leaves a torn file,
 * and tensors are streamed one at a time (only one tensor's encoded bytes are in memory at once).
 *
 * @example
 * await saveSafetensors("adapter.safetensors", { "lora_A.weight": { shape: [8, 2304], data: a } }, { format: "pt" });
 * await saveShardedSafetensors("out/", weights, { maxShardBytes: 5e9 });
 */
import { mkdir, readdir, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";
import { DTYPE_SIZE, INDEX_FILE, SINGLE_FILE, SafetensorsError, type SafetensorsDtype } from "./safetensors.js";

/** A tensor to write. `dtype` defaults to F32 / I32 / U8 / I64 for Float32Array / Int32Array / Uint8Array /
 * BigInt64Array. */
export interface TensorToWrite {
  dtype?: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array | BigInt64Array;
}

/** Options for {@link saveShardedSafetensors}. */
export interface ShardOptions {
  /** A shard is closed before it would exceed this many data bytes (a larger single tensor gets its own shard). */
  maxShardBytes: number;
  /** `__metadata__` written into every shard (e.g. `{ format: "pt" }`). */
  metadata?: Record<string, string>;
}

/** What {@link saveShardedSafetensors} wrote. */
export interface ShardedSaveResult {
  /** The `.safetensors` files written, in shard order. */
  files: string[];
  /** The index path; absent when everything fit in one `model.safetensors` (as `save_pretrained` does). */
  indexFile?: string;
  /** Sum of all tensor data bytes (the index's `metadata.total_size`). */
  totalSize: number;
}

/** Which stored dtypes each JS array type may be written as; the first is the default. */
const ALLOWED: Record<string, SafetensorsDtype[]> = {
  Float32Array: ["F32", "BF16", "F16", "F64"],
  Int32Array: ["I32", "I64"],
  Uint8Array: ["U8", "BOOL"],
  BigInt64Array: ["I64"],
};
const WRITE_CHUNK = 1 << 30;
const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** A validated tensor with its resolved dtype and size. */
interface Planned {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  byteLength: number;
  tensor: TensorToWrite;
}

// ---------------------------------------------------------------- encoders (bit patterns in Uint16Array)

/** float32 → bfloat16 with round-to-nearest-even; NaNs stay NaN (quiet bit set), overflow rounds to ±inf. */
export function f32ToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | 0x0040; // NaN: keep sign/payload, force quiet
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) / 65536; // < 2^32 for every non-NaN; the Uint16 store truncates
  }
  return out;
}

/** float32 → IEEE binary16 with round-to-nearest-even; overflow → ±inf, underflow → subnormal or ±0. */
export function f32ToF16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf, or quiet NaN with payload
      continue;
    }
    const e = exp - 112; // f16 biased exponent (127 − 15)
    if (e >= 31) { out[i] = sign | 0x7c00; continue; } // overflow → inf
    let shift: number;
    let h: number;
    if (e <= 0) { // f16 subnormal: value = m·2^-24
      if (e < -10) { out[i] = sign; continue; } // below half the smallest subnormal → ±0
      mant |= 0x800000;
      shift = 14 - e;
      h = mant >>> shift;
    } else {
      shift = 13;
      h = (e << 10) | (mant >>> 13);
    }
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++; // a carry into the exponent (up to inf) is correct
    out[i] = sign | h;
  }
  return out;
}

/** The bytes stored for `t` as `dtype` (the input must be little-endian host memory). */
function encode(dtype: SafetensorsDtype, data: TensorToWrite["data"]): Uint8Array {
  const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (data instanceof Float32Array) {
    if (dtype === "BF16") return bytes(f32ToBf16(data));
    if (dtype === "F16") return bytes(f32ToF16(data));
    if (dtype === "F64") return bytes(Float64Array.from(data));
  } else if (data instanceof Int32Array && dtype === "I64") {
    const words = new Int32Array(2 * data.length); // (lo, hi) pairs, hi = sign extension
    for (let i = 0; i < data.length; i++) [words[2 * i], words[2 * i + 1]] = [data[i]!, data[i]! >> 31];
    return bytes(words);
  } else if (data instanceof Uint8Array && dtype === "BOOL") {
    return data.map((v) => (v ? 1 : 0));
  }
  return bytes(data);
}

/** The ALLOWED key for `data` (instanceof, so Buffer counts as a Uint8Array). */
function arrayKind(data: unknown): string | undefined {
  if (data instanceof Float32Array) return "Float32Array";
  if (data instanceof Int32Array) return "Int32Array";
  if (data instanceof Uint8Array) return "Uint8Array";
  if (data instanceof BigInt64Array) return "BigInt64Array";
  return undefined;
}

/** Validate every tensor against `file` (errors name it), keeping insertion order. */
function plan(file: string, tensors: Record<string, TensorToWrite>): Planned[] {
  const out: Planned[] = [];
  for (const [name, tensor] of Object.entries(tensors)) {
    const fail = (detail: string): never => { throw new SafetensorsError(file, detail, name); };
    if (name === "__metadata__") fail("is a reserved name");
    const kind = arrayKind(tensor.data);
    const allowed = kind === undefined ? undefined : ALLOWED[kind];
    if (kind === undefined || allowed === undefined) {
      const got = Object.prototype.toString.call(tensor.data);
      return fail(`has data ${got}; use Float32Array, Int32Array, Uint8Array or BigInt64Array`);
    }
    const dtype = tensor.dtype ?? allowed[0]!;
    if (!allowed.includes(dtype)) fail(`cannot be written as ${dtype} from a ${kind} (allowed: ${allowed.join(", ")})`);
    const { shape } = tensor;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`has shape ${JSON.stringify(shape)}, expected an array of non-negative integers`);
    }
    const numel = shape.reduce((a, d) => a * d, 1);
    if (numel !== tensor.data.length) {
      fail(`has shape [${shape.join(",")}] (${numel} elements) but ${tensor.data.length} values`);
    }
    out.push({ name, dtype, shape: [...shape], byteLength: numel * DTYPE_SIZE[dtype], tensor });
  }
  return out;
}

/** The header bytes: JSON built by hand so `__metadata__` stays first even if tensor names look like integers. */
function headerBytes(planned: Planned[], metadata: Record<string, string> | undefined, file: string): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new SafetensorsError(file, `metadata "${k}" must be a string, got ${typeof v}`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const t of planned) {
    const entry = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify(entry)}`);
    offset += t.byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const padded = new Uint8Array(8 + Math.ceil(json.length / 8) * 8).fill(0x20); // pad with spaces
  new DataView(padded.buffer).setBigUint64(0, BigInt(padded.length - 8), true);
  padded.set(json, 8);
  return padded;
}

async function writeAll(handle: FileHandle, data: Uint8Array, position: number): Promise<number> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await handle.write(data, done, Math.min(WRITE_CHUNK, data.length - done), position + done);
    done += bytesWritten;
  }
  return position + data.length;
}

/**
 * Write `tensors` to one safetensors file at `path`, atomically.
 * @param tensors name → `{ dtype?, shape, data }`; Float32Array may be stored as F32/BF16/F16/F64, Int32Array as
 *   I32/I64, Uint8Array as U8/BOOL, BigInt64Array as I64.
 * @param metadata written as `__metadata__` (string values only), e.g. `{ format: "pt" }`.
 */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<void> {
  const planned = plan(path, tensors).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header = headerBytes(planned, metadata, path);
  await writeFileAtomic(path, async (handle) => {
    let position = await writeAll(handle, header, 0);
    for (const t of planned) position = await writeAll(handle, encode(t.dtype, t.tensor.data), position);
  });
}

/**
 * Write `tensors` as a `save_pretrained`-style checkpoint in `dir`: `model-0000i-of-0000n.safetensors` shards
 * (filled in insertion order up to `maxShardBytes` of data each) plus `model.safetensors.index.json`; a checkpoint
 * that fits in one shard is written as `model.safetensors` without an index, like transformers does. Stale
 * `model-*-of-*.safetensors` shards (and, for a single file, a stale index) left in `dir` are removed.
 */
export async function saveShardedSafetensors(
  dir: string,
  tensors: Record<string, TensorToWrite>,
  options: ShardOptions,
): Promise<ShardedSaveResult> {
  const { maxShardBytes, metadata } = options;
  if (!(maxShardBytes > 0)) throw new SafetensorsError(dir, `maxShardBytes must be positive, got ${maxShardBytes}`);
  const groups: string[][] = [];
  let current: string[] = [];
  let currentBytes = 0;
  let totalSize = 0;
  for (const t of plan(join(dir, INDEX_FILE), tensors)) {
    if (current.length > 0 && currentBytes + t.byteLength > maxShardBytes) {
      groups.push(current);
      [current, currentBytes] = [[], 0];
    }
    current.push(t.name);
    currentBytes += t.byteLength;
    totalSize += t.byteLength;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);

  await mkdir(dir, { recursive: true });
  const n = groups.length;
  const pad = (i: number): string => String(i).padStart(5, "0");
  const names = n === 1 ? [SINGLE_FILE] : groups.map((_, i) => `model-${pad(i + 1)}-of-${pad(n)}.safetensors`);
  const weightMap: Record<string, string> = {};
  for (const [i, group] of groups.entries()) {
    await saveSafetensors(join(dir, names[i]!), Object.fromEntries(group.map((k) => [k, tensors[k]!])), metadata);
    for (const k of group) weightMap[k] = names[i]!;
  }
  let indexFile: string | undefined;
  if (n > 1) {
    indexFile = join(dir, INDEX_FILE);
    const sortedMap = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]!]));
    const json = `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sortedMap }, null, 2)}\n`;
    await writeFileAtomic(indexFile, async (handle) => void (await writeAll(handle, new TextEncoder().encode(json), 0)));
  }
  for (const entry of await readdir(dir)) {
    const stale = (SHARD_NAME.test(entry) && !names.includes(entry)) || (n === 1 && entry === INDEX_FILE);
    if (stale) await rm(join(dir, entry), { force: true });
  }
  return { files: names.map((f) => join(dir, f)), indexFile, totalSize };
}
