/**
 * Image files → model pixels: decode with sharp (libvips), apply EXIF orientation, make RGB, resize, then rescale
 * and normalize into `float32[3,H,W]` rows of a batch. The reference is transformers 4.47's
 * `load_image` + `SiglipImageProcessor` (Pillow): `exif_transpose`, `convert("RGB")`, `resize(BICUBIC)`,
 * `x · rescale_factor`, `(x − mean) / std`.
 *
 * What "RGB" means, per input (each matches Pillow's `convert("RGB")` bit for bit before resizing):
 * - grayscale (L, LA): the gray value in all three channels;
 * - alpha (RGBA, LA, palette with transparency): `alpha: "drop"` (default) discards it and keeps the colour under
 *   transparent pixels, as transformers 4.47 (`convert_to_rgb`, `load_image`), Pillow and big_vision
 *   (`decode_image(channels=3)`) do; `alpha: "white"` composites onto white first, as newer transformers'
 *   `convert_to_rgb` does;
 * - CMYK JPEG: Pillow's formula `r = (255 − k) − c·(255 − k)/255` (no ICC transform), so colours match Python;
 * - animated GIF/WebP: the first frame; embedded ICC profiles are ignored (Pillow ignores them too).
 *
 * Resampling, `"bicubic"` (default: Pillow's BICUBIC, Catmull-Rom a = −0.5, support scaled with the shrink factor)
 * or `"bilinear-antialias"` (triangle filter scaled the same way: Pillow's BILINEAR, and the kernel of big_vision's
 * `tf.image.resize(method="bilinear", antialias=True)`; compared here with Pillow only):
 * - shrinking on both axes (the usual photo → 224/448 case) runs in libvips (`kernel: "cubic" | "linear"`, no JPEG
 *   shrink-on-load). Its kernels differ from Pillow's in rounding and a box pre-shrink: mean |Δ| ≈ 0.001, max
 *   ≤ 0.07 on the [−1, 1] scale on the fixture photos (test/processor.test.ts reports them);
 * - enlarging on either axis runs {@link pillowResize}, a port of Pillow's resampler: libvips centres enlarged pixels
 *   differently (mean |Δ| up to 0.05), the port equals Pillow bit for bit.
 *
 * @example
 * const lut = pixelLut({ rescaleFactor: 1 / 255, imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5] });
 * const px = await loadPixelValues(["cat.jpg", "dog.png"], { width: 224, height: 224, lut }); // float32[2·3·224·224]
 * const x = tf.tensor4d(px, [2, 3, 224, 224]);
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import sharp, { type OutputInfo, type Sharp } from "sharp";

// libvips' operation cache keeps the last 100 operations (and their buffers) alive. We open every image from fresh
// bytes, so it never hits here; it only holds memory: 100 decodes of the fixture images grew RSS by 59 MB with it
// and 38 MB (flat after 60) without (scripts/memory/rss-images.mjs, issue 13.12). Process-wide, like sharp's API.
sharp.cache(false);

/** An image file path, or the encoded file bytes (PNG, JPEG, WebP, GIF, TIFF, AVIF...). */
export type ImageInput = string | Uint8Array;

/** Resampling filter: HF's default bicubic, or big_vision's bilinear with antialiasing. */
export type Resample = "bicubic" | "bilinear-antialias";
export const RESAMPLES: readonly Resample[] = ["bicubic", "bilinear-antialias"];

/** What to do with an alpha channel (see the module comment). */
export type AlphaMode = "drop" | "white";

/** An image that cannot be read or decoded; `source` is the path or a description of the bytes. */
export class ImageError extends Error {
  override name = "ImageError";
  constructor(readonly source: string, detail: string, options?: { cause?: unknown }) {
    super(`${source}: ${detail}`, options);
  }
}

export interface RgbOptions {
  width: number;
  height: number;
  resample?: Resample; // default "bicubic"
  alpha?: AlphaMode; // default "drop"
  /** Where the image came from, for errors (e.g. "train/annotations.jsonl:12"); a path input is named too. */
  name?: string;
}

/** Rescale and normalize constants (HF preprocessor_config.json: rescale_factor, image_mean, image_std). */
export interface Normalization {
  rescaleFactor: number; // 1/255
  imageMean: readonly [number, number, number]; // [0.5, 0.5, 0.5]
  imageStd: readonly [number, number, number]; // [0.5, 0.5, 0.5] → pixels in [−1, 1]
  doRescale?: boolean; // default true
  doNormalize?: boolean; // default true
}

const KERNEL: Record<Resample, "cubic" | "linear"> = { bicubic: "cubic", "bilinear-antialias": "linear" };

/** How errors name an image: `name: path`, the path, `name` or the byte count. */
function describe(input: ImageInput, name: string | undefined): string {
  if (typeof input === "string") return name === undefined ? input : `${name}: ${input}`;
  return name ?? (input instanceof Uint8Array ? `image bytes (${input.byteLength} bytes)` : "image");
}

/** Pillow's `cmyk2rgb` (libImaging/Convert.c): MULDIV255 rounding, no colour management. */
function cmykToRgb(cmyk: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const nk = 255 - cmyk[p * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = cmyk[p * 4 + c]! * nk + 128;
      rgb[p * 3 + c] = nk - (((t >> 8) + t) >> 8); // nk − round(c·nk/255), never below 0
    }
  }
  return rgb;
}

// ---------------------------------------------------------------- Pillow's resampler (for enlarging)

/** Pillow's filters (libImaging/Resample.c): bicubic a = −0.5, support 2; bilinear (triangle), support 1. */
const FILTERS: Record<Resample, { support: number; f: (x: number) => number }> = {
  bicubic: {
    support: 2,
    f: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  "bilinear-antialias": { support: 1, f: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) },
};
const PRECISION_BITS = 32 - 8 - 2; // Pillow's fixed point for 8-bit images

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`: per output pixel, first input index and int weights. */
function coefficients(inSize: number, outSize: number, resample: Resample): { ksize: number; bounds: Int32Array; kk: Int32Array } {
  const { support: base, f } = FILTERS[resample];
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = base * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) ww += w[x] = f((x + xmin - center + 0.5) * ss);
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? w[x]! / ww : w[x]!;
      kk[xx * ksize + x] = Math.trunc(k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : v);

/**
 * Resize RGB `uint8[h·w·3]` exactly as Pillow's `Image.resize` (reducing_gap None) does for 8-bit images:
 * horizontal pass, then vertical, fixed-point weights, rounding and clipping after each pass.
 */
export function pillowResize(src: Uint8Array, w: number, h: number, outW: number, outH: number, resample: Resample): Uint8Array {
  const HALF = 1 << (PRECISION_BITS - 1);
  let img = src;
  if (outW !== w) {
    const { ksize, bounds, kk } = coefficients(w, outW, resample);
    const tmp = new Uint8Array(h * outW * 3);
    for (let y = 0; y < h; y++) {
      const row = y * w * 3;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2]!, n = bounds[xx * 2 + 1]!, k = xx * ksize;
        let s0 = HALF, s1 = HALF, s2 = HALF;
        for (let x = 0; x < n; x++) {
          const c = kk[k + x]!, i = row + (xmin + x) * 3;
          s0 += img[i]! * c;
          s1 += img[i + 1]! * c;
          s2 += img[i + 2]! * c;
        }
        const o = (y * outW + xx) * 3;
        tmp[o] = clip8(s0 >> PRECISION_BITS);
        tmp[o + 1] = clip8(s1 >> PRECISION_BITS);
        tmp[o + 2] = clip8(s2 >> PRECISION_BITS);
      }
    }
    img = tmp;
    w = outW;
  }
  if (outH !== h) {
    const { ksize, bounds, kk } = coefficients(h, outH, resample);
    const out = new Uint8Array(outH * w * 3);
    const stride = w * 3;
    for (let yy = 0; yy < outH; yy++) {
      const ymin = bounds[yy * 2]!, n = bounds[yy * 2 + 1]!, k = yy * ksize;
      for (let i = 0; i < stride; i++) {
        let s = HALF;
        for (let y = 0; y < n; y++) s += img[(ymin + y) * stride + i]! * kk[k + y]!;
        out[yy * stride + i] = clip8(s >> PRECISION_BITS);
      }
    }
    img = out;
  }
  return img === src ? src.slice() : img;
}

/** Decoded RGB pixels, HWC. */
interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Full-size RGB as Pillow's `convert("RGB")` gives it: CMYK through Pillow's formula (raw C, M, Y, K as Pillow
 * decodes them, Adobe inversion handled by libjpeg), alpha dropped before any resampling (libvips would
 * premultiply it) or composited on white.
 */
async function decodeRgb(open: () => Sharp, cmyk: boolean, hasAlpha: boolean, alpha: AlphaMode): Promise<RgbImage> {
  if (cmyk) {
    const { data, info } = await open().pipelineColourspace("cmyk").toColourspace("cmyk").raw()
      .toBuffer({ resolveWithObject: true });
    return { data: cmykToRgb(data, info.width * info.height), width: info.width, height: info.height };
  }
  let img = open();
  if (hasAlpha) img = alpha === "white" ? img.flatten({ background: "#ffffff" }) : img.removeAlpha();
  const { data, info } = await img.toColourspace("srgb").removeAlpha().raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/**
 * Decode, orient, make RGB and resize one image: `uint8[H·W·3]` (HWC, RGB). Throws {@link ImageError} naming
 * the path (or `options.name`) when the image cannot be read or decoded.
 *
 * @example
 * const rgb = await loadImageRgb("photo.jpg", { width: 224, height: 224 }); // Uint8Array(150528)
 */
export async function loadImageRgb(input: ImageInput, options: RgbOptions): Promise<Uint8Array> {
  const { width, height } = options;
  const source = describe(input, options.name);
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new ImageError(source, `target size ${width}×${height}: expected positive integers`);
  }
  const kernel = KERNEL[options.resample ?? "bicubic"];
  if (kernel === undefined) throw new ImageError(source, `resample "${options.resample}": use one of ${RESAMPLES.join(", ")}`);
  const alpha = options.alpha ?? "drop";
  if (alpha !== "drop" && alpha !== "white") throw new ImageError(source, `alpha "${alpha}": use "drop" or "white"`);
  let bytes: Uint8Array;
  if (typeof input === "string") {
    try {
      bytes = await readFile(input); // read once: header and pixels are then parsed from memory
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ImageError(source, code === "ENOENT" ? "file not found" : `cannot read: ${(e as Error).message}`, { cause: e });
    }
  } else if (input instanceof Uint8Array) {
    bytes = input;
  } else {
    throw new ImageError(source, `expected a file path or encoded image bytes, got ${input === null ? "null" : typeof input}`);
  }
  const open = () => sharp(bytes, { failOn: "error", ignoreIcc: true }).autoOrient();
  const resize = { width, height, fit: "fill", kernel, fastShrinkOnLoad: false } as const;
  const done = ({ data, info }: { data: Buffer; info: OutputInfo }): Uint8Array => {
    if (info.channels !== 3 || info.width !== width || info.height !== height) {
      throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  };
  try {
    const meta = await open().metadata();
    const [w0, h0] = (meta.orientation ?? 1) >= 5 ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
    const enlarge = width > w0 || height > h0;
    const dropAlpha = meta.hasAlpha && alpha === "drop";
    if (!enlarge && meta.space !== "cmyk" && !dropAlpha) {
      // The common case, one libvips pipeline: decode (+ white background), shrink, RGB.
      const img = meta.hasAlpha ? open().flatten({ background: "#ffffff" }) : open();
      const out = img.resize(resize).toColourspace("srgb").removeAlpha().raw({ depth: "uchar" });
      return done(await out.toBuffer({ resolveWithObject: true }));
    }
    const rgb = await decodeRgb(open, meta.space === "cmyk", meta.hasAlpha === true, alpha);
    if (enlarge) {
      // libvips aligns enlarged pixels differently from Pillow (mean |Δ| up to 0.05): use Pillow's own resampler.
      const data = pillowResize(rgb.data, rgb.width, rgb.height, width, height, options.resample ?? "bicubic");
      const info = { width, height, channels: 3 } as OutputInfo;
      return done({ data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), info });
    }
    const raw = { width: rgb.width, height: rgb.height, channels: 3 as const };
    return done(await sharp(rgb.data, { raw }).resize(resize).raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true }));
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw new ImageError(source, `cannot decode image: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * `float32[3·256]`: the normalized value of each uint8 level per channel, computed with transformers' float
 * steps (`rescale`: f32(u · factor) in float64 then cast; `normalize`: f32(f32(x − mean) / std)), so a pixel equals
 * HF's bit for bit once the resized uint8 values agree.
 */
export function pixelLut(n: Normalization): Float32Array {
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(n.imageMean[c]!);
    const std = Math.fround(n.imageStd[c]!);
    for (let u = 0; u < 256; u++) {
      let x = n.doRescale === false ? u : Math.fround(u * n.rescaleFactor);
      if (n.doNormalize !== false) x = Math.fround(Math.fround(x - mean) / std);
      lut[c * 256 + u] = x;
    }
  }
  return lut;
}

/** Write HWC uint8 RGB into `out` as CHW float32 through `lut`, starting at `offset` (one batch row). */
export function writeChw(
  rgb: Uint8Array, lut: Float32Array, out: Float32Array, offset: number, height: number, width: number,
): void {
  type Planes = [Float32Array, Float32Array, Float32Array];
  const hw = height * width;
  const [o0, o1, o2] = [0, 1, 2].map((c) => out.subarray(offset + c * hw, offset + (c + 1) * hw)) as Planes;
  const [l0, l1, l2] = [0, 1, 2].map((c) => lut.subarray(c * 256, (c + 1) * 256)) as Planes;
  for (let p = 0, q = 0; p < hw; p++, q += 3) {
    // HWC → CHW: one sequential read of the pixel, one write per plane
    o0[p] = l0[rgb[q]!]!;
    o1[p] = l1[rgb[q + 1]!]!;
    o2[p] = l2[rgb[q + 2]!]!;
  }
}

export interface PixelOptions extends Omit<RgbOptions, "name"> {
  lut: Float32Array; // from pixelLut()
  /** Images decoded at once. Default: the libuv thread pool size (UV_THREADPOOL_SIZE, 4), at least 2× the cores. */
  concurrency?: number;
  /** Names for byte inputs in errors, by index (e.g. the dataset line). */
  names?: readonly (string | undefined)[];
}

/** Default decode concurrency: enough to keep every core and the libuv pool busy. */
export function defaultConcurrency(): number {
  const pool = Number(process.env["UV_THREADPOOL_SIZE"] ?? 4);
  return Math.max(2, Math.min(Number.isFinite(pool) && pool > 0 ? pool : 4, 2 * availableParallelism()));
}

/**
 * Load a batch: `float32[B·3·H·W]` in `[B,3,H,W]` order. Decodes up to `concurrency` images at once (sharp runs
 * them on the libuv thread pool); fails with the first {@link ImageError} in input order.
 */
export async function loadPixelValues(inputs: readonly ImageInput[], options: PixelOptions): Promise<Float32Array> {
  const { width, height, lut } = options;
  const stride = 3 * width * height;
  const out = new Float32Array(inputs.length * stride);
  const errors: (unknown | undefined)[] = new Array(inputs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const i = next++;
      try {
        const rgb = await loadImageRgb(inputs[i]!, { ...options, name: options.names?.[i] });
        writeChw(rgb, lut, out, i * stride, height, width);
      } catch (e) {
        errors[i] = e;
      }
    }
  };
  const n = Math.max(1, Math.min(options.concurrency ?? defaultConcurrency(), inputs.length));
  await Promise.all(Array.from({ length: n }, worker));
  const first = errors.find((e) => e !== undefined);
  if (first !== undefined) throw first;
  return out;
}
