/**
 * `npm run bench`: forward, forward+backward and greedy-decoding speed and peak memory of the PaliGemma 2 port
 * on the golden tiny model and the 106.6M-parameter `small` config (bench/configs/README.md), on one backend.
 *
 *     npm run bench                                   # best backend present (initBackend), tiny + small
 *     npm run bench -- --backend cpu --only tiny      # or PALIGEMMA_BACKEND=cpu
 *     node dist/bench/run.js --only small --iters 5 --batch4 --profile
 *
 * `--only 3b` runs only the real-3B-config section instead (bench/real3b.ts: write a random BF16 checkpoint,
 * refuse it on WASM, load it with QLoRA on the native backend, one LoRA step, peak RSS beside the memory plan).
 *
 * Flags: --backend cpu|wasm|tensorflow, --only tiny|small|3b, --iters N (timed iterations after 1 warm-up; default
 * 10 for tiny, 3 for small), --batch4 (also B=4 forward and fwd+bwd for small), --profile (top-5 kernels of one
 * forward and one fwd+bwd of the largest model run). On the cpu backend `small` is skipped unless asked for with
 * `--only small` (~40× slower than wasm). Each job (model × workload, see jobs.ts) runs in a child process of
 * this script (`--job <id>`, result sent back over IPC). Prints a table (progress goes to stderr) and writes
 * `dist/bench-results/latest-<backend>.json`. Numbers, not asserts. Where a Python with torch, transformers and peft
 * is found ($PALIGEMMA_PY, <repo>/.venv, python3), bench/torch_peer.py then measures the same `small` workloads on
 * the same thread count and a table prints the ratios (bench/torch.ts; `--skip-torch` to leave it out).
 * Greedy and beam-search decoding rates on the nano model (the KV cache's figure): `node dist/bench/decode.js`.
 */
import { benchPreprocess, findPython, formatPreprocess, type PreprocessRow } from "./preprocess.js";
import { TORCH_MODULES, comparisonTable, ourMeasurements, runTorchPeers } from "./torch.js";
import { benchTrainingModesIsolated, trainTable } from "./train.js";
import { bench3b } from "./real3b.js";
import { fork } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../src/tf.js";
import { initBackend, BACKEND_NAMES, type BackendName } from "../src/backend/select.js";
import { traitsOf } from "../src/backend/traits.js";
import { NEW_TOKENS, jobId, parseJobId, runJob, workloadLabel, type Job, type JobResult } from "./jobs.js";
import { resultsDir } from "./paths.js";
import { FOOTNOTES, PYTORCH_SMALL_REF, REF_FOOTNOTE, fmtS, headerText, resultsTable, type DerivedRow, type Header, type Row } from "./report.js";

const log = (s: string) => process.stderr.write(s + "\n");

function parseFlags() {
  const { values } = parseArgs({
    options: {
      backend: { type: "string" },
      only: { type: "string" },
      iters: { type: "string" },
      batch4: { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      "skip-preprocess": { type: "boolean", default: false },
      "skip-train": { type: "boolean", default: false },
      "skip-torch": { type: "boolean", default: false },
      job: { type: "string" }, // internal: run one job in this (child) process
    },
  });
  const backend = values.backend ?? process.env["PALIGEMMA_BACKEND"];
  if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new Error(`--backend: unknown backend "${backend}"; use one of ${BACKEND_NAMES.join(", ")}`);
  }
  if (values.only !== undefined && !["tiny", "small", "3b"].includes(values.only)) {
    throw new Error(`--only: got "${values.only}"; use tiny, small or 3b`);
  }
  const iters = values.iters === undefined ? undefined : Number(values.iters);
  if (iters !== undefined && !(Number.isInteger(iters) && iters >= 1)) throw new Error(`--iters: expected an integer ≥ 1, got "${values.iters}"`);
  return {
    backend: backend as BackendName | undefined,
    only: values.only as "tiny" | "small" | "3b" | undefined,
    iters,
    batch4: values.batch4!,
    profile: values.profile!,
    skipPreprocess: values["skip-preprocess"]!,
    skipTrain: values["skip-train"]!,
    skipTorch: values["skip-torch"]!,
    job: values.job,
  };
}
type Flags = ReturnType<typeof parseFlags>;

/** The jobs to run, riskiest last (small fwd+bwd can exhaust the WASM heap), and notes on what was left out. */
function planJobs(flags: Flags, backend: BackendName): { jobs: Job[]; notes: string[] } {
  const notes: string[] = [];
  const jobs: Job[] = [];
  let small = flags.only !== "tiny";
  if (backend === "cpu" && flags.only === undefined) {
    small = false;
    notes.push("small skipped: the cpu backend is ~40× slower than wasm (minutes per forward+backward); " +
      "run `--backend cpu --only small --iters 1` to measure it anyway.");
  }
  if (flags.only !== "small") {
    const iters = flags.iters ?? 10;
    jobs.push({ model: "tiny", workload: "forward", batch: 1, iters }, { model: "tiny", workload: "fwdbwd", batch: 1, iters });
  }
  if (small) {
    const iters = flags.iters ?? 3;
    const batches = flags.batch4 ? [1, 4] : [1];
    for (const b of batches) jobs.push({ model: "small", workload: "forward", batch: b, iters });
    jobs.push({ model: "small", workload: "decode", batch: 1, iters });
    for (const b of batches) jobs.push({ model: "small", workload: "fwdbwd", batch: b, iters });
    for (const b of batches) jobs.push({ model: "small", workload: "fwdbwd-ckpt", batch: b, iters });
  } else if (flags.batch4) notes.push("--batch4 applies to small only; ignored.");
  if (flags.profile) jobs.push({ model: small ? "small" : "tiny", workload: "profile", batch: 1, iters: 1 });
  return { jobs, notes };
}

/** Run one job in a child process of this script; a crash becomes a failed row. */
function runChild(job: Job, backend: BackendName): Promise<JobResult> {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), ["--job", jobId(job), "--backend", backend], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let result: JobResult | null = null;
    child.on("message", (m) => (result = m as JobResult));
    child.on("exit", (code, signal) => {
      if (result) return resolve(result);
      const error = `child process ended (${signal ?? `exit code ${code}`}) without a result; its error is on stderr above`;
      resolve({ rows: [{ model: job.model, workload: workloadLabel(job), batch: job.batch, kind: "samples", error }], text: [], params: 0, buildSeconds: 0 });
    });
  });
}

/** Attach the PyTorch reference to the small rows that it measured. */
function withReference(r: Row): Row {
  if (r.model !== "small") return r;
  if (r.workload.startsWith("forward")) return { ...r, ref: { seconds: PYTORCH_SMALL_REF.forward[r.batch] } };
  if (r.workload.startsWith("fwd+bwd")) return { ...r, ref: { seconds: PYTORCH_SMALL_REF.fwdBwd[r.batch] } };
  return r;
}

/** Decode rate after prefill: 31 tokens ÷ (median generate − median prefill), like the reference's "31 tokens". */
function decodeRate(rows: Row[]): DerivedRow | null {
  const gen = rows.find((r) => r.model === "small" && r.workload.startsWith("greedy generate"))?.m;
  const pre = rows.find((r) => r.model === "small" && r.workload.startsWith("prefill"))?.m;
  if (!gen || !pre) return null;
  return {
    model: "small",
    workload: `decode after prefill (${NEW_TOKENS - 1} tok)`,
    tokensPerSecond: (NEW_TOKENS - 1) / (gen.median - pre.median),
    refTokensPerSecond: PYTORCH_SMALL_REF.decodeTokensPerSecond,
    note: `${NEW_TOKENS - 1} tokens ÷ (median generate ${fmtS(gen.median)} − median prefill ${fmtS(pre.median)}); ` +
      `from CPU times instead: ${((NEW_TOKENS - 1) / (gen.medianCpu - pre.medianCpu)).toFixed(2)} tokens/s`,
  };
}

async function main(flags: Flags): Promise<void> {
  if (flags.only === "3b") return bench3b({ backend: flags.backend });
  const t0 = performance.now();
  const info = await initBackend({ backend: flags.backend });
  const header: Header = {
    backend: info.name,
    source: info.source,
    engine: info.version,
    threads: { intraOp: info.threads.intraOp, interOp: info.threads.interOp },
    wasmThreads: info.name === "wasm" ? getThreadsCount() : null,
    tfjs: tf.version.tfjs,
    node: process.version,
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGB: totalmem() / 1024 ** 3,
    date: new Date().toISOString(),
    args: process.argv.slice(2).join(" "),
    loadAvg: loadavg()[0]!,
  };
  console.log(headerText(header) + "\n");

  const { jobs, notes } = planJobs(flags, info.name);
  const rows: Row[] = [];
  const texts: string[] = [];
  for (const job of jobs) {
    log(`${job.model} ${job.workload}${job.workload === "decode" ? "" : ` B=${job.batch}`}: ${job.iters} timed iteration(s) after 1 warm-up (own process)`);
    const r = await runChild(job, info.name);
    if (r.params) log(`  (${job.model}: ${(r.params / 1e6).toFixed(2)}M params, built in ${fmtS(r.buildSeconds)})`);
    rows.push(...r.rows.map(withReference));
    texts.push(...r.text);
  }
  const derived = decodeRate(rows);
  if (derived) notes.push(`decode rate: ${derived.note}.`);

  for (const r of rows) {
    if (r.error) {
      const heap = r.memoryAtFailure?.wasmHeapBytes;
      const hint = heap && heap > 4.2e9 ? " (the WASM heap reached the 4 GB wasm32 limit)" : "";
      notes.push(`FAILED: ${r.model} ${r.workload} B=${r.batch}: ${r.error}${hint}.`);
    } else if (r.m && r.m.tensorGrowth !== 0) {
      notes.push(`WARNING: ${r.model} ${r.workload} B=${r.batch}: tf.memory().numTensors grew by ${r.m.tensorGrowth} over ` +
        `${r.m.seconds.length} iterations (from ${r.m.tensorsAfterWarmup} after warm-up) — a tensor leak.`);
    }
  }
  if (!notes.some((n) => n.startsWith("WARNING"))) notes.push("tf.memory().numTensors stayed flat across iterations in every measured row.");
  const total = (performance.now() - t0) / 1000;
  notes.push(`total bench time ${fmtS(total)} (one process per job; model building and warm-ups included); ` +
    `load average ${loadavg()[0]!.toFixed(2)} at the end.`);

  console.log(resultsTable(rows, derived ? [derived] : [], traitsOf(info.name).heapLimitBytes !== null));
  console.log("\n" + FOOTNOTES + (rows.some((r) => r.model === "small") ? "\n" + REF_FOOTNOTE : ""));
  console.log("\n" + notes.map((n) => `- ${n}`).join("\n"));
  if (texts.length) console.log("\n" + texts.join("\n\n"));

  // Preprocessing throughput (issue 3) and training modes through the Trainer (issue 4): their own sections.
  let preprocess: PreprocessRow[] | null = null;
  if (!flags.skipPreprocess) {
    preprocess = await benchPreprocess({ log });
    console.log("\n" + formatPreprocess(preprocess));
  }
  let training: Awaited<ReturnType<typeof benchTrainingModesIsolated>> | null = null;
  if (!flags.skipTrain) {
    const model = flags.only === "tiny" || info.name === "cpu" ? "tiny" : "small";
    if (model === "tiny" && flags.only !== "tiny") console.log("\n(training modes on the tiny model: the CPU backend is too slow for small)");
    training = await benchTrainingModesIsolated({ model, backend: info.name, iters: 2, log });
    console.log("\n" + trainTable(training));
  }

  // PyTorch on the same shapes and threads, in this run (after ours: the two never share the cores).
  let pytorchSameRun: Awaited<ReturnType<typeof runTorchPeers>> | null = null;
  if (!flags.skipTorch && rows.some((r) => r.model === "small" && r.m)) {
    const py = findPython(TORCH_MODULES);
    if (!py) {
      console.log(`\nPyTorch peer: not measured: no Python with ${TORCH_MODULES} (set PALIGEMMA_PY=/path/to/python)`);
    } else {
      log(`PyTorch peer (${py}), ${info.threads.intraOp} thread(s), one process per mode`);
      pytorchSameRun = await runTorchPeers(py, { threads: info.threads.intraOp, batch4: flags.batch4, log });
      const ours = ourMeasurements(rows, derived?.tokensPerSecond, training ?? []);
      console.log("\n" + comparisonTable(ours, pytorchSameRun));
    }
  }

  const file = join(resultsDir(), `latest-${info.name}.json`);
  await mkdir(resultsDir(), { recursive: true });
  const json = {
    header,
    skippedBackends: info.skipped,
    rows: rows.map((r) => ({ ...r, medianPerSample: r.m ? r.m.median / (r.kind === "samples" ? r.batch : 1) : null })),
    derived,
    pytorchReference: { ...PYTORCH_SMALL_REF, note: "bench/configs/README.md; measured elsewhere, not side by side" },
    notes,
    profile: texts,
    preprocess,
    training,
    pytorchSameRun,
    totalSeconds: total,
  };
  await writeFile(file, JSON.stringify(json, null, 2) + "\n");
  console.log(`\nresults written to ${file}`);
}

/** Child mode: run one job and send its result to the parent. */
async function child(flags: Flags): Promise<void> {
  const result = await runJob(parseJobId(flags.job!), flags.backend ?? (await initBackend()).name);
  await new Promise<void>((resolve, reject) => process.send!(result, (e: Error | null) => (e ? reject(e) : resolve())));
  process.exit(0); // nothing else to wait for (the WASM module may hold the loop open after an abort)
}

const USAGE =
  "usage: node dist/bench/run.js [--backend cpu|wasm|tensorflow] [--only tiny|small] [--iters N] [--batch4] [--profile] [--skip-preprocess] [--skip-train] [--skip-torch]";
let flags: Flags;
try {
  flags = parseFlags();
} catch (e) {
  console.error(`bench: ${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
(flags.job ? child(flags) : main(flags)).catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 1;
});
