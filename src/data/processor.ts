/**
 * `PaliGemmaProcessor`: images + prompts → a model-ready batch, the port of transformers 4.47
 * `PaliGemmaProcessor` (`SiglipImageProcessor` + `GemmaTokenizerFast`). Pixels come from `io/images.ts` (sharp),
 * ids from `io/tokenizer.ts`, the token layout from `./prompt.ts` (read its comment for the deliberate
 * differences from HF: pad token type 1, right padding, truncation that never cuts image tokens).
 *
 * `preprocessor_config.json` (HF): `size.{height,width}`, `image_seq_length`, `resample` (3 bicubic,
 * 2 bilinear), `do_rescale` + `rescale_factor`, `do_normalize` + `image_mean` / `image_std`; missing keys take
 * `SiglipImageProcessor`'s defaults (224×224, bicubic, 1/255, mean = std = 0.5); unknown keys are ignored.
 *
 * @example
 * const processor = await PaliGemmaProcessor.fromPretrained("./paligemma2-3b-pt-224");
 * const batch = await processor.call(
 *   { images: ["cat.jpg"], prefixes: ["caption en"], suffixes: ["a cat on a bench"] });
 * const { loss } = model.forward(batch);     // pixelValues float32[1,3,224,224], inputIds int32[1,L], ...
 * tf.dispose(Object.values(batch));
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../tf.js";
import { initBackend } from "../backend/select.js";
import { ConfigError } from "../config/errors.js";
import { GemmaTokenizer, IMAGE_TOKEN, type DecodeOptions } from "../io/tokenizer.js";
import {
  loadPixelValues, pixelLut, RESAMPLES, type AlphaMode, type ImageInput, type Normalization, type Resample,
} from "../io/images.js";
import {
  buildBatch, cleanPrompt, ProcessorError, truncationWarning, type HostBatch, type Padding, type RowTokens,
} from "./prompt.js";
import type { CollateOptions, Collator, Example, ModelBatch } from "./types.js";
import { CUT_MARGIN_TOKENS, DEFAULT_MAX_TEXT_CHARS } from "./limits.js";

export { ProcessorError } from "./prompt.js";

/** The image side of the processor, read from `preprocessor_config.json`. */
export interface ImageProcessorConfig {
  height: number;
  width: number;
  imageSeqLength: number; // N image tokens per example
  resample: Resample;
  normalization: Normalization;
}

/** How a call pads and truncates (also the defaults `collate` uses, set in the constructor). */
export interface ProcessorCallOptions {
  padding?: Padding; // default "longest"
  /** Text tokens per row (`<bos>` … `<eos>`), image tokens not counted, as HF's `max_length`. */
  maxLength?: number;
  /** Cut rows over maxLength (suffix first, never image tokens) with a warning; default false (error). */
  truncation?: boolean;
}

export interface ProcessorOptions extends ProcessorCallOptions {
  resample?: Resample; // overrides preprocessor_config.json's
  alpha?: AlphaMode; // default "drop" (transformers 4.47)
  concurrency?: number; // images decoded at once (io/images.ts defaultConcurrency)
  /** Where warnings go (truncation); default console.warn. */
  onWarning?: (message: string) => void;
}

export interface ProcessorInputs {
  images: readonly ImageInput[]; // one per row: a path or encoded bytes
  prefixes: readonly string[];
  suffixes?: readonly string[] | null; // training targets; omit for generation prompts
  /** Where each row came from, for error messages (e.g. "train/annotations.jsonl:12"). */
  sources?: readonly (string | undefined)[];
}

const RESAMPLE_CODES: Record<number, Resample> = { 3: "bicubic", 2: "bilinear-antialias" }; // PIL.Image.Resampling

/** Parse HF `preprocessor_config.json` (already JSON-decoded); `file` names it in errors. */
export function parsePreprocessorConfig(json: unknown, file = "preprocessor_config.json"): ImageProcessorConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConfigError({ field: "(root)", value: json, fix: "expected a JSON object", file });
  }
  const j = json as Record<string, unknown>;
  const posInt = (v: unknown, field: string): number => {
    if (typeof v === "number" && Number.isInteger(v) && v > 0) return v;
    throw new ConfigError({ field, value: v, fix: "expected a positive integer", file });
  };
  const size = (j["size"] ?? { height: 224, width: 224 }) as Record<string, unknown>;
  const height = posInt(size["height"], "size.height");
  const width = posInt(size["width"], "size.width");
  const imageSeqLength = posInt(j["image_seq_length"], "image_seq_length");
  if (j["do_resize"] === false) {
    throw new ConfigError({ field: "do_resize", value: false, fix: "PaliGemma needs a fixed size; use true", file });
  }
  const code = j["resample"] ?? 3;
  const resample = RESAMPLE_CODES[code as number];
  if (resample === undefined) {
    throw new ConfigError({ field: "resample", value: code, fix: "use 3 (bicubic) or 2 (bilinear)", file });
  }
  const triple = (v: unknown, field: string, dflt: number): [number, number, number] => {
    const x = v ?? dflt;
    const arr = typeof x === "number" ? [x, x, x] : x;
    if (!Array.isArray(arr) || arr.length !== 3 || arr.some((n) => typeof n !== "number" || !Number.isFinite(n))) {
      throw new ConfigError({ field, value: v, fix: "expected a number or 3 numbers (R, G, B)", file });
    }
    return arr as [number, number, number];
  };
  const imageMean = triple(j["image_mean"], "image_mean", 0.5);
  const imageStd = triple(j["image_std"], "image_std", 0.5);
  if (imageStd.some((s) => s === 0)) {
    throw new ConfigError({ field: "image_std", value: j["image_std"], fix: "std must not be 0", file });
  }
  const rescaleFactor = j["rescale_factor"] ?? 1 / 255;
  if (typeof rescaleFactor !== "number" || !(rescaleFactor > 0)) {
    throw new ConfigError({ field: "rescale_factor", value: rescaleFactor, fix: "expected a positive number (1/255)", file });
  }
  const flag = (k: string) => (j[k] === undefined || j[k] === null ? true : j[k] === true);
  const normalization = { rescaleFactor, imageMean, imageStd, doRescale: flag("do_rescale"), doNormalize: flag("do_normalize") };
  return { height, width, imageSeqLength, resample, normalization };
}

/**
 * PaliGemma's processor: one image and one prompt (prefix, optional suffix) per row. Implements `Collator`, so a
 * trainer can turn dataset examples into batches with `collate`.
 */
export class PaliGemmaProcessor implements Collator {
  readonly config: ImageProcessorConfig;
  private readonly lut: Float32Array;
  private readonly defaults: ProcessorCallOptions;
  private readonly warn: (message: string) => void;

  constructor(readonly tokenizer: GemmaTokenizer, config: ImageProcessorConfig, private readonly options: ProcessorOptions = {}) {
    if (options.resample !== undefined && !RESAMPLES.includes(options.resample)) {
      throw new ProcessorError(`resample: got ${JSON.stringify(options.resample)}; use one of ${RESAMPLES.join(", ")}`);
    }
    this.config = { ...config, resample: options.resample ?? config.resample };
    this.lut = pixelLut(config.normalization);
    this.defaults = { padding: options.padding, maxLength: options.maxLength, truncation: options.truncation };
    this.warn = options.onWarning ?? ((m) => console.warn(m));
  }

  /**
   * Load `preprocessor_config.json` and the tokenizer (`tokenizer.json`, `tokenizer_config.json`) of a checkpoint.
   *
   * @example
   * const p = await PaliGemmaProcessor.fromPretrained("./paligemma2-3b-pt-448", { maxLength: 64, truncation: true });
   */
  static async fromPretrained(dir: string, options: ProcessorOptions = {}): Promise<PaliGemmaProcessor> {
    const file = join(dir, "preprocessor_config.json");
    let text: string;
    try {
      text = await readFile(file, "utf-8");
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
      throw new ConfigError({ field: "(root)", value: undefined, shown: missing ? "no file" : (e as Error).message,
        fix: "a PaliGemma checkpoint directory has preprocessor_config.json (download it with the weights)", file, cause: e });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      const shown = `invalid JSON (${(e as Error).message})`;
      throw new ConfigError({ field: "(root)", value: undefined, shown, fix: "fix or re-download the file", file, cause: e });
    }
    const config = parsePreprocessorConfig(json, file);
    return new PaliGemmaProcessor(await GemmaTokenizer.fromPretrained(dir), config, options);
  }

  /** Image tokens per row (N). */
  get imageSeqLength(): number {
    return this.config.imageSeqLength;
  }

  /**
   * The text side only: ids, masks, token types and labels on the host (no images, no tensors). Warns when
   * truncation cut rows.
   */
  encodeText(prefixes: readonly string[], suffixes?: readonly string[] | null, options: ProcessorCallOptions = {}): HostBatch {
    const N = this.config.imageSeqLength;
    const opts = { ...this.defaults, ...stripUndefined(options) };
    if (suffixes && suffixes.length !== prefixes.length) {
      throw new ProcessorError(`got ${suffixes.length} suffixes for ${prefixes.length} prefixes; give one suffix per prefix`);
    }
    const eos = this.tokenizer.idToToken(this.tokenizer.eosTokenId)!;
    // Cut huge texts before tokenizing them: with maxLength, only the first maxLength (+ a margin) tokens can
    // survive, and they come from the first (maxLength + margin) · maxPieceChars characters; without it, a text
    // over DEFAULT_MAX_TEXT_CHARS is an error (tokenizing 50 MB whole exhausts the heap).
    const cap = opts.maxLength !== undefined ? (opts.maxLength + CUT_MARGIN_TOKENS) * this.tokenizer.maxPieceChars : DEFAULT_MAX_TEXT_CHARS;
    const cut = (text: string, field: string): string => {
      if (text.length <= cap) return text;
      if (opts.maxLength === undefined) {
        throw new ProcessorError(`${field}: ${text.length} characters, over ${DEFAULT_MAX_TEXT_CHARS} without maxLength; set maxLength (and truncation: true) or shorten the text`);
      }
      const end = /[\ud800-\udbff]/.test(text[cap - 1]!) ? cap - 1 : cap; // never split a surrogate pair
      return text.slice(0, end);
    };
    const rows: RowTokens[] = prefixes.map((p, i) => {
      const prefix = cut(cleanPrompt(p, `prefixes[${i}]`, "prefix", IMAGE_TOKEN, N), `prefixes[${i}]`);
      const suffix = suffixes ? cut(cleanPrompt(suffixes[i], `suffixes[${i}]`, "suffix", IMAGE_TOKEN, N), `suffixes[${i}]`) : null;
      return {
        prefix: this.tokenizer.encode(`${prefix}\n`, { addSpecialTokens: false }), // after <bos>, as HF's string
        suffix: suffix === null ? null : this.tokenizer.encode(suffix + eos, { addSpecialTokens: false }),
      };
    });
    const t = this.tokenizer;
    const ids = { image: t.imageTokenId, bos: t.bosTokenId, pad: t.padTokenId };
    const batch = buildBatch(rows, { ids, imageSeqLength: N, ...opts });
    const warning = truncationWarning(batch.truncated, batch.batchSize, opts.maxLength ?? 0, N);
    if (warning !== null) this.warn(warning);
    return batch;
  }

  /** `float32[B·3·H·W]` pixels of the images (host memory). */
  async pixelValues(images: readonly ImageInput[], sources?: readonly (string | undefined)[]): Promise<Float32Array> {
    images.forEach((img, i) => {
      if (typeof img !== "string" && !(img instanceof Uint8Array)) {
        const where = `images[${i}]${sources?.[i] ? ` (${sources[i]})` : ""}`;
        throw new ProcessorError(`${where}: expected a file path or encoded image bytes, got ${img === null ? "null" : typeof img}`);
      }
    });
    const { width, height, resample } = this.config;
    return loadPixelValues(images, { width, height, resample, alpha: this.options.alpha, lut: this.lut,
      concurrency: this.options.concurrency, names: sources });
  }

  /**
   * Images + prompts → `ModelBatch` (tensors made with paligemma-ts's `tf`; the caller disposes them). `labels`
   * is present when suffixes are given. Arguments are checked and text is encoded before any image is decoded;
   * no tensor exists until everything succeeded.
   */
  async call(inputs: ProcessorInputs, options: ProcessorCallOptions = {}): Promise<ModelBatch> {
    const { images, prefixes, suffixes, sources } = inputs;
    if (!Array.isArray(images) || !Array.isArray(prefixes)) {
      throw new ProcessorError("images and prefixes: expected arrays (one entry per row)");
    }
    if (images.length !== prefixes.length) {
      throw new ProcessorError(`got ${images.length} images for ${prefixes.length} prefixes; PaliGemma takes one image per prompt`);
    }
    const text = this.encodeText(prefixes, suffixes, options);
    const pixels = await this.pixelValues(images, sources);
    const { batchSize: B, seqLength: L } = text;
    const { height: H, width: W } = this.config;
    if (!tf.getBackend()) await initBackend(); // a processor used before any model: pick the backend as the model would
    const batch: ModelBatch = {
      pixelValues: tf.tensor4d(pixels, [B, 3, H, W], "float32"),
      inputIds: tf.tensor2d(text.inputIds, [B, L], "int32"),
      attentionMask: tf.tensor2d(text.attentionMask, [B, L], "int32"),
      tokenTypeIds: tf.tensor2d(text.tokenTypeIds, [B, L], "int32"),
    };
    if (text.labels !== null) batch.labels = tf.tensor2d(text.labels, [B, L], "int32");
    return batch;
  }

  /** `Collator`: dataset examples → batch, with the padding/truncation given to the constructor. */
  async collate(examples: readonly Example[], options: CollateOptions = {}): Promise<ModelBatch> {
    return this.call({
      images: examples.map((e) => e.image),
      prefixes: examples.map((e) => e.prefix),
      suffixes: options.forGeneration ? null : examples.map((e) => e.suffix),
      sources: examples.map((e) => e.source),
    });
  }

  /** Ids → text with the tokenizer (HF `processor.decode`). */
  decode(ids: readonly number[] | Int32Array, options?: DecodeOptions): string {
    return this.tokenizer.decode(ids, options);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
