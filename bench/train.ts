/**
 * Training throughput and peak memory of the `Trainer` (AdamW step included) for the four ways to fine-tune:
 * full fine-tuning, vision tower + projector frozen, LoRA (r 8, α 16 on q/k/v/o/gate/up/down, as the Python
 * reference's row) and QLoRA (the same LoRA on NF4-quantized base linears), on `bench/configs/small`
 * (106.6M parameters, the standard 321-token input) or the golden tiny model.
 *
 *     node dist/bench/train.js                              # small, best backend, every mode, 2 timed steps each
 *     node dist/bench/train.js --model tiny --iters 5 --modes lora,full --backend cpu
 *
 * Each mode runs in its own child process (a WASM heap abort ends only that mode; `--same-process` to opt out).
 *
 *     import { benchTrainingModesIsolated, trainTable } from "./train.js";   // what bench/run.ts calls
 *     const rows = await benchTrainingModesIsolated({ model: "small", iters: 2 });
 *     console.log(trainTable(rows));
 *
 * Each mode builds a fresh model (seed 0), runs 1 warm-up + `iters` timed optimizer steps of batch `batch`
 * (gradient accumulation 1) through `Trainer.train()`, and reports samples/s (median step), the peaks of
 * TF.js-tracked bytes and process RSS over the timed steps, and the resident weight bytes (trainable + frozen +
 * quantized storage). Numbers, not asserts.
 */
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { tf } from "../src/tf.js";
import { initBackend, BACKEND_NAMES, type BackendName } from "../src/backend/select.js";
import { activeTraits, traitsOf } from "../src/backend/traits.js";
import type { Collator, ModelBatch } from "../src/data/types.js";
import type { TrainableModel } from "../src/model/trainable.js";
import { LoraConfig, freeze, getPeftModel } from "../src/lora/index.js";
import { quantizeModel } from "../src/quant/index.js";
import { Trainer } from "../src/train/trainer.js";
import { loadSmall, loadTiny, type BenchModel } from "./inputs.js";
import { MemorySampler } from "./memory.js";
import { median } from "./measure.js";

export const TRAIN_MODES = ["full", "freeze-vision", "lora", "qlora"] as const;
export type TrainMode = (typeof TRAIN_MODES)[number];

export interface TrainBenchOptions {
  model?: "small" | "tiny";
  backend?: BackendName;
  modes?: readonly TrainMode[];
  /** Timed optimizer steps after one warm-up step. Default 2. */
  iters?: number;
  /** Examples per step. Default 1. */
  batch?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface TrainBenchRow {
  model: string;
  mode: TrainMode;
  batch: number;
  trainableParams: number;
  /** Median seconds per optimizer step and the resulting samples per second. */
  stepSeconds: number;
  /** Median process CPU seconds (user + system, every thread) per optimizer step: steadier than wall time on a shared machine. */
  cpuSeconds: number;
  samplesPerSecond: number;
  /** Peaks over the timed steps. */
  peakTfBytes: number;
  peakRssBytes: number;
  /** Bytes of every parameter variable plus quantized storage after setup (what stays resident). */
  weightBytes: number;
  /** QLoRA: float32 bytes of the quantized linears and their NF4 bytes. */
  quant?: { floatBytes: number; quantBytes: number };
  /** tf.memory().numTensors at the last step minus after the warm-up step (0 = nothing accumulates per step). */
  tensorGrowth: number;
}

/** LoRA as in bench/configs/README.md's reference row. */
export const BENCH_LORA = { r: 8, loraAlpha: 16, loraDropout: 0.05, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] };

/** A collator that hands the trainer the benchmark's standard batch, however many examples it is asked for. */
function standardCollator(bm: BenchModel): Collator {
  return { collate: async (examples) => bm.trainInputs(examples.length) as unknown as ModelBatch };
}

async function setUp(mode: TrainMode, which: "small" | "tiny", backend?: BackendName) {
  const bm = which === "small" ? await loadSmall(backend) : await loadTiny(backend);
  let model: TrainableModel = bm.model;
  let quant: TrainBenchRow["quant"];
  if (mode === "freeze-vision") freeze(bm.model, { visionTower: true, multiModalProjector: true });
  if (mode === "qlora") {
    const r = quantizeModel(bm.model, { bits: 4, doubleQuant: true }); // QLoRA paper setting: ≤ 0.35× resident
    quant = { floatBytes: r.floatBytes, quantBytes: r.quantBytes };
  }
  if (mode === "lora" || mode === "qlora") model = getPeftModel(bm.model, new LoraConfig(BENCH_LORA), { seed: 0 });
  // The 106M model's activations overflow WASM's 4 GB heap without it (see bench/run.ts's fwd+bwd rows).
  if (which === "small" && (backend ? traitsOf(backend) : activeTraits()).needsCheckpointingForSmall) bm.model.gradientCheckpointingEnable();
  return { bm, model, quant };
}

/** Run one mode; the model is freed afterwards. */
export async function benchTrainingMode(mode: TrainMode, o: TrainBenchOptions = {}): Promise<TrainBenchRow> {
  const which = o.model ?? "small";
  const iters = o.iters ?? 2;
  const batch = o.batch ?? 1;
  const log = o.log ?? ((s: string) => process.stderr.write(s + "\n"));
  const { bm, model, quant } = await setUp(mode, which, o.backend);
  const weightBytes = tf.memory().numBytes;
  let tensorsAfterWarmup = 0;
  let tensorGrowth = 0;
  const mem = MemorySampler.start();
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  let cpuAt = process.cpuUsage();
  let peakTf = 0;
  let peakRss = 0;
  let last = performance.now();
  try {
    const trainer = new Trainer({
      model, collator: standardCollator(bm),
      trainDataset: { length: batch * (iters + 1), get: async (i) => ({ image: `bench:${i}`, prefix: "", suffix: "" }) },
      args: { outputDir: "unused-bench-output", saveStrategy: "no", maxSteps: iters + 1, perDeviceTrainBatchSize: batch, learningRate: 1e-5, loggingSteps: 1_000_000,
        logLevel: "error" }, // stdout is the isolated child's JSON channel: no HF-style log lines in it
      callbacks: [{
        onStepBegin: () => {
          mem.reset();
          last = performance.now();
          cpuAt = process.cpuUsage();
        },
        onStepEnd: (e) => {
          const s = (performance.now() - last) / 1000;
          const cpu = process.cpuUsage(cpuAt);
          log(`  ${which} ${mode} B=${batch}: ${e.step === 1 ? "warm-up" : `step ${e.step - 1}/${iters}`} ${s.toFixed(2)} s (loss ${e.loss.toFixed(3)})`);
          if (e.step === 1) return void (tensorsAfterWarmup = tf.memory().numTensors);
          tensorGrowth = tf.memory().numTensors - tensorsAfterWarmup;
          seconds.push(s);
          cpuSeconds.push((cpu.user + cpu.system) / 1e6);
          const p = mem.peak();
          peakTf = Math.max(peakTf, p.tfBytes);
          peakRss = Math.max(peakRss, p.rssBytes);
        },
      }],
    });
    await trainer.train();
  } finally {
    mem.stop();
  }
  const trainableParams = [...model.trainableParameters().values()].reduce((n, v) => n + v.size, 0);
  (model as { dispose?: () => void }).dispose?.();
  bm.model.dispose();
  const step = median(seconds);
  return {
    model: which, mode, batch, trainableParams, stepSeconds: step, cpuSeconds: median(cpuSeconds), samplesPerSecond: batch / step,
    peakTfBytes: peakTf, peakRssBytes: peakRss, weightBytes, quant, tensorGrowth,
  };
}

/** Every requested mode in turn (a failing mode becomes a log line, the others still run). */
export async function benchTrainingModes(o: TrainBenchOptions = {}): Promise<TrainBenchRow[]> {
  const rows: TrainBenchRow[] = [];
  for (const mode of o.modes ?? TRAIN_MODES) {
    try {
      rows.push(await benchTrainingMode(mode, o));
    } catch (e) {
      (o.log ?? ((s: string) => process.stderr.write(s + "\n")))(`  ${mode}: failed: ${(e as Error).message}`);
    }
  }
  return rows;
}

/**
 * Every requested mode in its own child process (`node dist/bench/train.js --modes <m> --json`): a mode that
 * exhausts the 4 GB WASM heap aborts only its own process. Failures come back as `{ mode, error }`.
 */
export async function benchTrainingModesIsolated(o: TrainBenchOptions = {}): Promise<(TrainBenchRow | { mode: TrainMode; error: string })[]> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + "\n"));
  const out: (TrainBenchRow | { mode: TrainMode; error: string })[] = [];
  for (const mode of o.modes ?? TRAIN_MODES) {
    const args = [fileURLToPath(import.meta.url), "--json", "--modes", mode, "--model", o.model ?? "small", "--iters", String(o.iters ?? 2), "--batch", String(o.batch ?? 1)];
    if (o.backend) args.push("--backend", o.backend);
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
      let so = "";
      let se = "";
      child.stdout.on("data", (d: Buffer) => (so += d));
      child.stderr.on("data", (d: Buffer) => {
        se += d;
        for (const line of d.toString().split("\n")) if (line.trim()) log(line);
      });
      child.on("exit", (c) => resolve({ stdout: so, stderr: se, code: c }));
    });
    const rows = code === 0 ? (JSON.parse(stdout) as TrainBenchRow[]) : [];
    if (rows.length) out.push(...rows);
    else out.push({ mode, error: (stderr.match(/failed: (.*)/)?.[1] ?? stderr.trim().split("\n").pop() ?? `exit ${code}`).slice(0, 200) });
  }
  return out;
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MB`;

/** The rows as a text table (what `npm run bench` prints); failed modes become a line each below it. */
export function trainTable(results: readonly (TrainBenchRow | { mode: TrainMode; error: string })[]): string {
  const rows = results.filter((r): r is TrainBenchRow => !("error" in r));
  const failed = results.filter((r): r is { mode: TrainMode; error: string } => "error" in r);
  const head = ["model", "mode", "B", "trainable", "s/step", "CPU s/step", "samples/s", "peak TF.js", "peak RSS", "weights", "note"];
  const body = rows.map((r) => [
    r.model, r.mode, String(r.batch), r.trainableParams.toLocaleString("en-US"), r.stepSeconds.toFixed(2), r.cpuSeconds.toFixed(2), r.samplesPerSecond.toFixed(3),
    mb(r.peakTfBytes), mb(r.peakRssBytes), mb(r.weightBytes),
    [r.quant ? `NF4 linears ${mb(r.quant.quantBytes)} vs f32 ${mb(r.quant.floatBytes)} (${(r.quant.quantBytes / r.quant.floatBytes).toFixed(3)}×)` : "",
      r.tensorGrowth ? `LEAK ${r.tensorGrowth} tensors` : ""].filter(Boolean).join("; "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 9 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line), ...failed.map((f) => `FAILED ${f.mode}: ${f.error}`)].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: "string" }, backend: { type: "string" }, modes: { type: "string" }, iters: { type: "string" },
    batch: { type: "string" }, json: { type: "boolean" }, "same-process": { type: "boolean" } } });
  const backend = values.backend ?? process.env["PALIGEMMA_BACKEND"];
  if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backend)) throw new Error(`--backend: use one of ${BACKEND_NAMES.join(", ")}`);
  if (values.model !== undefined && values.model !== "small" && values.model !== "tiny") throw new Error(`--model: got "${values.model}"; use small or tiny`);
  const modes = values.modes?.split(",").map((m) => m.trim()) as TrainMode[] | undefined;
  for (const m of modes ?? []) if (!(TRAIN_MODES as readonly string[]).includes(m)) throw new Error(`--modes: unknown mode "${m}"; use ${TRAIN_MODES.join(", ")}`);
  const info = await initBackend({ backend: backend as BackendName | undefined });
  const o: TrainBenchOptions = { model: values.model as "small" | "tiny" | undefined, backend: info.name, modes,
    iters: values.iters ? Number(values.iters) : undefined, batch: values.batch ? Number(values.batch) : undefined };
  if (values.json) return void process.stdout.write(JSON.stringify(await benchTrainingModes(o)) + "\n"); // a child of the isolated run
  const rows = values["same-process"] ? await benchTrainingModes(o) : await benchTrainingModesIsolated(o);
  console.log(`Trainer steps (AdamW update included) on ${info.name} (${info.source})\n${trainTable(rows)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
