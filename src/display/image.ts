/**
 * Images for displays: any image the user holds (a file path, encoded bytes, or decoded pixels) → a small encoded
 * preview (`ImageRef`, a `data:` URL) and, for the PNG fallback, its raw RGB pixels. Previews are downscaled
 * (never upscaled) so that a notebook with many displays stays small: JPEG for photos, PNG when there is alpha.
 *
 * @example
 * const { ref } = await loadPreview("cat.jpg", { maxSize: 512 });
 * ref.width; // ≤ 512, ref.naturalWidth: the file's width
 */
import sharp from "sharp";
import type { ImageRef } from "./protocol.js";
import { DisplayError, describeValue } from "./errors.js";

/** Decoded pixels, row-major, `channels` (1..4) interleaved bytes per pixel. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** What display functions accept as an image. */
export type ImageInput = string | Uint8Array | RawImage;

export interface PreviewOptions {
  /** Longest side of the preview in pixels. Default 640. */
  maxSize?: number;
  /** "auto" (default): JPEG unless the image has alpha. */
  format?: "auto" | "jpeg" | "png";
  /** JPEG quality 1..100. Default 80. */
  quality?: number;
}

export interface Preview {
  ref: ImageRef;
  /** RGB pixels of the preview (ref.width × ref.height × 3). */
  rgb: Uint8Array;
}

/** Is `x` a `RawImage`? */
export function isRawImage(x: unknown): x is RawImage {
  const r = x as RawImage;
  return typeof r === "object" && r !== null && !(r instanceof Uint8Array) && r.data instanceof Uint8Array && Number.isInteger(r.width) && Number.isInteger(r.height);
}

/** Is `x` something `loadPreview` accepts? */
export function isImageInput(x: unknown): x is ImageInput {
  return typeof x === "string" || x instanceof Uint8Array || isRawImage(x);
}

function open(image: ImageInput, field: string): ReturnType<typeof sharp> {
  if (typeof image === "string") return sharp(image, { failOn: "none" });
  if (image instanceof Uint8Array) return sharp(image, { failOn: "none" });
  if (isRawImage(image)) {
    const { data, width, height, channels } = image;
    if (![1, 2, 3, 4].includes(channels) || data.length !== width * height * channels) {
      throw new DisplayError(field, `raw image needs data.length = width·height·channels (${width}·${height}·${channels}); got ${data.length}`);
    }
    return sharp(data, { raw: { width, height, channels } });
  }
  throw new DisplayError(field, `expected a file path, encoded image bytes or { data, width, height, channels }; got ${describeValue(image)}`);
}

/** The size of an image without decoding all of it (header only for encoded inputs). */
export async function imageSize(image: ImageInput, field = "image"): Promise<{ width: number; height: number }> {
  if (isRawImage(image)) return { width: image.width, height: image.height };
  try {
    const m = await open(image, field).metadata();
    // EXIF orientations 5..8 swap the sides once applied.
    const swap = (m.orientation ?? 1) >= 5;
    return { width: swap ? m.height! : m.width!, height: swap ? m.width! : m.height! };
  } catch (e) {
    if (e instanceof DisplayError) throw e;
    throw new DisplayError(field, `cannot read ${typeof image === "string" ? JSON.stringify(image) : "the image bytes"}: ${(e as Error).message}`);
  }
}

/** Decodes, orients, flattens and downscales `image`; returns the encoded preview and its RGB pixels. */
export async function loadPreview(image: ImageInput, options: PreviewOptions = {}, field = "image"): Promise<Preview> {
  const maxSize = options.maxSize ?? 640;
  if (!Number.isInteger(maxSize) || maxSize < 16) throw new DisplayError("maxSize", `expected an integer ≥ 16; got ${maxSize}`);
  const quality = options.quality ?? 80;
  try {
    const natural = await imageSize(image, field);
    const base = open(image, field).rotate();
    const meta = isRawImage(image) ? { hasAlpha: image.channels === 2 || image.channels === 4 } : await open(image, field).metadata();
    const scale = Math.min(1, maxSize / Math.max(natural.width, natural.height));
    const width = Math.max(1, Math.round(natural.width * scale));
    const height = Math.max(1, Math.round(natural.height * scale));
    const resized = base.resize(width, height, { fit: "fill" });
    const format = options.format === undefined || options.format === "auto" ? (meta.hasAlpha ? "png" : "jpeg") : options.format;
    const encoded = format === "png"
      ? await resized.clone().png({ compressionLevel: 9 }).toBuffer()
      : await resized.clone().flatten({ background: "#ffffff" }).jpeg({ quality, mozjpeg: true }).toBuffer();
    const rgb = await resized.clone().flatten({ background: "#ffffff" }).removeAlpha().toColourspace("srgb").raw().toBuffer();
    const ref: ImageRef = {
      src: `data:image/${format};base64,${encoded.toString("base64")}`,
      width,
      height,
      naturalWidth: natural.width,
      naturalHeight: natural.height,
    };
    return { ref, rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.length) };
  } catch (e) {
    if (e instanceof DisplayError) throw e;
    throw new DisplayError(field, `cannot decode ${typeof image === "string" ? JSON.stringify(image) : "the image"}: ${(e as Error).message}`);
  }
}

/** Bytes of the base64 payload of a `data:` URL (for size checks and the PNG renderer). */
export function dataUrlBytes(src: string): Buffer {
  const i = src.indexOf("base64,");
  if (!src.startsWith("data:") || i < 0) throw new DisplayError("image.src", `expected a base64 data: URL; got ${describeValue(src)}`);
  return Buffer.from(src.slice(i + 7), "base64");
}
