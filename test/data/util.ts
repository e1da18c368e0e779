/**
 * Helpers for the data tests: tiny images written with sharp, a hash of a folder tree (to prove files are never
 * modified), a fake collator that makes real TF.js tensors, and the path of the built CLI.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import sharp from "sharp";
import { tf } from "../../src/tf.js";
import type { Collator, CollateOptions, Example, ModelBatch } from "../../src/data/types.js";
import { repoRoot } from "../helpers/paths.js";

/** Writes a solid-colour image of the given size and format (png, jpeg, webp). */
export async function writeImage(path: string, width: number, height: number, format: "png" | "jpeg" | "webp" = "png"): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const img = sharp({ create: { width, height, channels: 3, background: { r: (width * 7) % 256, g: (height * 13) % 256, b: 90 } } });
  await writeFile(path, await img.toFormat(format).toBuffer());
}

/** Writes lines (strings as they are, objects as JSON) to a JSONL file. */
export async function writeLines(path: string, lines: readonly (string | object)[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
}

/** sha256 over every file (path relative to `dir` + bytes), sorted: equal ⇔ same names and contents. */
export async function hashTree(dir: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        h.update(relative(dir, p) + "\0");
        h.update(await readFile(p));
      }
    }
  };
  await walk(dir);
  return h.digest("hex");
}

/**
 * A stand-in for the PaliGemmaProcessor: records what it was given and returns tensors whose first column is
 * the example's position in the dataset (parsed from `source`'s line number), so tests can see the order.
 */
export class FakeCollator implements Collator {
  readonly calls: { examples: Example[]; options?: CollateOptions }[] = [];
  constructor(private readonly failAt = -1) {}
  async collate(examples: readonly Example[], options?: CollateOptions): Promise<ModelBatch> {
    this.calls.push({ examples: [...examples], options });
    if (this.calls.length - 1 === this.failAt) throw new Error("collate failed on purpose");
    const lines = examples.map((e) => Number(e.source?.split(":").pop()));
    const B = examples.length;
    return {
      pixelValues: tf.zeros([B, 3, 2, 2]),
      inputIds: tf.tensor2d(lines.map((l) => [l, 0]), [B, 2], "int32"),
      attentionMask: tf.ones([B, 2], "int32"),
      tokenTypeIds: tf.zeros([B, 2], "int32"),
      ...(options?.forGeneration ? {} : { labels: tf.fill([B, 2], -100, "int32") }),
    };
  }
}

/** The built CLI entry point (tests run from dist/). */
export function cliPath(): string {
  return join(repoRoot(), "dist", "src", "cli", "main.js");
}

/** The committed fixtures of this area. */
export function fixture(name: string): string {
  return join(repoRoot(), "test", "fixtures", "data", name);
}
