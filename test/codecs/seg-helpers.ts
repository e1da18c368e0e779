/**
 * Test helpers for the `<seg>` codec: VQ-VAE checkpoints with vae-oid's names and shapes, made at test time and
 * written as a real `.npz` (a stored ZIP of .npy files), so no large file is committed.
 *   - `hashVaeWeights()`: the deterministic pseudo-random weights of test/fixtures/seg/gen_vae_fixtures.py
 *     (`hash_weights`: murmur3 fmix32 of a counter, same float32 values bit for bit);
 *   - `analyticVaeWeights()`: hand-set weights with the same structure that make the codec a meaningful
 *     block codec (each code = the fill level of one 16×16 block of the 64×64 crop; decoding paints blocks
 *     whose level is > ½), for encode → decode round-trip IoU on synthetic masks.
 */
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

/** Write `weights` as an uncompressed .npz (ZIP, stored members), what `np.savez` makes: the library's writer. */
export { writeNpz } from "../../src/codecs/vqvae/npz.js";

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
