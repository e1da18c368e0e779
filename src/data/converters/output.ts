/**
 * What every converter shares: its error type and writing a dataset folder in the PaliGemma layout
 * (`annotations.jsonl` + the images beside it, hard-linked when possible, else copied; sources never modified).
 *
 * @example
 * await writeSplit("out/train", lines, (name) => join(srcDir, name));
 */
import { link, readFile, rm, stat, unlink } from "node:fs/promises";
import { ensureDir, writeFileAtomic } from "../../util/atomic-write.js";
import { dirname, join, resolve } from "node:path";
import { writeJsonl, type JsonlExample } from "../jsonl.js";
import { resolveInside } from "../../util/paths.js";

/** An input a converter cannot use, named by file and field path (e.g. `annotations[3].bbox`), with the fix. */
export class ConversionError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field}: ${detail}`);
    this.name = "ConversionError";
  }
}

/** Result of converting one annotation source. */
export interface ConversionResult {
  /** One line per image, `image` relative to the split folder. */
  lines: JsonlExample[];
  /** The class names in the prompt, in prompt order. */
  classes: string[];
  /** Images written with an empty suffix (no objects). */
  emptyImages: number;
  /** Images left out (e.g. `emptyImages: "skip"`). */
  skippedImages: number;
  /** Annotations left out (crowd regions, classes outside an explicit class list). */
  skippedAnnotations: number;
}

/** Puts `src` at `dest` (hard link, else copy); true when it created `dest` (false: in place, nothing to do). */
async function placeImage(src: string, dest: string): Promise<boolean> {
  if (resolve(src) === resolve(dest)) return false; // converting in place: nothing to do
  await ensureDir(dirname(dest));
  await unlink(dest).catch(() => undefined);
  try {
    await link(src, dest);
  } catch {
    await writeFileAtomic(dest, await readFile(src)); // a copy never appears half-written
  }
  return true;
}

/**
 * Writes `outDir/annotations.jsonl` and puts every referenced image at `outDir/<image>` (hard link or copy).
 * `source(image)` gives the input path of an image; with `sourceRoot`, its real path (symlinks followed) must stay
 * inside that folder (util/paths.ts). All or nothing: every name and source is checked before
 * anything is written (a `ConversionError` for a missing image or a name that would land outside `outDir`), the
 * JSONL goes through util/atomic-write.ts, and if anything fails the images placed so far are removed again.
 */
export async function writeSplit(
  outDir: string, lines: readonly JsonlExample[], source: (image: string) => string, inputName: string, sourceRoot?: string,
): Promise<void> {
  const plan: [string, string][] = [];
  const done = new Set<string>();
  for (const l of lines) {
    if (done.has(l.image)) continue;
    done.add(l.image);
    const dest = join(outDir, l.image);
    if (!(await resolveInside(outDir, l.image)).inside) throw new ConversionError(inputName, `image "${l.image}"`, "the file name leaves the output folder; use names without '..'");
    const src = source(l.image);
    if (sourceRoot !== undefined) {
      const where = await resolveInside(sourceRoot, src);
      if (!where.inside) throw new ConversionError(inputName, `image "${l.image}"`, `resolves to ${where.real}, outside the image folder ${where.root} (through '..' or a symlink); keep images inside it`);
    }
    const ok = await stat(src).then((s) => s.isFile(), () => false);
    if (!ok) throw new ConversionError(inputName, `image "${l.image}"`, `not found at ${src}; pass the folder holding the images`);
    plan.push([src, dest]);
  }
  await ensureDir(outDir);
  const placed: string[] = [];
  try {
    for (const [src, dest] of plan) if (await placeImage(src, dest)) placed.push(dest);
    await writeJsonl(join(outDir, "annotations.jsonl"), lines);
  } catch (e) {
    await Promise.all(placed.map((p) => rm(p, { force: true })));
    throw e;
  }
}
