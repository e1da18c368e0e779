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
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";

/** One non-blank line of a JSONL file and its 1-based line number. */
export interface JsonlLine {
  line: number;
  text: string;
}

/**
 * Streams the non-blank lines of `file` with their 1-based numbers (blank lines are skipped but counted in the
 * numbering; a UTF-8 BOM and `\r` line ends are removed). Rejects with the fs error if the file cannot be read.
 */
export async function* readJsonlLines(file: string): AsyncGenerator<JsonlLine> {
  const stream = createReadStream(file, { encoding: "utf8" });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of rl) {
      line++;
      const text = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      if (text.trim() === "") continue;
      yield { line, text };
    }
  } finally {
    rl.close();
    stream.destroy();
  }
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

/**
 * Parses one line; never throws. Problems: invalid JSON, a non-object, a missing or non-string `image`,
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
 * large dataset is never built as one string; resolves with the number of rows once the file is closed.
 */
export async function writeJsonl(file: string, rows: Iterable<unknown> | AsyncIterable<unknown>): Promise<number> {
  const fh = await open(file, "w");
  let n = 0;
  let buf = "";
  try {
    for await (const row of rows as AsyncIterable<unknown>) {
      buf += JSON.stringify(row) + "\n";
      n++;
      if (buf.length >= 65536) {
        await fh.write(buf);
        buf = "";
      }
    }
    if (buf) await fh.write(buf);
  } finally {
    await fh.close();
  }
  return n;
}
