/**
 * `paligemma-ts data ...`: synthetic datasets, validation, description and conversion from the command line.
 * Every failure ends as one readable line and an exit code (0 ok, 1 problems found / conversion failed,
 * 2 usage error); no input makes it print a stack trace.
 *
 * @example
 * npx paligemma-ts data synth detection --out shapes --seed 1
 * npx paligemma-ts data validate shapes --strict
 */
import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ANNOTATIONS_FILE, SPLITS } from "../data/dataset.js";
import { describeEntries, formatDescription } from "../data/describe.js";
import { formatProblem, validateJsonlFile } from "../data/validate.js";
import { convertCocoDataset, convertCocoFile, type CocoConvertOptions } from "../data/converters/coco.js";
import { convertYoloDataset } from "../data/converters/yolo.js";
import { ConversionError, type ConversionResult } from "../data/converters/output.js";
import { synthDetection, synthSegmentation } from "../data/synth/shapes.js";
import { segEncoder } from "../codecs/seg.js";
import { loadSegVae } from "../codecs/vqvae/default.js";
import { MANIFEST_FORMATS, synthManifests, type ManifestFormat } from "../data/synth/manifests.js";

export const DATA_USAGE = `usage: paligemma-ts data synth|validate|describe|convert ...
  paligemma-ts data synth manifests|detection|segmentation --out DIR [--seed N] [--train N] [--valid N] [--test N] [--variants N]
                     [--format full|compact|grid]  (manifests: the tutorial-like document, the short one the main
                                               job uses, or the short one in grid text, one glyph per 16 px cell)
                     [--vae FILE]              (segmentation: the <seg> VQ-VAE; default ours, models/vqvae-synth-64)
  paligemma-ts data validate PATH [--strict] [--deep] [--image-dir DIR]
  paligemma-ts data describe PATH [--image-dir DIR]
  paligemma-ts data convert coco ROOT --out DIR [--task detect|segment] [--vae FILE] [--class-order declared|sorted] [--empty keep|skip]
  paligemma-ts data convert coco --annotations FILE [--images DIR] --out DIR [same options]
  paligemma-ts data convert yolo ROOT --out DIR [--classes "a,b" | --classes-file FILE] [--class-order ...] [--empty ...]

  synth        writes a deterministic synthetic dataset: manifests (JSON extraction, 30/10/10 documents, train x5
               photos), detection (shapes with <loc> suffixes + COCO boxes), segmentation (shapes: COCO polygons,
               and JSONL "segment a ; b" → <loc>×4<seg>×16 suffixes made with the <seg> VQ-VAE: ours,
               models/vqvae-synth-64, unless --vae FILE names another, e.g. big_vision's vae-oid.npz)
  validate     checks every line of PATH (a dataset root with train/ valid/ test/, a split folder, or a .jsonl
               file): UTF-8, sizes (4 MiB a line, 262144 characters a text), JSON, fields, image paths (real
               paths, symlinks followed, inside the root), duplicates, image headers (--deep: every pixel).
               Prints one "file:line: problem" per problem and a "loaded N of M" summary per file; exits 1 under
               --strict when there are problems (an empty file is one). Never modifies anything.
  describe     counts, prefix/suffix length histograms (characters) and image sizes per split
  convert coco a Roboflow COCO export (ROOT/{train,valid,test}/_annotations.coco.json) or one COCO file into the
               PaliGemma JSONL layout: prefix "detect a ; b" (all classes, declared order), suffix <loc> boxes;
               images without objects keep an empty suffix unless --empty skip. --task segment: prefix
               "segment a ; b", suffix <loc>×4<seg>×16 per object, masks encoded by the <seg> VQ-VAE (ours
               unless --vae FILE)
  convert yolo a YOLO export (data.yaml + {train,valid,test}/images|labels, or images/ + labels/) into the same.

  example: paligemma-ts data synth manifests --out pallets --seed 7 && paligemma-ts data validate pallets`;

class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

function parseArgs(args: readonly string[], valued: readonly string[], bools: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) {
      positional.push(a);
    } else if (bools.includes(a)) {
      flags.set(a, true);
    } else if (valued.includes(a)) {
      const v = args[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
      flags.set(a, v);
    } else {
      throw new UsageError(`unknown option ${a}`);
    }
  }
  return { positional, flags };
}

function intFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${name}: expected an integer; got ${JSON.stringify(v)}`);
  return n;
}

function strFlag<T extends string>(p: Parsed, name: string, allowed?: readonly T[]): T | undefined {
  const v = p.flags.get(name);
  if (v === undefined) return undefined;
  if (typeof v !== "string" || (allowed && !allowed.includes(v as T))) throw new UsageError(`${name}: expected ${allowed?.join(" or ") ?? "a value"}; got ${JSON.stringify(v)}`);
  return v as T;
}

/** Where the command prints (stdout/stderr by default; tests pass their own). */
export interface DataIo {
  out(line: string): void;
  err(line: string): void;
}
const processIo: DataIo = { out: (l) => void process.stdout.write(l + "\n"), err: (l) => void process.stderr.write(l + "\n") };
type Out = (line: string) => void;
const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);
const isDir = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);

/** The JSONL files PATH stands for, with the root their images must stay in. */
async function targets(path: string, imageDir?: string): Promise<{ file: string; imageDir: string; root: string }[]> {
  for (const f of [join(path, ANNOTATIONS_FILE), ...SPLITS.map((s) => join(path, s, ANNOTATIONS_FILE))]) {
    if (await isDir(f)) throw new Error(`${f}: is a directory; ${ANNOTATIONS_FILE} must be the JSONL file`);
  }
  if (await isFile(path)) return [{ file: path, imageDir: imageDir ?? dirname(path), root: imageDir ?? dirname(path) }];
  if (await isFile(join(path, ANNOTATIONS_FILE))) return [{ file: join(path, ANNOTATIONS_FILE), imageDir: imageDir ?? path, root: imageDir ?? path }];
  const found = [];
  for (const s of SPLITS) {
    const f = join(path, s, ANNOTATIONS_FILE);
    if (await isFile(f)) found.push({ file: f, imageDir: imageDir ?? join(path, s), root: imageDir ?? path });
  }
  return found;
}

async function validateCmd(p: Parsed, describe: boolean, out: Out): Promise<number> {
  const path = p.positional[0];
  if (!path || p.positional.length > 1) throw new UsageError(`${describe ? "describe" : "validate"} needs exactly one PATH`);
  const files = await targets(path, strFlag(p, "--image-dir"));
  if (files.length === 0) {
    out(`${path}: no ${ANNOTATIONS_FILE} found (looked at PATH itself, PATH/${ANNOTATIONS_FILE} and PATH/{${SPLITS.join(",")}}/${ANNOTATIONS_FILE})`);
    return 1;
  }
  let problems = 0;
  for (const t of files) {
    const decode = p.flags.has("--deep") ? "full" : "header";
    const r = await validateJsonlFile(t.file, { imageDir: t.imageDir, root: t.root, decode, onProblem: describe ? undefined : (pr) => out(formatProblem(pr)) });
    problems += r.problems.length;
    if (describe) out(formatDescription(describeEntries(r.entries, { lines: r.total }), t.file));
    else out(`${t.file}: loaded ${r.entries.length} of ${r.total}, skipped ${r.total - r.entries.length}`);
  }
  if (describe) return 0;
  out(problems === 0 ? "no problems found" : `${problems} problem${problems === 1 ? "" : "s"} found`);
  out(p.flags.has("--deep") ? "images: every pixel decoded" : "images: headers read, pixels not decoded (a truncated file can pass); --deep decodes them");
  return problems > 0 && p.flags.has("--strict") ? 1 : 0;
}

async function synthCmd(p: Parsed, out: Out): Promise<number> {
  const kind = p.positional[0];
  const dest = strFlag(p, "--out");
  if (!dest) throw new UsageError("synth needs --out DIR");
  const seed = intFlag(p, "--seed") ?? 0;
  const counts = Object.fromEntries(
    (["train", "valid", "test"] as const).map((s) => [s, intFlag(p, `--${s}`)]).filter(([, v]) => v !== undefined),
  );
  const t0 = Date.now();
  let summary;
  if (kind === "manifests") {
    if (p.flags.has("--vae")) throw new UsageError("--vae is for synth segmentation");
    const format = strFlag<ManifestFormat>(p, "--format", MANIFEST_FORMATS);
    summary = await synthManifests({ out: dest, seed, counts, trainVariants: intFlag(p, "--variants"), format });
    if (!summary.fonts) out("warning: fontconfig finds no font: manifest text is drawn as empty boxes (apt-get install -y fonts-dejavu-core)");
  } else if (kind === "detection" || kind === "segmentation") {
    if (p.flags.has("--variants") || p.flags.has("--format")) throw new UsageError("--variants and --format are for synth manifests");
    if (kind === "detection" && p.flags.has("--vae")) throw new UsageError("--vae is for synth segmentation");
    summary = kind === "detection" ? await synthDetection({ out: dest, seed, counts }) : await synthSegmentation({ out: dest, seed, counts, vae: strFlag(p, "--vae") });
  } else {
    throw new UsageError(`synth: expected manifests, detection or segmentation; got ${JSON.stringify(kind ?? "")}`);
  }
  const splits = Object.entries(summary.images).map(([k, v]) => `${k} ${v}`).join(", ");
  out(`wrote ${kind} to ${dest}: ${splits} images${kind === "manifests" ? "" : `, ${summary.objects} objects`} (seed ${seed}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return 0;
}

function report(results: Record<string, ConversionResult>, dest: string, out: Out): void {
  for (const [split, r] of Object.entries(results)) {
    out(`${split}: ${r.lines.length} images (${r.emptyImages} without objects${r.skippedImages ? `, ${r.skippedImages} skipped` : ""}${r.skippedAnnotations ? `, ${r.skippedAnnotations} annotations left out` : ""})`);
  }
  const first = Object.values(results)[0];
  out(`prompt: ${first?.lines[0]?.prefix ?? `detect ${first?.classes.join(" ; ")}`}`);
  out(`wrote ${dest}`);
}

async function convertCmd(p: Parsed, out: Out): Promise<number> {
  const [format, root] = p.positional;
  const dest = strFlag(p, "--out");
  if (!dest) throw new UsageError("convert needs --out DIR");
  const classOrder = strFlag(p, "--class-order", ["declared", "sorted"] as const);
  const emptyImages = strFlag(p, "--empty", ["keep", "skip"] as const);
  if (format === "coco") {
    const task = strFlag(p, "--task", ["detect", "segment"] as const);
    const vaePath = strFlag(p, "--vae");
    if (vaePath && task !== "segment") throw new UsageError("--vae is for --task segment");
    const annotations = strFlag(p, "--annotations");
    if (annotations && root) throw new UsageError("convert coco: give either ROOT or --annotations FILE, not both");
    if (!annotations && !root) throw new UsageError("convert coco needs ROOT or --annotations FILE");
    const vae = task === "segment" ? await loadSegVae(vaePath) : null; // ours unless --vae FILE
    try {
      const opts: CocoConvertOptions = { classOrder, emptyImages, task, segEncoder: vae ? segEncoder(vae) : undefined };
      if (annotations) report({ all: await convertCocoFile(annotations, dest, { ...opts, imageDir: strFlag(p, "--images") }) }, dest, out);
      else report(await convertCocoDataset(root, dest, opts), dest, out);
    } finally {
      vae?.dispose();
    }
    return 0;
  }
  if (format === "yolo") {
    if (!root) throw new UsageError("convert yolo needs ROOT");
    if (!(await isDir(root))) throw new ConversionError(root, "(folder)", "not a folder");
    let classes = strFlag(p, "--classes")?.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const classesFile = strFlag(p, "--classes-file");
    if (classesFile) {
      const { readFile } = await import("node:fs/promises");
      const text = await readFile(classesFile, "utf8").catch((e: Error) => {
        throw new ConversionError(classesFile, "(file)", `cannot read (${e.message})`);
      });
      classes = text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
    }
    report(await convertYoloDataset(root, dest, { classes, classOrder, emptyImages }), dest, out);
    return 0;
  }
  throw new UsageError(`convert: expected coco or yolo; got ${JSON.stringify(format ?? "")}`);
}

/** Runs `paligemma-ts data <args>`; resolves with the exit code (never rejects). */
export async function runData(args: readonly string[], output: DataIo = processIo): Promise<number> {
  const [sub, ...rest] = args;
  const out: Out = (l) => output.out(l);
  try {
    if (!sub || sub === "--help" || sub === "-h" || sub === "help" || rest.includes("--help") || rest.includes("-h")) {
      out(DATA_USAGE);
      return sub ? 0 : 2;
    }
    if (sub === "validate") return await validateCmd(parseArgs(rest, ["--image-dir"], ["--strict", "--deep"]), false, out);
    if (sub === "describe") return await validateCmd(parseArgs(rest, ["--image-dir"], []), true, out);
    if (sub === "synth") return await synthCmd(parseArgs(rest, ["--out", "--seed", "--train", "--valid", "--test", "--variants", "--format", "--vae"], []), out);
    if (sub === "convert") {
      return await convertCmd(parseArgs(rest, ["--out", "--annotations", "--images", "--classes", "--classes-file", "--class-order", "--empty", "--task", "--vae"], []), out);
    }
    throw new UsageError(`unknown data command ${JSON.stringify(sub)}`);
  } catch (e) {
    if (e instanceof UsageError) {
      output.err(`paligemma-ts data: ${e.message}\n${DATA_USAGE}`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    output.err(`paligemma-ts data ${sub}: ${msg}`);
    return 1;
  }
}
