/**
 * Test helpers for the `<seg>` codec: VQ-VAE checkpoints with vae-oid's names and shapes, made at test time and
 * written as a real `.npz` (a stored ZIP of .npy files), so no large file is committed.
 *   - `hashVaeWeights()`: the deterministic pseudo-random weights of test/fixtures/seg/gen_vae_fixtures.py
 *     (`hash_weights`: murmur3 fmix32 of a counter, same float32 values bit for bit);
 *   - `analyticVaeWeights()`: hand-set weights with the same structure that make the codec a meaningful
 *     block codec (each code = the fill level of one 16×16 block of the 64×64 crop; decoding paints blocks
 *     whose level is > ½), for encode → decode round-trip IoU on synthetic masks.
 */
import { writeFile } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { vqVaeParamShapes } from "../../src/codecs/vqvae/model.js";

export type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/** The checkpoint names in gen_vae_fixtures.py's `vae_shapes()` order (the hash seed is the index). */
export function vaeNamesInOrder(): string[] {
  const s: string[] = [];
  for (let i = 0; i < 4; i++) s.push(`encoder.${2 * i}.weight`, `encoder.${2 * i}.bias`);
  for (const b of [8, 9]) for (const c of [0, 2, 4]) s.push(`encoder.${b}.net.${c}.weight`, `encoder.${b}.net.${c}.bias`);
  s.push("encoder.10.weight", "encoder.10.bias", "_vq_vae._embedding", "decoder.0.weight", "decoder.0.bias");
  for (const b of [2, 3]) for (const c of [0, 2, 4]) s.push(`decoder.${b}.net.${c}.weight`, `decoder.${b}.net.${c}.bias`);
  for (const k of [4, 6, 8, 10]) s.push(`decoder.${k}.weight`, `decoder.${k}.bias`);
  s.push("decoder.12.weight", "decoder.12.bias");
  return s;
}

function hashValues(k: number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  const seed = Number((BigInt(k + 1) * 0x85ebca77n) % 2n ** 32n);
  for (let i = 0; i < n; i++) {
    let x = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d) >>> 0;
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    const u = x / 2 ** 32;
    out[i] = (u * 2 - 1) * scale;
  }
  return out;
}

export function hashVaeWeights(): Weights {
  const shapes = vqVaeParamShapes();
  const w: Weights = new Map();
  vaeNamesInOrder().forEach((name, k) => {
    const shape = shapes.get(name)!;
    const scale = name === "_vq_vae._embedding" ? 1 : name.endsWith(".bias") ? 0.1 : Math.sqrt(6 / (shape[1] * shape[2] * shape[3]));
    w.set(name, { shape, data: hashValues(k, shape.reduce((a, b) => a * b, 1), scale) });
  });
  return w;
}

/** See the file header. Conv weights are PyTorch OIHW, transposed convs IOHW. */
export function analyticVaeWeights(): Weights {
  const shapes = vqVaeParamShapes();
  const w: Weights = new Map();
  for (const [name, shape] of shapes) w.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  const set = (name: string, idx: number[], v: number) => {
    const { shape, data } = w.get(name)!;
    let o = 0;
    for (let d = 0; d < shape.length; d++) o = o * shape[d] + idx[d];
    data[o] = v;
  };
  // encoder: channel 0 carries the mean of x = 2m − 1 over 2×2 blocks (+1 so ReLU keeps it: values in [0, 2])
  for (let n = 0; n < 4; n++) {
    for (const i of [1, 2]) for (const j of [1, 2]) set(`encoder.${2 * n}.weight`, [0, 0, i, j], 0.25);
    set(`encoder.${2 * n}.bias`, [0], n === 0 ? 1 : 0);
  }
  // residual blocks stay zero (identity); encoder.10: z₀ = channel 0 − 1 = mean of x over a 16×16 block ∈ [−1, 1]
  set("encoder.10.weight", [0, 0, 0, 0], 1);
  set("encoder.10.bias", [0], -1);
  // codebook: 128 levels of z₀ in [−1, 1]
  for (let k = 0; k < 128; k++) set("_vq_vae._embedding", [k, 0], -1 + (2 * k) / 127);
  // decoder: ±z₀ in channels 0/1 (ReLU keeps both halves), nearest-neighbour ×2 upsampling 4 times, out = c0 − c1
  set("decoder.0.weight", [0, 0, 0, 0], 1);
  set("decoder.0.weight", [1, 0, 0, 0], -1);
  for (const k of [4, 6, 8, 10]) for (const c of [0, 1]) for (const i of [1, 2]) for (const j of [1, 2]) set(`decoder.${k}.weight`, [c, c, i, j], 1);
  set("decoder.12.weight", [0, 0, 0, 0], 1);
  set("decoder.12.weight", [0, 1, 0, 0], -1);
  return w;
}

function npy(shape: number[], data: Float32Array): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += " ".repeat(pad === 64 ? 0 : pad) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Write `weights` as an uncompressed .npz (ZIP, stored members), what `np.savez` makes. */
export async function writeNpz(path: string, weights: Weights): Promise<void> {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, { shape, data }] of weights) {
    const body = npy(shape, data);
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
  e.setUint16(8, weights.size, true);
  e.setUint16(10, weights.size, true);
  e.setUint32(12, cdSize, true);
  e.setUint32(16, offset, true);
  await writeFile(path, Buffer.concat([...parts, ...central, end]));
}

/** Base64 float32 little-endian → Float32Array. */
export function f32(b64: string): Float32Array {
  const b = Buffer.from(b64, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** np.packbits (MSB first) base64 → uint8 0/1 of length n. */
export function unpackBits(b64: string, n: number): Uint8Array {
  const b = Buffer.from(b64, "base64");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (b[i >> 3] >> (7 - (i & 7))) & 1;
  return out;
}
