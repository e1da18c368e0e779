/**
 * A small reader for NumPy `.npz` archives (what `np.savez` / `np.savez_compressed` write and big_vision's
 * `vae-oid.npz` is): a ZIP file (central directory, stored or deflated members, ZIP64 extras as numpy's
 * `force_zip64=True` writes them) of `.npy` files (format 1.0/2.0/3.0 header: `descr`, `fortran_order`, `shape`).
 * No dependencies beyond node:zlib. Errors name the file, the member and what is wrong. float16 (`<f2`) arrays
 * are widened to Float32Array on read (descr stays `<f2`). `writeNpz` writes what `np.savez` writes (stored
 * members), float32 or float16.
 *
 * @example
 *   const arrays = await readNpz("vae-oid.npz");
 *   arrays.get("_vq_vae._embedding")!.shape; // [128, 512]
 *   await writeNpz("small.npz", arrays, { dtype: "float16" });
 */
import { readFile, writeFile } from "node:fs/promises";
import { crc32, inflateRawSync } from "node:zlib";

export type NpyData = Float32Array | Float64Array | Int32Array | Uint8Array | Int16Array | Uint16Array | Uint32Array | BigInt64Array;

export interface NpyArray {
  /** The numpy dtype as written (`<f4`, `|u1`, …). */
  descr: string;
  shape: number[];
  /** C-order data (Fortran-order arrays are transposed on read). */
  data: NpyData;
}

export class NpzError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = "NpzError";
  }
}

const DTYPES: Record<string, { bytes: number; make: (buf: ArrayBuffer, n: number) => NpyData; read: (dv: DataView, o: number, le: boolean) => number | bigint }> = {
  f2: { bytes: 2, make: (b, n) => halfToFloat(new Uint16Array(b, 0, n)), read: (d, o, le) => d.getUint16(o, le) },
  f4: { bytes: 4, make: (b, n) => new Float32Array(b, 0, n), read: (d, o, le) => d.getFloat32(o, le) },
  f8: { bytes: 8, make: (b, n) => new Float64Array(b, 0, n), read: (d, o, le) => d.getFloat64(o, le) },
  i4: { bytes: 4, make: (b, n) => new Int32Array(b, 0, n), read: (d, o, le) => d.getInt32(o, le) },
  u4: { bytes: 4, make: (b, n) => new Uint32Array(b, 0, n), read: (d, o, le) => d.getUint32(o, le) },
  i2: { bytes: 2, make: (b, n) => new Int16Array(b, 0, n), read: (d, o, le) => d.getInt16(o, le) },
  u2: { bytes: 2, make: (b, n) => new Uint16Array(b, 0, n), read: (d, o, le) => d.getUint16(o, le) },
  i8: { bytes: 8, make: (b, n) => new BigInt64Array(b, 0, n), read: (d, o, le) => d.getBigInt64(o, le) },
  u1: { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n), read: (d, o) => d.getUint8(o) },
  b1: { bytes: 1, make: (b, n) => new Uint8Array(b, 0, n), read: (d, o) => d.getUint8(o) },
};

/** Parse one `.npy` file's bytes. */
export function parseNpy(bytes: Uint8Array, where = "<npy>"): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) throw new NpzError(where, "not a .npy file (bad magic)");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) throw new NpzError(where, `header length ${headerLen} runs past the end (${bytes.length} bytes)`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new NpzError(where, `unreadable .npy header ${JSON.stringify(header.trim())}`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new NpzError(where, `bad shape (${shapeText})`);
  const order = descr[0];
  const kind = descr.slice(1);
  const dt = DTYPES[kind];
  if (!dt || !"<>|=".includes(order)) throw new NpzError(where, `dtype ${descr} is not supported (supported: f2 f4 f8 i2 u2 i4 u4 i8 u1 b1)`);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = start + headerLen;
  if (body + n * dt.bytes > bytes.length) throw new NpzError(where, `data of ${n} × ${dt.bytes} bytes runs past the end`);
  const out = new ArrayBuffer(n * dt.bytes);
  const le = order !== ">";
  if (le) new Uint8Array(out).set(bytes.subarray(body, body + n * dt.bytes));
  else {
    const w = new DataView(out);
    for (let i = 0; i < n; i++) {
      const v = dt.read(dv, body + i * dt.bytes, false);
      if (typeof v === "bigint") w.setBigInt64(i * 8, v, true);
      else if (kind === "f4") w.setFloat32(i * 4, v, true);
      else if (kind === "f8") w.setFloat64(i * 8, v, true);
      else if (kind === "i4") w.setInt32(i * 4, v, true);
      else if (kind === "u4") w.setUint32(i * 4, v, true);
      else if (kind === "i2") w.setInt16(i * 2, v, true);
      else if (kind === "u2" || kind === "f2") w.setUint16(i * 2, v, true);
      else w.setUint8(i, v);
    }
  }
  let data = dt.make(out, n);
  if (fortran === "True" && shape.length > 1) data = fortranToC(data, shape);
  return { descr, shape, data };
}

function fortranToC(data: NpyData, shape: number[]): NpyData {
  const n = data.length;
  const out = new (data.constructor as new (n: number) => NpyData)(n);
  const rank = shape.length;
  const fStride = new Array<number>(rank);
  let s = 1;
  for (let d = 0; d < rank; d++) {
    fStride[d] = s;
    s *= shape[d];
  }
  const idx = new Array<number>(rank).fill(0);
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let d = 0; d < rank; d++) f += idx[d] * fStride[d];
    (out as unknown as number[])[c] = (data as unknown as number[])[f];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Parse an `.npz` archive's bytes into name → array (names without the `.npy` suffix). */
export function parseNpz(bytes: Uint8Array, file = "<npz>"): Map<string, NpyArray> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new NpzError(file, "not a zip archive (no end-of-central-directory record); is it an .npz?");
  let count = dv.getUint16(eocd + 10, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20; // zip64 end-of-central-directory locator
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) throw new NpzError(file, "zip64 archive without a zip64 locator");
    const rec = Number(dv.getBigUint64(loc + 8, true));
    count = Number(dv.getBigUint64(rec + 32, true));
    cdOffset = Number(dv.getBigUint64(rec + 48, true));
  }
  const out = new Map<string, NpyArray>();
  let p = cdOffset;
  for (let e = 0; e < count; e++) {
    if (p + 46 > bytes.length || dv.getUint32(p, true) !== 0x02014b50) throw new NpzError(file, `central directory entry ${e} is corrupt`);
    const method = dv.getUint16(p + 10, true);
    let csize = dv.getUint32(p + 20, true);
    let usize = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra field (id 1): the 64-bit values of whichever fields are 0xFFFFFFFF, in order
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = dv.getUint16(x, true);
      const len = dv.getUint16(x + 2, true);
      if (id === 1) {
        let q = x + 4;
        if (usize === 0xffffffff) (usize = Number(dv.getBigUint64(q, true))), (q += 8);
        if (csize === 0xffffffff) (csize = Number(dv.getBigUint64(q, true))), (q += 8);
        if (local === 0xffffffff) local = Number(dv.getBigUint64(q, true));
      }
      x += 4 + len;
    }
    p = xEnd + commentLen;
    if (dv.getUint32(local, true) !== 0x04034b50) throw new NpzError(file, `member ${name}: bad local header`);
    const dataStart = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    const raw = bytes.subarray(dataStart, dataStart + csize);
    let content: Uint8Array;
    if (method === 0) content = raw;
    else if (method === 8) content = new Uint8Array(inflateRawSync(raw));
    else throw new NpzError(file, `member ${name}: compression method ${method} is not supported (stored or deflate only)`);
    if (content.length !== usize) throw new NpzError(file, `member ${name}: ${content.length} bytes after decompression, expected ${usize}`);
    if (!name.endsWith(".npy")) continue;
    out.set(name.slice(0, -4), parseNpy(content, `${file}:${name}`));
  }
  return out;
}

/** Read an `.npz` file from disk. */
export async function readNpz(path: string): Promise<Map<string, NpyArray>> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new NpzError(path, `cannot read: ${(e as Error).message}`);
  }
  return parseNpz(bytes, path);
}

/** IEEE 754 binary16 bits → float32 values. */
export function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i];
    const sign = x & 0x8000 ? -1 : 1;
    const e = (x >> 10) & 0x1f;
    const m = x & 0x3ff;
    out[i] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** float32 values → IEEE 754 binary16 bits, rounded to nearest even (numpy's `astype(np.float16)`). */
export function floatToHalf(f: Float32Array): Uint16Array {
  const out = new Uint16Array(f.length);
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  for (let i = 0; i < f.length; i++) {
    const x = u[i];
    const sign = (x >>> 16) & 0x8000;
    const e = (x >>> 23) & 0xff;
    let m = x & 0x7fffff;
    if (e === 0xff) {
      out[i] = sign | 0x7c00 | (m ? 0x200 : 0);
      continue;
    }
    const he = e - 127 + 15;
    if (he >= 31) {
      out[i] = sign | 0x7c00; // overflow → ±inf
      continue;
    }
    if (he <= 0) {
      if (he < -10) {
        out[i] = sign; // underflow → ±0
        continue;
      }
      m |= 0x800000; // subnormal half: shift the implicit 1 in
      const shift = 14 - he;
      const half = 1 << (shift - 1);
      let r = m >>> shift;
      const rest = m & ((1 << shift) - 1);
      if (rest > half || (rest === half && r & 1)) r++;
      out[i] = sign | r;
      continue;
    }
    let r = (he << 10) | (m >>> 13);
    const rest = m & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++; // may carry into the exponent: still correct
    out[i] = sign | r;
  }
  return out;
}

function npyBytes(shape: readonly number[], data: Float32Array, dtype: "float32" | "float16"): Uint8Array {
  const descr = dtype === "float16" ? "<f2" : "<f4";
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += " ".repeat(pad === 64 ? 0 : pad) + "\n"; // numpy aligns the data to 64 bytes
  const body = dtype === "float16" ? new Uint8Array(floatToHalf(data).buffer) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(10 + header.length + body.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

/** `np.savez` of name → float array: a ZIP of stored `.npy` members (what `parseNpz` reads back). */
export function encodeNpz(arrays: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, options: { dtype?: "float32" | "float16" } = {}): Uint8Array {
  const dtype = options.dtype ?? "float32";
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, { shape, data }] of arrays) {
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new RangeError(`encodeNpz: ${name} has ${data.length} values for shape [${shape}]`);
    const body = npyBytes(shape, data, dtype);
    const fname = new TextEncoder().encode(`${name}.npy`);
    const crc = crc32(body);
    const local = new Uint8Array(30 + fname.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, body.length, true);
    l.setUint32(22, body.length, true);
    l.setUint16(26, fname.length, true);
    local.set(fname, 30);
    const cd = new Uint8Array(46 + fname.length);
    const c = new DataView(cd.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, body.length, true);
    c.setUint32(24, body.length, true);
    c.setUint16(28, fname.length, true);
    c.setUint32(42, offset, true);
    cd.set(fname, 46);
    parts.push(local, body);
    central.push(cd);
    offset += local.length + body.length;
  }
  const cdSize = central.reduce((s, x) => s + x.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, arrays.size, true);
  e.setUint16(10, arrays.size, true);
  e.setUint32(12, cdSize, true);
  e.setUint32(16, offset, true);
  return Buffer.concat([...parts, ...central, end]);
}

/** Write an `.npz` file (see {@link encodeNpz}). */
export async function writeNpz(path: string, arrays: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, options: { dtype?: "float32" | "float16" } = {}): Promise<void> {
  await writeFile(path, encodeNpz(arrays, options));
}
