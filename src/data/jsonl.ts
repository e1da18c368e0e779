/**
 * JSON Lines I/O for the PaliGemma dataset layout (`{"image": "a.jpg", "prefix": "...", "suffix": "..."}` per
 * line, as Roboflow exports it): a streaming line reader (node:readline over fs.createReadStream, so a file of
 * any size is never held whole), a per-line parser that reports problems instead of throwing, and a writer.
 *
 * @example
 * for await (const { line, text } of readJsonlLines("train/annotations.jsonl")) {
 *   const r = parseExampleLine(text);
 *   if (!r.ok) console.warn(`train/annotations.jsonl:${line}: ${r.problem}`);
 * }
 */
import { createReadStream } from "node:fs";
import { writeFileAtomic } from "../util/atomic-write.js";

import { DEFAULT_MAX_LINE_BYTES } from "./limits.js";

/**
 * One non-blank line of a JSONL file and its 1-based line number; `problem` (with `text` "") when the line could not
 * be read: longer than `maxLineBytes` (kind "size", its bytes are skipped, never held) or not valid UTF-8 (kind
 * "encoding": decoding would silently turn bad bytes into U+FFFD).
 */
export interface JsonlLine {
  line: number;
  text: string;
  problem?: { kind: "size" | "encoding"; message: string };
}

const BOM = [0xef, 0xbb, 0xbf];

/**
 * Streams the non-blank lines of `file` with their 1-based numbers (blank lines are skipped but counted in the
 * numbering; a UTF-8 BOM and `\r` line ends are removed). Lines are split on bytes and decoded strictly; an
 * over-long or invalid line is yielded with a `problem`. Rejects with the fs error if the file cannot be read.
 */
export async function* readJsonlLines(file: string, options: { maxLineBytes?: number } = {}): AsyncGenerator<JsonlLine> {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const stream = createReadStream(file);
  let line = 0;
  let parts: Buffer[] = [];
  let size = 0;
  const finish = (): JsonlLine | null => {
    line++;
    const n = size;
    const kept = parts;
    parts = [];
    size = 0;
    if (n > max) {
      const mb = (n / 1048576).toFixed(1);
      return { line, text: "", problem: { kind: "size", message: `line is ${n} bytes (${mb} MiB), over the limit of ${max} bytes (maxLineBytes); shorten its texts or raise maxLineBytes` } };
    }
    let bytes = Buffer.concat(kept);
    if (line === 1 && BOM.every((b, i) => bytes[i] === b)) bytes = bytes.subarray(3);
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      const at = firstInvalidUtf8(bytes);
      return { line, text: "", problem: { kind: "encoding", message: `not valid UTF-8 (bad byte 0x${bytes[at]?.toString(16).padStart(2, "0")} at byte ${at} of the line); save the file as UTF-8` } };
    }
    return text.trim() === "" ? null : { line, text };
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl < 0 ? chunk.length : nl;
        if (size + (end - start) <= max) parts.push(chunk.subarray(start, end));
        else parts = []; // over the limit: count the bytes, keep none
        size += end - start;
        if (nl < 0) break;
        const l = finish();
        if (l) yield l;
        start = nl + 1;
      }
    }
    if (size > 0) {
      const l = finish();
      if (l) yield l;
    }
  } finally {
    stream.destroy();
  }
}

/** Byte offset of the first invalid UTF-8 sequence in `bytes` (the first U+FFFD of a lenient decoding). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const lenient = new TextDecoder("utf-8").decode(bytes);
  const at = lenient.indexOf("\ufffd");
  return Buffer.byteLength(lenient.slice(0, Math.max(at, 0)), "utf8");
}

/** The three fields of a PaliGemma JSONL line (extra keys are allowed and ignored). */
export interface JsonlExample {
  image: string;
  prefix: string;
  suffix: string;
}

/** Result of `parseExampleLine`: the example, or what is wrong with the line. */
export type ParsedLine =
  | { ok: true; value: JsonlExample }
  | { ok: false; kind: "json" | "field"; problem: string };

const FIELDS = ["image", "prefix", "suffix"] as const;

function shown(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

/** The first key that appears twice at the top level of the JSON object `text` (valid JSON), or null. */
export function duplicateTopLevelKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k]!)) k++;
        if (text[k] === ":") {
          const key = JSON.parse(text.slice(i, j + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = j;
    }
  }
  return null;
}

/**
 * Parses one line; never throws. Problems: invalid JSON, a non-object, a duplicate top-level key, a missing or non-string `image`,
 * `prefix` or `suffix`, an empty `image`. (`prefix`/`suffix` may be empty strings: an image with no objects has
 * an empty detection suffix.)
 */
export function parseExampleLine(text: string): ParsedLine {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    return { ok: false, kind: "json", problem: `bad JSON (${(e as Error).message}); each line must be one JSON object` };
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    return { ok: false, kind: "json", problem: `expected a JSON object {"image", "prefix", "suffix"}; got ${shown(obj)}` };
  }
  const dup = duplicateTopLevelKey(text);
  if (dup !== null) return { ok: false, kind: "json", problem: `duplicate key ${JSON.stringify(dup)} (JSON.parse would keep the last silently); keep one` };
  const rec = obj as Record<string, unknown>;
  for (const f of FIELDS) {
    if (!(f in rec)) return { ok: false, kind: "field", problem: `field "${f}": missing; every line needs "image", "prefix" and "suffix" strings` };
    if (typeof rec[f] !== "string") return { ok: false, kind: "field", problem: `field "${f}": expected a string; got ${shown(rec[f])}` };
  }
  if ((rec.image as string).trim() === "") return { ok: false, kind: "field", problem: `field "image": empty; give the image file name` };
  return { ok: true, value: { image: rec.image as string, prefix: rec.prefix as string, suffix: rec.suffix as string } };
}

/**
 * Writes rows as JSON Lines (one `JSON.stringify(row)` per line, `\n` ends), buffered in ~64 KiB writes so a
 * large dataset is never built as one string, through util/atomic-write.ts (a temporary sibling renamed over `file`
 * when complete: a failure half-way leaves the previous file, or none); resolves with the number of rows.
 */
export async function writeJsonl(file: string, rows: Iterable<unknown> | AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  await writeFileAtomic(file, async (fh) => {
    let buf = "";
    for await (const row of rows as AsyncIterable<unknown>) {
      buf += JSON.stringify(row) + "\n";
      n++;
      if (buf.length >= 65536) {
        await fh.write(buf);
        buf = "";
      }
    }
    if (buf) await fh.write(buf);
  });
  return n;
}
