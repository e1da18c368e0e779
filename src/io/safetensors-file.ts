/**
 * One safetensors file, read lazily and validated (the sharded checkpoint on top of it: ./safetensors.ts).
 *
 * Format (huggingface/safetensors README, "Format"): an 8-byte little-endian u64 header length N, then N bytes of
 * UTF-8 JSON `{ "__metadata__"?: {string: string}, name: { dtype, shape, data_offsets: [begin, end] } }` where the
 * offsets are relative to the first byte after the header, then the raw little-endian tensor data.
 * Opening reads only the header; `read()` fetches exactly one tensor's bytes by offset and returns a TF.js-ready
 * host array: floats → float32, integers → int32, BOOL → bool.
 *
 * @example
 * const file = await SafetensorsFile.open("out/checkpoint-20/optimizer.safetensors");
 * const m = await file.read("exp_avg.lm_head");
 * await file.close();
 */
import { nearNames } from "../util/suggest.js";
import { open as openFile, type FileHandle } from "node:fs/promises";

/** Tensor dtypes this library understands (safetensors spelling). */
export type SafetensorsDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};
const DTYPES = Object.keys(DTYPE_SIZE) as SafetensorsDtype[];

/** Where one tensor lives. `byteOffset` is absolute in `file` (header already accounted for). */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  byteOffset: number;
  byteLength: number;
  file: string;
}

/** A tensor in host memory with a TF.js dtype, ready for `tf.tensor(data, shape, dtype)`. */
export interface HostTensor {
  dtype: "float32" | "int32" | "bool";
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** Options for {@link SafetensorsFile.read}. */
export interface ReadOptions {
  /** I64 values outside int32: `"error"` (default) throws naming the tensor, `"clamp"` saturates. */
  int64?: "error" | "clamp";
}

/** A malformed or mismatched safetensors file. The message always starts with the file (and tensor, if any). */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
  constructor(readonly file: string, detail: string, readonly tensor?: string, options?: { cause?: unknown }) {
    super(tensor === undefined ? `${file}: ${detail}` : `${file}: tensor "${tensor}" ${detail}`, options);
  }
}

/** Largest header accepted (the Rust library's limit): anything bigger is corruption, not a model. */
export const MAX_HEADER_BYTES = 100_000_000;
/** fs reads are capped at 2 GiB − 1 per call; larger tensors are read in chunks of this size. */
const READ_CHUNK = 1 << 30;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------- decoding (the encoders are in safetensors-write.ts)

/** bfloat16 → float32: a bf16 is the high 16 bits of an f32, so this is exact. */
export function bf16ToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  return out;
}

/** IEEE binary16 → float32, including subnormals, ±inf and NaN (payload kept). Exact. */
export function f16ToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = (sign ? -1 : 1) * mant * 2 ** -24; // zero or subnormal: mant·2^-24
    else if (exp === 31) bits[i] = (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN
    else bits[i] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // rebias 15 → 127
  }
  return out;
}

/** Decode the raw little-endian bytes of tensor `info` into a TF.js host tensor (F32/I32/BOOL share `raw`'s memory). */
export function decodeTensor(info: TensorInfo, raw: Uint8Array, options: ReadOptions = {}): HostTensor {
  if (!LITTLE_ENDIAN) throw new SafetensorsError(info.file, "cannot be decoded on a big-endian host", info.name);
  if (raw.byteOffset % 8 !== 0) raw = raw.slice(); // typed-array views need an aligned start
  const n = raw.byteLength / DTYPE_SIZE[info.dtype];
  const { buffer, byteOffset } = raw;
  const shape = [...info.shape];
  switch (info.dtype) {
    case "F32": return { dtype: "float32", shape, data: new Float32Array(buffer, byteOffset, n) };
    case "F64": return { dtype: "float32", shape, data: Float32Array.from(new Float64Array(buffer, byteOffset, n)) };
    case "BF16": return { dtype: "float32", shape, data: bf16ToF32(new Uint16Array(buffer, byteOffset, n)) };
    case "F16": return { dtype: "float32", shape, data: f16ToF32(new Uint16Array(buffer, byteOffset, n)) };
    case "I32": return { dtype: "int32", shape, data: new Int32Array(buffer, byteOffset, n) };
    case "I16": return { dtype: "int32", shape, data: Int32Array.from(new Int16Array(buffer, byteOffset, n)) };
    case "I8": return { dtype: "int32", shape, data: Int32Array.from(new Int8Array(buffer, byteOffset, n)) };
    case "U8": return { dtype: "int32", shape, data: Int32Array.from(raw) };
    case "BOOL": return { dtype: "bool", shape, data: raw };
    case "I64": {
      const words = new Int32Array(buffer, byteOffset, 2 * n); // (lo, hi) pairs
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = words[2 * i]!;
        const hi = words[2 * i + 1]!;
        if (hi === lo >> 31) out[i] = lo; // fits in int32: hi is lo's sign extension
        else if (options.int64 === "clamp") out[i] = hi < 0 ? -0x80000000 : 0x7fffffff;
        else {
          const v = new BigInt64Array(buffer, byteOffset + 8 * i, 1)[0];
          throw new SafetensorsError(info.file, `is I64 and element ${i} = ${v} does not fit in int32 ` +
            `(pass { int64: "clamp" } to saturate)`, info.name);
        }
      }
      return { dtype: "int32", shape, data: out };
    }
  }
}

// ---------------------------------------------------------------- header parsing

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Validate one header entry and turn it into a {@link TensorInfo}. `dataStart` = 8 + header length. */
function parseEntry(file: string, name: string, entry: Json, dataStart: number, dataBytes: number): TensorInfo {
  const fail = (detail: string): never => { throw new SafetensorsError(file, detail, name); };
  if (!isObject(entry)) return fail(`has header entry ${JSON.stringify(entry)}, expected {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string" || !(DTYPES as string[]).includes(dtype)) {
    fail(`has unknown dtype ${JSON.stringify(dtype)}; supported: ${DTYPES.join(", ")}`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(`has shape ${JSON.stringify(shape)}, expected an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!) {
    fail(`has data_offsets ${JSON.stringify(offsets)}, expected [begin, end] integers with begin <= end`);
  }
  const dims = shape as number[];
  const [begin, end] = offsets as [number, number];
  const size = DTYPE_SIZE[dtype as SafetensorsDtype];
  const expected = dims.reduce((a, d) => a * d, 1) * size;
  if (end - begin !== expected) {
    fail(`is ${dtype}[${dims.join(",")}] = ${expected} bytes but data_offsets [${begin}, ${end}] span ` +
      `${end - begin} bytes (shape/offset mismatch)`);
  }
  if (end > dataBytes) {
    fail(`claims bytes ${begin}..${end} but the data section holds ${dataBytes} bytes (file truncated?)`);
  }
  const byteOffset = dataStart + begin;
  return { name, dtype: dtype as SafetensorsDtype, shape: dims, byteOffset, byteLength: end - begin, file };
}

export function unknownTensor(file: string, name: string, keys: readonly string[]): SafetensorsError {
  const near = nearNames(name, keys).map((s) => JSON.stringify(s)).join(", ");
  return new SafetensorsError(file, `not found among ${keys.length} tensors${near ? `; nearest: ${near}` : ""}`, name);
}

// ---------------------------------------------------------------- one file

/** One `.safetensors` file, opened lazily: the header is parsed and validated, tensor data is read on demand. */
export class SafetensorsFile {
  /** String metadata from `__metadata__` (e.g. `{ format: "pt" }`); empty when absent. */
  readonly metadata: Record<string, string> = {};
  private readonly tensors = new Map<string, TensorInfo>();
  private readCount = 0;

  private constructor(readonly path: string, private handle: FileHandle | undefined) {}

  /** Open `path` and parse its header; throws {@link SafetensorsError} on any malformed or truncated input. */
  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await openFile(path, "r");
    } catch (cause) {
      throw new SafetensorsError(path, `cannot be opened: ${(cause as Error).message}`, undefined, { cause });
    }
    const file = new SafetensorsFile(path, handle);
    try {
      await file.parseHeader();
      return file;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Total bytes fetched from disk so far (header included): lets tests prove reads are lazy. */
  get bytesRead(): number {
    return this.readCount;
  }

  /** Tensor names in header order. */
  keys(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Dtype, shape and location of `name`; unknown names throw with the nearest existing names. */
  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (info === undefined) throw unknownTensor(this.path, name, this.keys());
    return info;
  }

  /** Read and decode one tensor (F16/BF16/F64 → float32, integers → int32, BOOL → bool). */
  async read(name: string, options?: ReadOptions): Promise<HostTensor> {
    const info = this.info(name);
    return decodeTensor(info, await this.readAt(info.byteOffset, info.byteLength), options);
  }

  /** The tensor's raw little-endian bytes, exactly as stored. */
  async readRaw(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    return this.readAt(info.byteOffset, info.byteLength);
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  /** The only place bytes come from: `length` bytes at absolute `offset`, into a fresh (aligned) buffer. */
  private async readAt(offset: number, length: number): Promise<Uint8Array> {
    if (this.handle === undefined) throw new SafetensorsError(this.path, "is closed");
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const want = Math.min(READ_CHUNK, length - done);
      const { bytesRead } = await this.handle.read(out, done, want, offset + done);
      if (bytesRead === 0) {
        const detail = `ended at byte ${offset + done} while reading ${length} bytes at ${offset}`;
        throw new SafetensorsError(this.path, detail);
      }
      done += bytesRead;
      this.readCount += bytesRead;
    }
    return out;
  }

  private async parseHeader(): Promise<void> {
    const fileSize = (await this.handle!.stat()).size;
    const fail = (detail: string, cause?: unknown): never => {
      throw new SafetensorsError(this.path, detail, undefined, { cause });
    };
    if (fileSize < 8) fail(`is ${fileSize} bytes, too short for the 8-byte header length (not a safetensors file?)`);
    const len = new DataView((await this.readAt(0, 8)).buffer).getBigUint64(0, true);
    if (len > BigInt(fileSize - 8)) {
      fail(`declares a ${len}-byte header but the file has only ${fileSize - 8} bytes after the length field`);
    }
    if (len > BigInt(MAX_HEADER_BYTES)) fail(`declares a ${len}-byte header, over the ${MAX_HEADER_BYTES}-byte limit`);
    const headerBytes = Number(len);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await this.readAt(8, headerBytes)));
    } catch (cause) {
      fail(`header is not valid UTF-8 JSON: ${(cause as Error).message}`, cause);
    }
    if (!isObject(header)) return fail(`header is ${JSON.stringify(header)?.slice(0, 80)}, expected a JSON object`);
    const dataStart = 8 + headerBytes;
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") {
        if (!isObject(entry) || !Object.values(entry).every((v) => typeof v === "string")) {
          fail(`__metadata__ must map strings to strings, got ${JSON.stringify(entry).slice(0, 120)}`);
        }
        Object.assign(this.metadata, entry);
        continue;
      }
      this.tensors.set(name, parseEntry(this.path, name, entry, dataStart, fileSize - dataStart));
    }
    const spans = [...this.tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.byteOffset - b.byteOffset);
    for (let i = 1; i < spans.length; i++) {
      const [a, b] = [spans[i - 1]!, spans[i]!];
      if (b.byteOffset < a.byteOffset + a.byteLength) {
        fail(`tensors "${a.name}" and "${b.name}" overlap in the data section`);
      }
    }
  }
}

