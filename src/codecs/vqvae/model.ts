/**
 * The `<seg>` VQ-VAE of PaliGemma (big_vision `vae-oid`, after AiT, arXiv 2301.02229): 64×64 masks ⇄ 16 codes
 * from a 128-entry codebook. Port of big_vision's two halves:
 *   - encoder: `encode_to_codebook_indices` (big_vision/pp/proj/paligemma/segmentation.py, TensorFlow):
 *     x = 2(m − ½); 4 × [conv 4×4 stride 2 SAME, ReLU] (1→16→32→64→128); 2 residual blocks; 1×1 conv to 512;
 *     nearest codebook row by ‖x‖² + ‖e‖² − 2x·e;
 *   - decoder: `get_reconstruct_masks` (big_vision/evaluators/proj/paligemma/transfers/segmentation.py, Flax):
 *     codebook rows as a 4×4×512 grid; 1×1 conv to 128, ReLU; 2 residual blocks; 4 × [transposed conv 4×4
 *     stride 2, ReLU] (128→128→64→32→16); 1×1 conv to 1 → float32[B,64,64,1], roughly in [−1, 1] (> 0 = inside).
 * A residual block is x + conv1×1(ReLU(conv3×3(ReLU(conv3×3(x))))).
 *
 * Checkpoint: `vae-oid.npz` with PyTorch names and layouts (conv `encoder.N.weight` [O,I,kh,kw], transposed conv
 * `decoder.N.weight` [I,O,kh,kw], `_vq_vae._embedding` [128,512]); like big_vision's `_get_params`, kernels are
 * transposed (2,3,1,0) to TF's HWIO / [kh,kw,O,I] once, at load. Every shape is asserted; missing names are
 * reported together; names the codec does not use (EMA statistics…) are listed in `unused`.
 *
 * @example
 *   const vae = await VqVae.load("vae-oid.npz");
 *   const codes = vae.encode(masks64);         // masks64: float32[B,64,64,1] in [0,1] → number[B][16]
 *   const logits = vae.decode(codes);          // float32[B,64,64,1]; caller disposes
 *   vae.dispose();
 */
import { tf } from "../../tf.js";
import { readNpz, type NpyArray } from "./npz.js";

export class VqVaeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VqVaeError";
  }
}

/** One literal table: checkpoint name → expected shape (PyTorch layout). */
export function vqVaeParamShapes(): Map<string, number[]> {
  const s = new Map<string, number[]>();
  const conv = (name: string, o: number, i: number, k: number) => {
    s.set(`${name}.weight`, [o, i, k, k]);
    s.set(`${name}.bias`, [o]);
  };
  [[16, 1], [32, 16], [64, 32], [128, 64]].forEach(([o, i], n) => conv(`encoder.${2 * n}`, o, i, 4));
  const resblock = (name: string) => {
    conv(`${name}.net.0`, 128, 128, 3);
    conv(`${name}.net.2`, 128, 128, 3);
    conv(`${name}.net.4`, 128, 128, 1);
  };
  resblock("encoder.8");
  resblock("encoder.9");
  conv("encoder.10", 512, 128, 1);
  s.set("_vq_vae._embedding", [128, 512]);
  conv("decoder.0", 128, 512, 1);
  resblock("decoder.2");
  resblock("decoder.3");
  // transposed convs: [in, out, kh, kw]
  [[4, 128, 128], [6, 128, 64], [8, 64, 32], [10, 32, 16]].forEach(([n, i, o]) => {
    s.set(`decoder.${n}.weight`, [i, o, 4, 4]);
    s.set(`decoder.${n}.bias`, [o]);
  });
  conv("decoder.12", 1, 16, 1);
  return s;
}

/** Number of `<seg>` tokens per mask and codebook size. */
export const SEG_TOKENS_PER_MASK = 16;
export const SEG_CODEBOOK_SIZE = 128;

/** The weights in TF layouts (conv kernels HWIO, transposed-conv kernels [kh,kw,O,I]), by checkpoint name. */
export type VqVaeWeights = ReadonlyMap<string, tf.Tensor>;

/** PyTorch layout (OIHW / IOHW) → TF layout: big_vision `_get_params`, `np.transpose(k, (2, 3, 1, 0))`. */
export const TORCH_TO_TF = [2, 3, 1, 0];
/** TF layout → PyTorch layout (the inverse permutation of {@link TORCH_TO_TF}), for saving. */
export const TF_TO_TORCH = [3, 2, 0, 1];

function conv(w: VqVaeWeights, x: tf.Tensor4D, name: string, stride: 1 | 2 = 1): tf.Tensor4D {
  return tf.add(tf.conv2d(x, w.get(`${name}.weight`) as tf.Tensor4D, stride, "same"), w.get(`${name}.bias`)!);
}

/** x + conv1×1(ReLU(conv3×3(ReLU(conv3×3(x))))). */
function resblock(w: VqVaeWeights, x: tf.Tensor4D, name: string): tf.Tensor4D {
  let h = tf.relu(conv(w, x, `${name}.net.0`));
  h = tf.relu(conv(w, h, `${name}.net.2`));
  return tf.add(x, conv(w, h, `${name}.net.4`));
}

/**
 * The encoder (differentiable; used by inference and by codecs/vqvae/train.ts): masks float32[B,64,64,1] in
 * [0,1] → features float32[B,4,4,512] before quantisation. Not tidied: call it inside `tf.tidy` or a gradient.
 */
export function vqVaeEncoder(w: VqVaeWeights, masks: tf.Tensor4D): tf.Tensor4D {
  let x = tf.mul(tf.sub(masks, 0.5), 2) as tf.Tensor4D; // big_vision `_norm`
  for (let n = 0; n < 4; n++) x = tf.relu(conv(w, x, `encoder.${2 * n}`, 2)); // 64 → 32 → 16 → 8 → 4
  x = resblock(w, x, "encoder.8");
  x = resblock(w, x, "encoder.9");
  return conv(w, x, "encoder.10"); // [B,4,4,512]
}

/**
 * The decoder (differentiable): quantised features float32[B,4,4,512] → float32[B,64,64,1] (> 0 inside).
 * Not tidied: call it inside `tf.tidy` or a gradient.
 */
export function vqVaeDecoder(w: VqVaeWeights, zq: tf.Tensor4D): tf.Tensor4D {
  const B = zq.shape[0];
  let x = tf.relu(conv(w, zq, "decoder.0")); // [B,4,4,128]
  x = resblock(w, x, "decoder.2");
  x = resblock(w, x, "decoder.3");
  let size = 4;
  for (const n of [4, 6, 8, 10]) {
    // Flax ConvTranspose(4×4, stride 2, padding 2, transpose_kernel) = TF conv2d_transpose "same" (4 → 8 …)
    const k = w.get(`decoder.${n}.weight`) as tf.Tensor4D; // [kh, kw, out, in]
    size *= 2;
    x = tf.relu(tf.add(tf.conv2dTranspose(x, k, [B, size, size, k.shape[2]], 2, "same"), w.get(`decoder.${n}.bias`)!)) as tf.Tensor4D;
  }
  return conv(w, x, "decoder.12"); // [B,64,64,1]
}

/**
 * Nearest codebook row of each feature vector: z float32[N,512], codebook float32[128,512] → int32[N], by
 * ‖z‖² + ‖e‖² − 2 z·eᵀ (big_vision `_get_codebook_indices`). Not tidied.
 */
export function nearestCode(z: tf.Tensor2D, codebook: tf.Tensor): tf.Tensor1D {
  const d = tf.sub(tf.add(tf.sum(tf.square(z), 1, true), tf.sum(tf.square(codebook), 1)), tf.mul(2, tf.matMul(z, codebook, false, true)));
  return tf.argMin(d, 1);
}

export class VqVae {
  private constructor(
    private readonly w: Map<string, tf.Tensor>,
    /** Checkpoint names the codec does not use. */
    readonly unused: string[],
  ) {}

  /** Load `vae-oid.npz` (or any .npz with the same names and shapes, float32 or float16). */
  static async load(path: string): Promise<VqVae> {
    const arrays = await readNpz(path);
    await tf.ready(); // a caller that never chose a backend gets the default one initialised, not an error
    return VqVae.fromArrays(arrays, path);
  }

  /** Build from parsed arrays (name → array); throws `VqVaeError` listing every missing or misshapen tensor. */
  static fromArrays(arrays: Map<string, NpyArray>, source = "<arrays>"): VqVae {
    const specs = vqVaeParamShapes();
    const problems: string[] = [];
    for (const [name, shape] of specs) {
      const a = arrays.get(name);
      if (!a) problems.push(`missing ${name} [${shape}]`);
      else if (a.shape.join() !== shape.join()) problems.push(`${name}: shape [${a.shape}], expected [${shape}]`);
      else if (!(a.data instanceof Float32Array || a.data instanceof Float64Array)) problems.push(`${name}: dtype ${a.descr}, expected float`);
    }
    if (problems.length) throw new VqVaeError(`${source}: not a vae-oid VQ-VAE checkpoint: ${problems.join("; ")}`);
    const w = new Map<string, tf.Tensor>();
    tf.tidy(() => {
      for (const [name, shape] of specs) {
        const a = arrays.get(name)!;
        const t = tf.tensor(Float32Array.from(a.data as Float32Array), shape, "float32");
        w.set(name, tf.keep(shape.length === 4 ? tf.transpose(t, TORCH_TO_TF) : t));
      }
    });
    return new VqVae(w, [...arrays.keys()].filter((k) => !specs.has(k)).sort());
  }

  /** Encoder features before quantisation: masks float32[B,64,64,1] in [0,1] → float32[B,4,4,512]. */
  encodeFeatures(masks: tf.Tensor): tf.Tensor4D {
    checkMasks(masks);
    return tf.tidy(() => vqVaeEncoder(this.w, masks as tf.Tensor4D));
  }

  /** Masks float32[B,64,64,1] in [0,1] → B rows of 16 codes (row-major over the 4×4 grid). */
  encode(masks: tf.Tensor): number[][] {
    const idx = tf.tidy(() => nearestCode(tf.reshape(this.encodeFeatures(masks), [-1, 512]), this.w.get("_vq_vae._embedding")!));
    const flat = Array.from(idx.dataSync());
    idx.dispose();
    const rows: number[][] = [];
    for (let i = 0; i < flat.length; i += SEG_TOKENS_PER_MASK) rows.push(flat.slice(i, i + SEG_TOKENS_PER_MASK));
    return rows;
  }

  /** Codes (B rows of 16, each 0..127) → float32[B,64,64,1]; > 0 is inside. The caller disposes the result. */
  decode(codes: readonly (readonly number[])[]): tf.Tensor4D {
    codes.forEach((row, b) => {
      if (row.length !== SEG_TOKENS_PER_MASK || !row.every((c) => Number.isInteger(c) && c >= 0 && c < SEG_CODEBOOK_SIZE)) {
        throw new VqVaeError(`decode: row ${b} must be ${SEG_TOKENS_PER_MASK} integer codes in 0..127, got ${JSON.stringify(row)}`);
      }
    });
    const B = codes.length;
    return tf.tidy(() => {
      const ids = tf.tensor1d(codes.flat(), "int32");
      return vqVaeDecoder(this.w, tf.reshape(tf.gather(this.w.get("_vq_vae._embedding")!, ids), [B, 4, 4, 512]) as tf.Tensor4D);
    });
  }

  /** Release the weights. */
  dispose(): void {
    for (const t of this.w.values()) t.dispose();
    this.w.clear();
  }
}

function checkMasks(m: tf.Tensor): void {
  if (!(m instanceof tf.Tensor) || m.rank !== 4 || m.shape[1] !== 64 || m.shape[2] !== 64 || m.shape[3] !== 1) {
    throw new VqVaeError(`encode: masks must be a float32 tf.Tensor [B,64,64,1] in [0,1], got ${m instanceof tf.Tensor ? `[${m.shape}]` : typeof m}`);
  }
}
