/**
 * PaliGemma JSONL datasets: `loadJsonlDataset(file)` for one `annotations.jsonl`, `loadDataset(root)` for the
 * Roboflow layout (`train/ valid/ test/`, each with `annotations.jsonl` and its images), after roboflow/maestro's
 * JSONL loader (bad lines skipped with a warning, "loaded N of M").
 *
 * - Streamed line by line; every line validated (see validate.ts); images only have their headers read here and
 *   are decoded later, by the collator, one batch at a time.
 * - Policy `"skip"` (default): each problem goes to `onWarning` as `file:line: message`, then one summary line
 *   `file: loaded N of M, skipped K`. Policy `"error"`: the first problem throws a `DatasetError` naming file:line.
 * - Files are only ever read.
 * - `batches()` is an async iterator of `ModelBatch`es made by any `Collator` (the PaliGemmaProcessor), with seeded
 *   shuffling (mulberry32; the order of epoch e is the shuffle seeded with `seed + e`).
 *
 * @example
 * const { train, valid } = await loadDataset("./my-roboflow-export");
 * console.log(formatDescription(train!.describe(), "train"));
 * for await (const batch of train!.batches({ batchSize: 8, shuffle: true, seed: 0, epoch, collator: processor })) {
 *   // ... model.forward(batch) ...
 *   tf.dispose(Object.values(batch));
 * }
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Collator, Example, ExampleDataset, ModelBatch } from "./types.js";
import { DatasetError, validateJsonlFile, formatProblem, type DatasetProblem, type ValidatedEntry } from "./validate.js";
import { describeEntries, type DatasetDescription, type LengthEncoder } from "./describe.js";
import { mulberry32, shuffleInPlace } from "./random.js";
import { ProgressEmitter, type ProgressCallback } from "../events/progress.js";

/** What to do with a bad line: `"skip"` it with a warning (default) or throw (`"error"`). */
export type DatasetPolicy = "skip" | "error";

export interface LoadOptions {
  /** Default `"skip"`. */
  policy?: DatasetPolicy;
  /** Where relative image paths point. Default: the directory of the JSONL file (of each split). */
  imageDir?: string;
  /** Images must lie inside it. Default: `imageDir` (loadJsonlDataset), the dataset root (loadDataset). */
  root?: string;
  /** Receives every warning line and the summary. Default `console.warn`. */
  onWarning?: (message: string) => void;
  /** Image check: `"header"` (default, fast) or `"full"` (decode every image now; see validate.ts). */
  decode?: "header" | "full";
  /** Size limits on lines and texts (see validate.ts). */
  limits?: { maxLineBytes?: number; maxTextChars?: number };
  /** Progress events (task "load", unit "line"): lines checked so far, across the splits for `loadDataset`. */
  onProgress?: ProgressCallback;
}

export interface BatchOptions {
  batchSize: number;
  collator: Collator;
  /** Default false (file order). */
  shuffle?: boolean;
  /** Default 0. */
  seed?: number;
  /** Epoch number: the shuffle is seeded with `seed + epoch`. Default 0. */
  epoch?: number;
  /** Drop a last batch smaller than `batchSize`. Default false. */
  dropLast?: boolean;
  /** Prompt-only batches (no suffix, no labels), passed to the collator. Default false. */
  forGeneration?: boolean;
  /** Batches prepared ahead while the caller works on the current one (0 or 1). Default 1. */
  prefetch?: number;
}

/** A validated JSONL dataset with random access, description and batching. */
export class JsonlDataset implements ExampleDataset {
  private constructor(
    /** The JSONL file as named in messages. */
    readonly file: string,
    private readonly entries: readonly ValidatedEntry[],
    /** Non-blank lines read. */
    readonly totalLines: number,
    /** Problems found (skipped lines), in line order. */
    readonly problems: readonly DatasetProblem[],
  ) {}

  /** @internal use loadJsonlDataset / loadDataset. */
  static fromValidated(file: string, entries: ValidatedEntry[], totalLines: number, problems: DatasetProblem[]): JsonlDataset {
    return new JsonlDataset(file, entries, totalLines, problems);
  }

  get length(): number {
    return this.entries.length;
  }

  /** Lines skipped by validation. */
  get skipped(): number {
    return this.totalLines - this.entries.length;
  }

  /** `file: loaded N of M, skipped K`. */
  get summary(): string {
    return `${this.file}: loaded ${this.length} of ${this.totalLines}, skipped ${this.skipped}`;
  }

  /** Example i (image as an absolute path; `source` is `file:line`). */
  async get(index: number): Promise<Example> {
    return this.getSync(index);
  }

  private getSync(index: number): Example {
    if (!Number.isInteger(index) || index < 0 || index >= this.entries.length) {
      throw new RangeError(`${this.file}: index ${index} out of range 0..${this.entries.length - 1}`);
    }
    const e = this.entries[index];
    return { image: e.image, prefix: e.prefix, suffix: e.suffix, source: `${this.file}:${e.line}` };
  }

  /** Counts, prefix/suffix length histograms (characters, or tokens with `tokenizer`), image sizes. */
  describe(options: { tokenizer?: LengthEncoder } = {}): DatasetDescription {
    return describeEntries(this.entries, { tokenizer: options.tokenizer, lines: this.totalLines });
  }

  /** Example indices in the order `batches()` visits them. */
  order(options: { shuffle?: boolean; seed?: number; epoch?: number } = {}): number[] {
    const idx = [...Array(this.entries.length).keys()];
    if (!options.shuffle) return idx;
    const seed = (options.seed ?? 0) + (options.epoch ?? 0);
    if (!Number.isFinite(seed)) throw new RangeError(`batches: seed + epoch must be a finite number; got ${seed}`);
    return shuffleInPlace(idx, mulberry32(seed));
  }

  /**
   * Batches of examples collated into `ModelBatch`es. The caller disposes each yielded batch; a batch prepared
   * ahead (prefetch) is disposed here if the caller stops early (`break`) or an error occurs.
   */
  async *batches(options: BatchOptions): AsyncGenerator<ModelBatch, void, undefined> {
    const { batchSize, collator } = options ?? ({} as BatchOptions);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batches: batchSize must be a positive integer; got ${batchSize}`);
    if (!collator || typeof collator.collate !== "function") throw new TypeError("batches: collator must have collate(examples) (e.g. a PaliGemmaProcessor)");
    const prefetch = options.prefetch ?? 1;
    if (prefetch !== 0 && prefetch !== 1) throw new RangeError(`batches: prefetch must be 0 or 1; got ${prefetch}`);
    const order = this.order(options);
    const groups: number[][] = [];
    for (let i = 0; i < order.length; i += batchSize) groups.push(order.slice(i, i + batchSize));
    if (options.dropLast && groups.length > 0 && groups[groups.length - 1].length < batchSize) groups.pop();

    const make = (g: number[]): Promise<ModelBatch> =>
      Promise.resolve().then(() => collator.collate(g.map((i) => this.getSync(i)), { forGeneration: options.forGeneration ?? false }));
    let ahead: Promise<ModelBatch> | undefined;
    try {
      for (let k = 0; k < groups.length; k++) {
        const current = ahead ?? make(groups[k]);
        ahead = undefined;
        if (prefetch > 0 && k + 1 < groups.length) {
          ahead = make(groups[k + 1]);
          ahead.catch(() => undefined); // handled when awaited (or in finally)
        }
        yield await current;
      }
    } finally {
      if (ahead) {
        const left = await ahead.catch(() => undefined);
        if (left) disposeBatch(left);
      }
    }
  }
}

/** Disposes every tensor of a batch (duck-typed, so loading data never has to import TensorFlow.js). */
function disposeBatch(batch: ModelBatch): void {
  for (const t of Object.values(batch) as unknown[]) {
    if (t && typeof (t as { dispose?: unknown }).dispose === "function") (t as { dispose(): void }).dispose();
  }
}

function warnDefault(message: string): void {
  console.warn(message);
}

/**
 * Loads and validates one PaliGemma JSONL file.
 *
 * @example
 * const ds = await loadJsonlDataset("data/train/annotations.jsonl", { policy: "error" });
 * const ex = await ds.get(0); // { image: "/abs/data/train/x.jpg", prefix, suffix, source: "...:1" }
 */
export async function loadJsonlDataset(file: string, options: LoadOptions & { displayName?: string } = {}): Promise<JsonlDataset> {
  const progress = new ProgressEmitter(options.onProgress, { task: "load", unit: "line", label: options.displayName ?? file });
  try {
    const ds = await loadJsonl(file, options, (n) => progress.update(n));
    progress.end(ds.totalLines);
    return ds;
  } catch (e) {
    progress.end(0, undefined, (e as Error).message);
    throw e;
  }
}

async function loadJsonl(file: string, options: LoadOptions & { displayName?: string }, onLines: (n: number) => void): Promise<JsonlDataset> {
  const policy = options.policy ?? "skip";
  if (policy !== "skip" && policy !== "error") throw new RangeError(`policy: expected "skip" or "error"; got ${JSON.stringify(policy)}`);
  const warn = options.onWarning ?? warnDefault;
  const r = await validateJsonlFile(file, {
    imageDir: options.imageDir,
    root: options.root,
    displayName: options.displayName,
    decode: options.decode,
    limits: options.limits,
    onLines,
    onProblem: (p) => {
      if (p.kind === "file" || policy === "error") throw new DatasetError(p);
      warn(formatProblem(p));
    },
  });
  const ds = JsonlDataset.fromValidated(options.displayName ?? file, r.entries, r.total, r.problems);
  if (ds.skipped > 0) warn(ds.summary);
  return ds;
}

/** The splits of a Roboflow-layout dataset; a split without `annotations.jsonl` is `undefined`. */
export interface DatasetSplits {
  train?: JsonlDataset;
  valid?: JsonlDataset;
  test?: JsonlDataset;
}

/** Split folder names, in the order Roboflow exports them. */
export const SPLITS = ["train", "valid", "test"] as const;

/** The name of a split's annotation file (Roboflow's PaliGemma export). */
export const ANNOTATIONS_FILE = "annotations.jsonl";

/**
 * Loads `root/{train,valid,test}/annotations.jsonl`. Images resolve against each split's folder (or
 * `imageDir`) and must stay inside `root`. Throws a `DatasetError` when no split exists at all.
 *
 * @example
 * const { train, valid, test } = await loadDataset("./pallets", { policy: "skip" });
 */
export async function loadDataset(root: string, options: LoadOptions = {}): Promise<DatasetSplits> {
  const out: DatasetSplits = {};
  const progress = new ProgressEmitter(options.onProgress, { task: "load", unit: "line", label: root });
  let before = 0; // lines of the splits already loaded
  try {
    for (const split of SPLITS) {
      const file = join(root, split, ANNOTATIONS_FILE);
      const s = await stat(file).catch(() => null);
      if (!s) continue;
      if (!s.isFile()) throw new DatasetError({ file, line: 0, kind: "file", message: `is not a file (a directory?); ${ANNOTATIONS_FILE} must be the JSONL file of the ${split} split` });
      const { onProgress: _, ...rest } = options;
      const ds = await loadJsonl(file, { ...rest, imageDir: options.imageDir ?? join(root, split), root: options.root ?? root, displayName: file }, (n) => progress.update(before + n));
      out[split] = ds;
      before += ds.totalLines;
    }
    if (!out.train && !out.valid && !out.test) {
      throw new DatasetError({ file: root, line: 0, kind: "file", message: `no ${SPLITS.map((s) => `${s}/${ANNOTATIONS_FILE}`).join(", ")} found; expected the Roboflow PaliGemma layout` });
    }
  } catch (e) {
    progress.end(before, undefined, (e as Error).message);
    throw e;
  }
  progress.end(before);
  return out;
}
