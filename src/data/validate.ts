/**
 * Line-by-line validation of a PaliGemma JSONL file: every problem is reported with `file:line`, nothing is
 * modified. Checks, in this order, one problem per line:
 *   0. a line over `maxLineBytes` (its bytes are never held) (kind "size"), invalid UTF-8 (kind "encoding")
 *   1. bad JSON / not an object / a duplicate key             (kind "json")
 *   2. missing, non-string or empty `image`/`prefix`/`suffix` (kind "field"); a prefix or suffix over
 *      `maxTextChars` (kind "size")
 *   3. an image path that escapes the dataset root: `../`, an absolute path outside it, or a symlink (file or
 *      directory) whose real path is outside it (util/paths.ts, realpath) (kind "path")
 *   4. a duplicate entry (same resolved image, prefix and suffix as an earlier line) (kind "duplicate")
 *   5. a missing image file                                   (kind "image-missing")
 *   6. an image that cannot be read (kind "image-undecodable"): with `decode: "header"` (default) only its header
 *      (`sharp(file).metadata()`, fast: a truncated file passes); with `decode: "full"` every pixel, by the same
 *      decoder training uses (io/images.ts), so a truncated PNG/JPEG is caught here, not at the first batch.
 * A file without any line is one problem (kind "empty"). `ValidateResult.decoded` says which image check ran.
 *
 * @example
 * const r = await validateJsonlFile("ds/train/annotations.jsonl", { onProblem: (p) => console.log(formatProblem(p)) });
 * console.log(`loaded ${r.entries.length} of ${r.total}`);
 */
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import sharp from "sharp";
import { loadImageRgb } from "../io/images.js";
import { resolveInside } from "../util/paths.js";
import { parseExampleLine, readJsonlLines } from "./jsonl.js";
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_TEXT_CHARS } from "./limits.js";

/** What kind of problem a line has (see the file header for the order of checks). */
export type ProblemKind = "file" | "empty" | "size" | "encoding" | "json" | "field" | "path" | "duplicate" | "image-missing" | "image-undecodable";

/** One problem: where (`file:line`; line 0 = the file as a whole), what kind, and a message with the fix. */
export interface DatasetProblem {
  file: string;
  line: number;
  kind: ProblemKind;
  message: string;
}

/** `file:line: message` (or `file: message` for file-level problems): the one format every tool prints. */
export function formatProblem(p: DatasetProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}: ${p.message}` : `${p.file}: ${p.message}`;
}

/** A dataset problem raised under policy "error" (or a file that cannot be read at all). */
export class DatasetError extends Error {
  readonly file: string;
  readonly line: number;
  readonly kind: ProblemKind;
  constructor(problem: DatasetProblem, options?: { cause?: unknown }) {
    super(formatProblem(problem), options);
    this.name = "DatasetError";
    this.file = problem.file;
    this.line = problem.line;
    this.kind = problem.kind;
  }
}

/** A line that passed every check; `image` is the absolute path. */
export interface ValidatedEntry {
  line: number;
  image: string;
  prefix: string;
  suffix: string;
  /** Displayed image size (EXIF orientation applied) and format, from the header. */
  width: number;
  height: number;
  format: string;
}

export interface ValidateOptions {
  /** Directory relative image paths are resolved against. Default: the JSONL file's directory. */
  imageDir?: string;
  /** Images must resolve inside this directory. Default: `imageDir`. */
  root?: string;
  /** How `file` is named in messages (e.g. `train/annotations.jsonl`). Default: `file` as given. */
  displayName?: string;
  /** Called for each problem in line order; if it throws, validation stops and the error propagates. */
  onProblem?: (problem: DatasetProblem) => void;
  /** Image headers read in parallel. Default 16 (4 with `decode: "full"`). */
  concurrency?: number;
  /** `"header"` (default): read each image's header only; `"full"`: decode every pixel (slower, catches truncation). */
  decode?: "header" | "full";
  /** Size limits: bytes per line (default 4 MiB), characters per prefix/suffix (default 262144). */
  limits?: { maxLineBytes?: number; maxTextChars?: number };
  /** Called with the number of lines checked so far, after each batch of image probes. */
  onLines?: (linesChecked: number) => void;
}

export interface ValidateResult {
  entries: ValidatedEntry[];
  problems: DatasetProblem[];
  /** Non-blank lines seen. */
  total: number;
  /** Whether images were decoded fully (`decode: "full"`) or only their headers were read. */
  decoded: boolean;
}

type ImageInfo = { ok: true; width: number; height: number; format: string } | { ok: false; kind: ProblemKind; message: string };

async function probeImage(path: string, full: boolean): Promise<ImageInfo> {
  try {
    const s = await stat(path);
    if (!s.isFile()) return { ok: false, kind: "image-missing", message: `is not a file` };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, kind: "image-missing", message: code === "ENOENT" ? "not found" : `cannot be opened (${code ?? (e as Error).message})` };
  }
  try {
    const m = await sharp(path).metadata();
    if (!m.width || !m.height) return { ok: false, kind: "image-undecodable", message: "has no image size in its header" };
    const swap = (m.orientation ?? 1) >= 5; // EXIF orientations 5..8 rotate by 90°
    if (full) await loadImageRgb(path, { width: 8, height: 8 }); // decodes every pixel as training does
    return { ok: true, width: swap ? m.height : m.width, height: swap ? m.width : m.height, format: m.format ?? "unknown" };
  } catch (e) {
    return { ok: false, kind: "image-undecodable", message: `cannot be ${full ? "decoded" : "read"} as an image (${(e as Error).message.split("\n")[0]})` };
  }
}

/** A path for messages: JSON-quoted (control characters escaped), long ones shortened in the middle. */
function quote(path: string): string {
  const q = JSON.stringify(path);
  return q.length > 120 ? `${q.slice(0, 60)}…${q.slice(-50)}` : q;
}

/**
 * Validates `file` line by line (streamed), reading image headers in parallel batches; problems are reported in
 * line order. A file that cannot be read gives one "file" problem with line 0.
 */
export async function validateJsonlFile(file: string, options: ValidateOptions = {}): Promise<ValidateResult> {
  const display = options.displayName ?? file;
  const imageDir = resolve(options.imageDir ?? dirname(file));
  const root = resolve(options.root ?? imageDir);
  const full = options.decode === "full";
  if (options.decode !== undefined && options.decode !== "header" && !full) throw new RangeError(`decode: expected "header" or "full"; got ${JSON.stringify(options.decode)}`);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? (full ? 4 : 16)));
  const maxLineBytes = options.limits?.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxTextChars = options.limits?.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  const entries: ValidatedEntry[] = [];
  const problems: DatasetProblem[] = [];
  const seen = new Map<string, number>(); // image\0prefix\0suffix → first line
  const probes = new Map<string, Promise<ImageInfo>>(); // one header read per image file
  let total = 0;

  const report = (line: number, kind: ProblemKind, message: string): void => {
    const p = { file: display, line, kind, message };
    problems.push(p);
    options.onProblem?.(p);
  };

  type Pending = { line: number; image: string; raw: string; prefix: string; suffix: string; info: Promise<ImageInfo> };
  let batch: (Pending | { line: number; kind: ProblemKind; message: string })[] = [];
  const flush = async (): Promise<void> => {
    const infos = await Promise.all(batch.map((b) => ("info" in b ? b.info : undefined)));
    batch.forEach((b, i) => {
      if (!("info" in b)) return report(b.line, b.kind, b.message);
      const info = infos[i]!;
      if (!info.ok) return report(b.line, info.kind, `image ${quote(b.raw)} (${quote(b.image)}) ${info.message}`);
      entries.push({ line: b.line, image: b.image, prefix: b.prefix, suffix: b.suffix, width: info.width, height: info.height, format: info.format });
    });
    batch = [];
    options.onLines?.(total);
  };

  try {
    const s = await stat(file);
    if (!s.isFile()) throw Object.assign(new Error(`EISDIR: ${file} is a directory`), { code: "EISDIR" });
    for await (const { line, text, problem } of readJsonlLines(file, { maxLineBytes })) {
      total++;
      const parsed = problem ? undefined : parseExampleLine(text);
      const long = parsed?.ok ? (["prefix", "suffix"] as const).find((f) => parsed.value[f].length > maxTextChars) : undefined;
      if (problem) {
        batch.push({ line, kind: problem.kind, message: problem.message });
      } else if (!parsed!.ok) {
        batch.push({ line, kind: parsed!.kind, message: parsed!.problem });
      } else if (long) {
        batch.push({ line, kind: "size", message: `field "${long}": ${parsed!.value[long].length} characters, over the limit of ${maxTextChars} (maxTextChars); shorten it` });
      } else {
        const { image, prefix, suffix } = parsed!.value;
        const where = await resolveInside(root, image, { base: imageDir });
        const abs = where.lexical;
        const key = `${abs}\0${prefix}\0${suffix}`;
        if (!where.inside) {
          const via = where.real !== abs ? ` (real path ${quote(where.real)}, through a symlink)` : "";
          batch.push({ line, kind: "path", message: `field "image": ${quote(image)} resolves to ${quote(abs)}${via}, outside the dataset root ${where.root}; keep images inside it` });
        } else if (seen.has(key)) {
          batch.push({ line, kind: "duplicate", message: `duplicate of line ${seen.get(key)} (same image, prefix and suffix); remove one` });
        } else {
          seen.set(key, line);
          let info = probes.get(abs);
          if (!info) probes.set(abs, (info = probeImage(abs, full)));
          batch.push({ line, image: abs, raw: image, prefix, suffix, info });
        }
      }
      if (batch.length >= concurrency) await flush();
    }
    await flush();
    if (total === 0) report(0, "empty", "has no examples (no non-blank line); add lines or remove the file");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined) throw e; // an onProblem callback stopped us
    report(0, "file", `cannot read the file (${(e as Error).message}); give the path of a JSONL file`);
  }
  return { entries, problems, total, decoded: full };
}
