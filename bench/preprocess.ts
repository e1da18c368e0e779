/**
 * Preprocessing throughput: 1024×768 JPEG files → PaliGemmaProcessor batches (pixels float32[64,3,S,S], ids,
 * masks, token types, labels as tensors) at S = 224 and 448, next to Pillow + transformers' PaliGemmaProcessor
 * (bench/preprocess_peer.py) on the same files when a Python with transformers is found.
 *
 *     node dist/bench/preprocess.js                         # sizes 224,448, batch 64, 3 timed batches
 *     node dist/bench/preprocess.js --sizes 224 --iters 5 --concurrency 2
 *     PALIGEMMA_PY=/path/to/venv/bin/python node dist/bench/preprocess.js
 *
 * Python is looked for in $PALIGEMMA_PY, <repo>/.venv, <repo>/venv, then `python3` on PATH; the first that
 * imports transformers and PIL is used, otherwise the table says it was not measured. Both sides: one warm-up
 * batch, then `iters` timed batches; the median batch time gives images/s (speedup = ours / Python), and the
 * median process CPU time per image (all threads) a cost that does not depend on other load on the machine. The
 * images are 8 synthetic photo-like JPEGs (quality 90) cycled to fill the batch. Numbers, not asserts.
 */
import { spawnSync, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { tf } from "../src/tf.js";
import { GemmaTokenizer } from "../src/io/tokenizer.js";
import { PaliGemmaProcessor, parsePreprocessorConfig } from "../src/data/processor.js";
import { repoRoot } from "./paths.js";

export interface PreprocessOptions {
  sizes?: number[]; // default [224, 448]
  batch?: number; // default 64
  iters?: number; // timed batches after one warm-up; default 3
  concurrency?: number; // images decoded at once (default: io/images.ts defaultConcurrency)
  /** Python executable for the peer; undefined = look for one, null = skip it. */
  python?: string | null;
  log?: (line: string) => void; // progress; default stderr
}

export interface PreprocessRow {
  size: number;
  batch: number;
  oursImagesPerS: number;
  oursSecondsPerBatch: number;
  /** Process CPU time per image (all threads): a load-independent cost. */
  oursCpuMsPerImage: number;
  pythonImagesPerS: number | null;
  pythonCpuMsPerImage: number | null;
  /** How the Python side ran ("pt+labels", versions), or why it was not measured. */
  pythonNote: string;
  speedup: number | null; // ours / Python
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A deterministic photo-like 1024×768 JPEG: smooth colour fields, noise, rectangles. */
async function syntheticJpeg(seed: number): Promise<Buffer> {
  const W = 1024, H = 768;
  const px = Buffer.alloc(W * H * 3);
  let s = seed * 2654435761 >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const boxes = Array.from({ length: 20 }, () => [rand() * W, rand() * H, 30 + rand() * 300, 30 + rand() * 200, rand() * 255, rand() * 255, rand() * 255]);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let r = 128 + 100 * Math.sin(x / 37 + seed) * Math.cos(y / 53), g = 128 + 90 * Math.sin((x + y) / 29), b = 128 + 110 * Math.cos(Math.hypot(x - W / 2, y - H / 2) / 41);
      for (const [bx, by, bw, bh, br, bg, bb] of boxes) if (x >= bx! && x < bx! + bw! && y >= by! && y < by! + bh!) [r, g, b] = [br!, bg!, bb!];
      const n = (rand() - 0.5) * 24;
      const o = (y * W + x) * 3;
      px[o] = Math.max(0, Math.min(255, r + n));
      px[o + 1] = Math.max(0, Math.min(255, g + n));
      px[o + 2] = Math.max(0, Math.min(255, b + n));
    }
  }
  return sharp(px, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** The first Python that imports `modules` (default: what the preprocess peer needs), or null. */
export function findPython(modules = "transformers, PIL"): string | null {
  const root = repoRoot();
  const candidates = [process.env["PALIGEMMA_PY"], join(root, ".venv", "bin", "python"), join(root, "venv", "bin", "python"), "python3"];
  for (const py of candidates) {
    if (!py) continue;
    const r = spawnSync(py, ["-c", `import ${modules}`], { stdio: "ignore", timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}

async function runPeer(py: string, size: number, batch: number, iters: number, files: string[]): Promise<{ seconds: number[]; cpuSeconds: number[]; note: string }> {
  const script = join(repoRoot(), "bench", "preprocess_peer.py");
  const tokDir = join(repoRoot(), "test", "fixtures", "tokenizer");
  const args = [script, "--tokenizer", tokDir, "--size", String(size), "--batch", String(batch), "--iters", String(iters), ...files];
  return new Promise((resolve, reject) => {
    const child = spawn(py, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`${py} ${script} exited ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`));
      const r = JSON.parse(line) as { seconds: number[]; cpu_seconds: number[]; mode: string; versions: Record<string, string> };
      const v = r.versions;
      resolve({ seconds: r.seconds, cpuSeconds: r.cpu_seconds, note: `${r.mode}; python ${v["python"]}, transformers ${v["transformers"]}, Pillow ${v["pillow"]}` });
    });
  });
}

/** Run the benchmark; returns one row per size. */
export async function benchPreprocess(opts: PreprocessOptions = {}): Promise<PreprocessRow[]> {
  const { sizes = [224, 448], batch = 64, iters = 3 } = opts;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + "\n"));
  const dir = await mkdtemp(join(tmpdir(), "paligemma-ts-preprocess-"));
  try {
    const files: string[] = [];
    for (let i = 0; i < 8; i++) {
      files.push(join(dir, `photo${i}.jpg`));
      await writeFile(files[i]!, await syntheticJpeg(i + 1));
    }
    const paths = Array.from({ length: batch }, (_, i) => files[i % files.length]!);
    const tokenizer = await GemmaTokenizer.fromPretrained(join(repoRoot(), "test", "fixtures", "tokenizer"));
    const py = opts.python === undefined ? findPython() : opts.python;
    const rows: PreprocessRow[] = [];
    for (const size of sizes) {
      const config = parsePreprocessorConfig({ size: { height: size, width: size }, image_seq_length: (size / 14) ** 2 });
      const processor = new PaliGemmaProcessor(tokenizer, config, { concurrency: opts.concurrency });
      const inputs = { images: paths, prefixes: paths.map(() => "caption en"), suffixes: paths.map(() => "a photo of shapes and text") };
      const seconds: number[] = [], cpuSeconds: number[] = [];
      for (let i = 0; i <= iters; i++) {
        const t0 = performance.now(), c0 = process.cpuUsage();
        const b = await processor.call(inputs);
        const s = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(c0);
        tf.dispose(Object.values(b));
        if (i > 0) {
          seconds.push(s);
          cpuSeconds.push((c.user + c.system) / 1e6);
        }
        log(`  preprocess ${size}px ours: ${i === 0 ? "warm-up" : `batch ${i}/${iters}`} ${s.toFixed(3)} s`);
      }
      const ours = median(seconds);
      let pythonImagesPerS: number | null = null;
      let pythonCpuMsPerImage: number | null = null;
      let pythonNote = opts.python === null ? "not measured (skipped: --no-python)"
        : "not measured: no Python with transformers + Pillow found (set PALIGEMMA_PY=/path/to/python)";
      if (py !== null) {
        try {
          log(`  preprocess ${size}px python (${py}) ...`);
          const peer = await runPeer(py, size, batch, iters, files);
          pythonImagesPerS = batch / median(peer.seconds);
          pythonCpuMsPerImage = (median(peer.cpuSeconds) / batch) * 1000;
          pythonNote = peer.note;
        } catch (e) {
          pythonNote = `not measured: ${(e as Error).message}`;
        }
      }
      const oursImagesPerS = batch / ours;
      rows.push({ size, batch, oursImagesPerS, oursSecondsPerBatch: ours, oursCpuMsPerImage: (median(cpuSeconds) / batch) * 1000,
        pythonImagesPerS, pythonCpuMsPerImage, pythonNote,
        speedup: pythonImagesPerS === null ? null : oursImagesPerS / pythonImagesPerS });
    }
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The rows as a text table, with the Python notes below it. */
export function formatPreprocess(rows: readonly PreprocessRow[]): string {
  const head = ["preprocess (1024×768 JPEG)", "batch", "ours img/s", "ours s/batch", "ours CPU ms/img", "Python img/s", "Python CPU ms/img", "speedup"];
  const body = rows.map((r) => [`→ ${r.size}px`, String(r.batch), r.oursImagesPerS.toFixed(1), r.oursSecondsPerBatch.toFixed(3), r.oursCpuMsPerImage.toFixed(1),
    r.pythonImagesPerS === null ? "not measured" : r.pythonImagesPerS.toFixed(1), r.pythonCpuMsPerImage === null ? "-" : r.pythonCpuMsPerImage.toFixed(1),
    r.speedup === null ? "-" : `${r.speedup.toFixed(1)}×`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const notes = [...new Set(rows.map((r) => r.pythonNote))].map((n) => `Python: ${n}`);
  return [line(head), ...body.map(line), ...notes, `(${availableParallelism()} cores, sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips})`].join("\n");
}

// Standalone: node dist/bench/preprocess.js [--sizes 224,448] [--batch 64] [--iters 3] [--concurrency N] [--no-python]
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string" }, batch: { type: "string" }, iters: { type: "string" },
      concurrency: { type: "string" }, "no-python": { type: "boolean", default: false },
    },
  });
  const int = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected an integer ≥ 1, got "${v}"`);
    return n;
  };
  const sizes = values.sizes?.split(",").map((s) => int(s, "sizes")!);
  const rows = await benchPreprocess({ sizes, batch: int(values.batch, "batch"), iters: int(values.iters, "iters"),
    concurrency: int(values.concurrency, "concurrency"), python: values["no-python"] ? null : undefined });
  console.log(formatPreprocess(rows));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    console.error(`bench/preprocess: ${e.message}`);
    process.exitCode = 1;
  });
}
