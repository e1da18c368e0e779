/**
 * `npm run bench -- --only 3b`: the real `google/paligemma2-3b-pt-224` config at full size (3.03B parameters) on
 * this machine. A long bench section, not a unit test:
 *
 *   1. a checkpoint with that config.json and random BF16 weights, sharded like the hub's (2 shards, 6.06 GB), is
 *      written by a test helper into a directory outside git ($PALIGEMMA_3B_DIR, default <tmpdir>/paligemma-ts-3b-
 *      random; kept between runs);
 *   2. on WASM, `fromPretrained` refuses it before reading a weight (timed);
 *   3. on the native backend it loads with QLoRA (`quantizationConfig` NF4 + double quantization: quantized while
 *      loading, never float32-resident), timed, with peak RSS;
 *   4. one LoRA step (r 8 on the seven projections, AdamW, gradient checkpointing; B=1, 224 px, 8-token prefix and
 *      suffix) through the Trainer, timed, with peak RSS;
 *   5. the memory plan's prediction beside each measurement.
 *
 *     npm run bench -- --only 3b                 # backend tensorflow (npm run setup:native)
 *
 * Before loading it checks that the machine has the plan's peak free (plus 2 GB), and stops otherwise.
 */
import { freemem, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "../src/tf.js";
import { initBackend, type BackendName } from "../src/backend/select.js";
import { loadPaliGemmaConfig } from "../src/config/paligemma.js";
import { PaliGemmaForConditionalGeneration } from "../src/model/paligemma.js";
import { planMemory, type MemoryPlanOptions } from "../src/memory/plan.js";
import { formatBytes, formatMemoryPlan } from "../src/memory/format.js";
import { memoryLimit } from "../src/memory/limit.js";
import { MemoryPlanError } from "../src/memory/check.js";
import { LoraConfig, getPeftModel } from "../src/lora/index.js";
import { Trainer } from "../src/train/trainer.js";
import type { Collator, ModelBatch } from "../src/data/types.js";
import { writeRandomBf16Checkpoint } from "../test/helpers/random-checkpoint.js";
import { repoRoot } from "../test/helpers/paths.js";
import { MemorySampler } from "./memory.js";
import { BENCH_LORA } from "./train.js";

const log = (s: string) => process.stderr.write(s + "\n");
const seconds = (t0: number) => (performance.now() - t0) / 1000;
/** CPU seconds (user + system, all threads) since `c0`: on a shared machine wall time says little, this says more. */
const cpuSeconds = (c0: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
};

/** Token layout of one training row: 256 image tokens, bos, 8 prefix tokens, "\n" | 8 suffix tokens, eos. */
const LAYOUT = { prefix: 8, suffix: 8, bos: 2, newline: 108, eos: 1 } as const;

function textIds(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0, 3 + (s % 33997)));
}

export async function bench3b(o: { backend?: BackendName } = {}): Promise<void> {
  const backend = o.backend ?? "tensorflow";
  const configDir = join(repoRoot(), "test", "fixtures", "memory", "paligemma2-3b-pt-224");
  const dir = process.env["PALIGEMMA_3B_DIR"] ?? join(tmpdir(), "paligemma-ts-3b-random");
  const cfg = await loadPaliGemmaConfig(configDir);
  const textTokens = 1 + LAYOUT.prefix + 1 + LAYOUT.suffix + 1;
  const planOptions: MemoryPlanOptions = {
    mode: "qlora", batchSize: 1, textTokens, labelledTokens: LAYOUT.suffix + 1, gradientCheckpointing: true,
    quant: { bits: 4, blockSize: 64, doubleQuant: true },
  };
  const plan = planMemory(cfg, planOptions);

  log(`3b: writing the random BF16 checkpoint into ${dir} (kept between runs)`);
  let t0 = performance.now();
  await writeRandomBf16Checkpoint(configDir, dir, { seed: 0 });
  const writeSeconds = seconds(t0);

  // WASM: refused before a weight is read
  await initBackend({ backend: "wasm", force: true });
  t0 = performance.now();
  const refusal = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend: "wasm" }).then(
    (m) => (m.dispose(), null),
    (e: unknown) => e,
  );
  const refusedSeconds = seconds(t0);
  if (!(refusal instanceof MemoryPlanError)) throw new Error(`3b on wasm: expected a MemoryPlanError, got ${String(refusal)}`);

  const info = await initBackend({ backend, force: true });
  const limit = memoryLimit();
  console.log(`## real 3B config (${(plan.parameters / 1e9).toFixed(2)}B parameters), QLoRA on ${info.name} ${info.version ?? ""}\n`);
  console.log(formatMemoryPlan(plan, limit) + "\n");
  const free = freemem();
  if (free < plan.peakBytes + 2e9) {
    console.log(`skipped: ${formatBytes(free)} free, the plan needs ${formatBytes(plan.peakBytes)} + 2 GB of margin`);
    return;
  }

  const mem = MemorySampler.start();
  try {
    const baseRss = process.memoryUsage.rss();
    mem.reset();
    t0 = performance.now();
    const loadCpu0 = process.cpuUsage();
    const base = await PaliGemmaForConditionalGeneration.fromPretrained(dir, {
      backend,
      quantizationConfig: { loadIn4bit: true, bnb4bitQuantType: "nf4", bnb4bitUseDoubleQuant: true },
      memoryPlan: planOptions,
      onProgress: (e) => {
        if (e.phase === "update" && e.done % 100 === 0) log(`  loading: ${e.done}/${e.total} tensors, ${(e.elapsedMs / 1000).toFixed(1)} s, RSS ${formatBytes(process.memoryUsage.rss())}`);
      },
    });
    const loadSeconds = seconds(t0);
    const loadCpu = cpuSeconds(loadCpu0);
    const loadPeak = mem.peak();
    const loadedRss = process.memoryUsage.rss();
    log(`3b: loaded in ${loadSeconds.toFixed(1)} s, peak RSS ${formatBytes(loadPeak.rssBytes)}`);

    base.gradientCheckpointingEnable();
    const model = getPeftModel(base, new LoraConfig(BENCH_LORA), { seed: 0 });
    const image: number[] = new Array(cfg.numImageTokens).fill(cfg.imageTokenIndex);
    const prompt = [...image, LAYOUT.bos, ...textIds(LAYOUT.prefix, 1), LAYOUT.newline];
    const answer = [...textIds(LAYOUT.suffix, 2), LAYOUT.eos];
    const ids = [...prompt, ...answer];
    const L = ids.length;
    const size = cfg.visionConfig.imageSize;
    const collator: Collator = {
      collate: async () => ({
        pixelValues: tf.tidy(() => tf.sin(tf.mul(tf.range(0, 3 * size * size, 1, "float32"), 0.0137)).reshape([1, 3, size, size])),
        inputIds: tf.tensor2d([ids], [1, L], "int32"),
        attentionMask: tf.ones([1, L], "int32"),
        tokenTypeIds: tf.tensor2d([ids.map((_, i) => (i < prompt.length ? 0 : 1))], [1, L], "int32"),
        labels: tf.tensor2d([ids.map((id, i) => (i < prompt.length ? -100 : id))], [1, L], "int32"),
      }) as unknown as ModelBatch,
    };
    let stepSeconds = 0;
    let loss = NaN;
    let stepStart = 0;
    let stepCpu0 = process.cpuUsage();
    let stepCpu = 0;
    mem.reset();
    const trainer = new Trainer({
      model, collator,
      trainDataset: { length: 1, get: async () => ({ image: "bench:0", prefix: "", suffix: "" }) },
      args: { outputDir: "unused-bench-output", saveStrategy: "no", maxSteps: 1, perDeviceTrainBatchSize: 1, learningRate: 1e-4, loggingSteps: 1_000_000, logLevel: "error" },
      callbacks: [{
        onStepBegin: () => {
          stepStart = performance.now();
          stepCpu0 = process.cpuUsage();
        },
        onStepEnd: (e) => {
          stepSeconds = seconds(stepStart);
          stepCpu = cpuSeconds(stepCpu0);
          loss = e.loss;
        },
      }],
    });
    await trainer.train();
    const stepPeak = mem.peak();
    log(`3b: one LoRA step in ${stepSeconds.toFixed(1)} s (loss ${loss.toFixed(3)}), peak RSS ${formatBytes(stepPeak.rssBytes)}`);

    const row = (what: string, measured: string, predicted: string) => `| ${what} | ${measured} | ${predicted} |`;
    console.log([
      `| real 3B config, B=1, T=${L}, QLoRA NF4 + LoRA r=8, gradient checkpointing | measured | plan |`,
      "| --- | --- | --- |",
      row("write the random BF16 checkpoint (2 shards)", `${writeSeconds.toFixed(1)} s${writeSeconds < 1 ? " (kept from an earlier run)" : ""}`, formatBytes(plan.diskBytes) + " on disk"),
      row("WASM: refused before reading a weight", `${refusedSeconds.toFixed(2)} s`, `needs ${formatBytes(refusal.plan.peakBytes)}, heap ${formatBytes(refusal.limit.bytes)}`),
      row("load + quantize while loading", `${loadSeconds.toFixed(1)} s (${loadCpu.toFixed(1)} s of CPU)`, ""),
      row("peak RSS while loading", `${formatBytes(loadPeak.rssBytes)} (${formatBytes(baseRss)} before)`, formatBytes(plan.loadPeakBytes)),
      row("RSS after loading", formatBytes(loadedRss), `${formatBytes(plan.residentWeightBytes)} resident weights`),
      row("peak backend bytes while loading (tf.memory)", formatBytes(loadPeak.tfBytes), ""),
      row("one LoRA step (fwd + bwd + AdamW)", `${stepSeconds.toFixed(1)} s (${stepCpu.toFixed(1)} s of CPU), loss ${loss.toFixed(3)}`, ""),
      row("peak RSS during the step", formatBytes(stepPeak.rssBytes), formatBytes(plan.stepPeakBytes)),
    ].join("\n"));
    console.log(`\nRSS includes Node, TensorFlow's runtime and ${formatBytes(baseRss)} already resident before loading; ` +
      `the plan counts tensors only. ${formatBytes(free)} was free when the section started (limit: ${limit.is}, ${formatBytes(limit.bytes)}); ` +
      `load average ${loadavg()[0]!.toFixed(1)} at the end.`);
  } finally {
    mem.stop();
  }
}
