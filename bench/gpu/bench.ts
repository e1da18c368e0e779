/**
 * The Node side of the GPU check (`bench/gpu/run.sh`): LoRA training steps through the `Trainer` on one backend,
 * one JSON line per model on stdout; and `report`, which joins these with the PyTorch peer's lines
 * (`bench/gpu/torch_gpu.py`) into `results.json` and `results.md`.
 *
 *     node dist/bench/gpu/bench.js train --backend webgpu --models small,3b-224 --batch 4 --iters 3
 *     node dist/bench/gpu/bench.js report --dir OUT          # reads OUT/node.jsonl, OUT/torch.jsonl, OUT/golden.txt
 *
 * Models: `tiny` (the golden tiny config), `small` (bench/configs/small, 106.6M), `3b-224` (the real
 * google/paligemma2-3b-pt-224 config.json, test/fixtures/memory/): random weights, the standard input of
 * bench/configs/README.md (256·(res/224)² image tokens | bos | 24 prefix | "\n" | 38 suffix | eos), LoRA r 8 α 16 on
 * q/k/v/o/gate/up/down as `npm run bench`'s LoRA row, AdamW, one warm-up step, then `iters` timed steps (median).
 * Weights are filled by a fast seeded generator (uniform with the N(0, 0.02) variance): speed does not depend on
 * the values, and the 3B model's 2.9G floats would take minutes through `tf.randomNormal`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { tf } from "../../src/tf.js";
import { initBackend, formatBackendReport, BACKEND_NAMES, type BackendName } from "../../src/backend/select.js";
import { parsePaliGemmaConfig, type PaliGemmaConfig } from "../../src/config/index.js";
import { internalShape } from "../../src/io/keymap.js";
import { paliGemmaParamSpecs } from "../../src/model/layers.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { LoraConfig, getPeftModel } from "../../src/lora/index.js";
import { Trainer } from "../../src/train/trainer.js";
import type { Collator, ModelBatch } from "../../src/data/types.js";
import { repoRoot, smallConfigPath, tinyDir } from "../paths.js";

/** LoRA as `npm run bench`'s row (bench/train.ts BENCH_LORA) and the PyTorch peer's `LORA`. */
const LORA = { r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] };
const LAYOUT = { prefix: 24, suffix: 38, bos: 2, newline: 108, eos: 1 };

export const GPU_MODELS: Record<string, () => string> = {
  tiny: () => join(tinyDir(), "config.json"),
  small: smallConfigPath,
  "3b-224": () => join(repoRoot(), "test", "fixtures", "memory", "paligemma2-3b-pt-224", "config.json"),
};

export interface NodeRow {
  side: "ours";
  model: string;
  backend: string;
  batch: number;
  trainable: number;
  params: number;
  stepSeconds: number;
  samplesPerSecond: number;
  /** Peak of the backend's device bytes (tf.memory().numBytesInGPUAllocated on webgpu), else TF.js-tracked bytes. */
  peakDeviceBytes: number;
  loss: number;
  error?: string;
}

/** Seeded uniform(−a, a) with a = std·√3 (variance std²): ~1 ns per float. */
function fastNormalish(n: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  const a = std * Math.sqrt(3);
  let s = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 * 2 - 1) * a;
  }
  return out;
}

async function loadConfig(model: string): Promise<PaliGemmaConfig> {
  const path = GPU_MODELS[model]?.();
  if (!path) throw new Error(`--models: unknown model "${model}"; use ${Object.keys(GPU_MODELS).join(", ")}`);
  return parsePaliGemmaConfig(JSON.parse(await readFile(path, "utf8")), path);
}

function buildModel(cfg: PaliGemmaConfig): PaliGemmaForConditionalGeneration {
  const params = new Map<string, tf.Variable>();
  let seed = 0;
  for (const spec of paliGemmaParamSpecs(cfg)) {
    const shape = internalShape(spec);
    const n = shape.reduce((a, b) => a * b, 1);
    const values = spec.init === "normal" ? fastNormalish(n, 0.02, seed++) : new Float32Array(n).fill(spec.init === "ones" ? 1 : 0);
    const t = tf.tensor(values, shape, "float32"); // host data: uploaded on first use, or used in row blocks
    params.set(spec.name, tf.variable(t, true));
    t.dispose();
  }
  return new PaliGemmaForConditionalGeneration(cfg, params);
}

/** The standard batch of B identical rows (bench/configs/README.md). */
function standardBatch(cfg: PaliGemmaConfig, B: number): ModelBatch {
  const { prefix, suffix, bos, newline, eos } = LAYOUT;
  const text = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 3 + ((i * 7919 + seed * 104729) % (cfg.imageTokenIndex - 3)));
  const prompt = [...new Array(cfg.numImageTokens).fill(cfg.imageTokenIndex), bos, ...text(prefix, 1), newline];
  const ids = [...prompt, ...text(suffix, 2), eos];
  const L = ids.length;
  const rows = (v: number[]) => tf.tensor2d(Array.from({ length: B }, () => v).flat(), [B, L], "int32");
  const size = cfg.visionConfig.imageSize;
  const px = tf.tidy(() => tf.sin(tf.range(0, B * 3 * size * size).reshape([B, 3, size, size]).mul(0.001)));
  return {
    pixelValues: px,
    inputIds: rows(ids),
    attentionMask: rows(new Array(L).fill(1)),
    tokenTypeIds: rows(ids.map((_, i) => (i < prompt.length ? 0 : 1))),
    labels: rows(ids.map((id, i) => (i < prompt.length ? -100 : id))),
  } as unknown as ModelBatch;
}

function deviceBytes(): number {
  const m = tf.memory() as { numBytes: number; numBytesInGPUAllocated?: number; numBytesInGPU?: number };
  return m.numBytesInGPUAllocated ?? m.numBytesInGPU ?? m.numBytes;
}

/** One model: LoRA Trainer steps; a failure becomes the row's `error`. */
export async function trainLora(model: string, backend: string, batch: number, iters: number, log: (s: string) => void): Promise<NodeRow> {
  const row: NodeRow = { side: "ours", model, backend, batch, trainable: 0, params: 0, stepSeconds: NaN, samplesPerSecond: NaN, peakDeviceBytes: 0, loss: NaN };
  let base: PaliGemmaForConditionalGeneration | null = null;
  try {
    const cfg = await loadConfig(model);
    const t0 = performance.now();
    base = buildModel(cfg);
    row.params = [...base.namedParameters().values()].reduce((n, v) => n + v.size, 0);
    const peft = getPeftModel(base, new LoraConfig(LORA), { seed: 0 });
    row.trainable = [...peft.trainableParameters().values()].reduce((n, v) => n + v.size, 0);
    log(`  ${model}: ${row.params.toLocaleString("en-US")} params built in ${((performance.now() - t0) / 1000).toFixed(1)} s; LoRA ${row.trainable.toLocaleString("en-US")} trainable`);
    const collator: Collator = { collate: async (examples) => standardBatch(cfg, examples.length) };
    const seconds: number[] = [];
    let last = 0;
    const trainer = new Trainer({
      model: peft, collator,
      trainDataset: { length: batch * (iters + 1), get: async (i) => ({ image: `gpu-bench:${i}`, prefix: "", suffix: "" }) },
      args: { outputDir: "unused-gpu-bench-output", saveStrategy: "no", maxSteps: iters + 1, perDeviceTrainBatchSize: batch, learningRate: 1e-5,
        loggingSteps: 1_000_000, logLevel: "error" },
      callbacks: [{
        onStepBegin: () => void (last = performance.now()),
        onStepEnd: (e) => {
          const s = (performance.now() - last) / 1000;
          row.peakDeviceBytes = Math.max(row.peakDeviceBytes, deviceBytes());
          row.loss = e.loss;
          log(`  ${model} B=${batch}: ${e.step === 1 ? "warm-up" : `step ${e.step - 1}/${iters}`} ${s.toFixed(2)} s (loss ${e.loss.toFixed(3)})`);
          if (e.step > 1) seconds.push(s);
        },
      }],
    });
    await trainer.train();
    seconds.sort((a, b) => a - b);
    row.stepSeconds = seconds[Math.floor(seconds.length / 2)]!;
    row.samplesPerSecond = batch / row.stepSeconds;
    peft.dispose?.();
  } catch (e) {
    row.error = ((e as Error).message ?? String(e)).split("\n")[0]!.slice(0, 300);
    log(`  ${model}: failed: ${row.error}`);
  } finally {
    base?.dispose();
  }
  return row;
}

// ------------------------------------------------------------------------------------------ report

interface TorchRow {
  side: "torch";
  model: string;
  dtype: string;
  device: string;
  batch: number;
  trainable?: number;
  seconds?: number;
  samples_per_second?: number;
  peak_bytes?: number;
  torch?: string;
  gpu?: string;
  error?: string;
}

const gib = (b: number | undefined) =>
  b === undefined || !Number.isFinite(b) ? "–" : b < 2 ** 30 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 2 ** 30).toFixed(2)} GiB`;
const num = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));

async function readLines<T>(path: string): Promise<T[]> {
  if (!existsSync(path)) return [];
  return (await readFile(path, "utf8")).split("\n").filter((l) => l.trim().startsWith("{")).map((l) => JSON.parse(l) as T);
}

/** Join dir/node.jsonl, dir/torch.jsonl, dir/golden.txt, dir/gpu-peaks.json → dir/results.json + dir/results.md. */
export async function writeReport(dir: string): Promise<{ json: string; md: string }> {
  const ours = await readLines<NodeRow & { backendReport?: string }>(join(dir, "node.jsonl"));
  const torch = await readLines<TorchRow>(join(dir, "torch.jsonl"));
  const golden = existsSync(join(dir, "golden.txt")) ? await readFile(join(dir, "golden.txt"), "utf8") : "";
  const peaks = existsSync(join(dir, "gpu-peaks.json")) ? (JSON.parse(await readFile(join(dir, "gpu-peaks.json"), "utf8")) as Record<string, number>) : {};
  const goldenSummary = /# pass (\d+)[\s\S]*# fail (\d+)/.exec(golden);
  const results = { ours, torch, golden: goldenSummary ? { pass: Number(goldenSummary[1]), fail: Number(goldenSummary[2]) } : null, nvidiaSmiPeakMiB: peaks };
  const lines = [
    `golden tests on ${ours[0]?.backend ?? "?"}: ${results.golden ? `${results.golden.pass} passed, ${results.golden.fail} failed` : "not run"}`,
    "",
    "| model | B | side | dtype | samples/s | s/step | peak memory | vs ours |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const o of ours) {
    const peak = peaks[`ours-${o.model}`] !== undefined ? `${gib(o.peakDeviceBytes)} (nvidia-smi ${peaks[`ours-${o.model}`]} MiB)` : gib(o.peakDeviceBytes);
    lines.push(`| ${o.model} | ${o.batch} | ours (${o.backend}) | float32 | ${o.error ? `failed: ${o.error}` : num(o.samplesPerSecond, 3)} | ${num(o.stepSeconds)} | ${peak} | 1.00× |`);
    for (const t of torch.filter((t) => t.model === o.model)) {
      const ratio = t.samples_per_second && Number.isFinite(o.samplesPerSecond) ? `${(t.samples_per_second / o.samplesPerSecond).toFixed(2)}× ours` : "–";
      lines.push(`| ${t.model} | ${t.batch} | PyTorch ${t.torch ?? ""} + PEFT (${t.device}) | ${t.dtype} | ${t.error ? `failed: ${t.error}` : num(t.samples_per_second, 3)} | ${num(t.seconds)} | ${gib(t.peak_bytes)} | ${ratio} |`);
    }
  }
  const md = lines.join("\n") + "\n";
  await writeFile(join(dir, "results.json"), JSON.stringify(results, null, 2) + "\n");
  await writeFile(join(dir, "results.md"), md);
  return { json: join(dir, "results.json"), md };
}

// ------------------------------------------------------------------------------------------ CLI

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({ args: rest, options: { backend: { type: "string" }, models: { type: "string" }, batch: { type: "string" },
    iters: { type: "string" }, dir: { type: "string" } } });
  if (command === "report") {
    if (!values.dir) throw new Error("report: --dir DIR is required");
    process.stdout.write((await writeReport(values.dir)).md);
    return;
  }
  if (command !== "train") throw new Error(`usage: bench.js train [--backend B] [--models m1,m2] [--batch N] [--iters N] | bench.js report --dir DIR`);
  const backend = values.backend ?? "webgpu";
  if (!(BACKEND_NAMES as readonly string[]).includes(backend)) throw new Error(`--backend: use one of ${BACKEND_NAMES.join(", ")}`);
  const batch = Number(values.batch ?? 4);
  const iters = Number(values.iters ?? 3);
  if (!(Number.isInteger(batch) && batch >= 1 && Number.isInteger(iters) && iters >= 1)) throw new Error("--batch and --iters: integers ≥ 1");
  const info = await initBackend({ backend: backend as BackendName });
  const log = (s: string) => process.stderr.write(s + "\n");
  log(formatBackendReport(info));
  for (const model of (values.models ?? "small,3b-224").split(",")) {
    const row = await trainLora(model.trim(), info.name, batch, iters, log);
    process.stdout.write(JSON.stringify(row) + "\n");
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    process.stderr.write(`bench/gpu: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
