/**
 * One benchmark job = one model × one workload, run in its own process by run.ts, so that each job's peak RSS is
 * its own (the WASM heap never shrinks) and a job that exhausts the 4 GB wasm32 heap — after which the WASM
 * backend is unusable — cannot take the other measurements down with it.
 *
 * Workloads: `forward` (forward with loss, no grad), `fwdbwd` (full fine-tune gradients, disposed), `decode`
 * (greedy generate of 32 forced tokens plus the 282-token prefill alone; small only), `profile` (top-5 kernels of
 * one forward and one fwd+bwd at B=1).
 */
import { tf } from "../src/tf.js";
import { initBackend, type BackendName } from "../src/backend/select.js";
import { withLeanTape } from "../src/train/lean-tape.js";
import { disposeInputs, loadSmall, loadTiny, type BenchModel } from "./inputs.js";
import { measure, profileKernels } from "./measure.js";
import { MemorySampler } from "./memory.js";
import { fmtS, table, type MemoryAtFailure, type Row } from "./report.js";

export type ModelName = "tiny" | "small";
export type Workload = "forward" | "fwdbwd" | "fwdbwd-ckpt" | "decode" | "profile";
export interface Job {
  model: ModelName;
  workload: Workload;
  batch: number;
  iters: number;
}

export interface JobResult {
  rows: Row[];
  /** Human-readable lines for the notes (decode-rate derivation, profile tables). */
  text: string[];
  params: number;
  buildSeconds: number;
}

export const NEW_TOKENS = 32;
export const jobId = (j: Job): string => `${j.model}:${j.workload}:${j.batch}:${j.iters}`;
export function parseJobId(id: string): Job {
  const [model, workload, batch, iters] = id.split(":");
  return { model: model as ModelName, workload: workload as Workload, batch: Number(batch), iters: Number(iters) };
}

const log = (s: string) => process.stderr.write(s + "\n");
type Inputs = ReturnType<BenchModel["trainInputs"]>;

/** Forward with loss (no gradient); reads the loss so the work is surely done. */
function forwardOnce(bm: BenchModel, x: Inputs): void {
  const out = bm.model.forward(x);
  out.loss!.dataSync();
  out.logits.dispose();
  out.loss!.dispose();
}

/**
 * A full fine-tune step without the update: `tf.variableGrads` of the loss w.r.t. every parameter, disposed, on the
 * lean tape as the Trainer computes it (train/lean-tape.ts: activations freed as the backward pass goes).
 */
function fwdBwdOnce(bm: BenchModel, x: Inputs, vars: tf.Variable[]): void {
  const { value, grads } = withLeanTape(() => tf.variableGrads(() => bm.model.computeLoss(x), vars)); // logits only at labelled rows
  value.dataSync();
  value.dispose();
  tf.dispose(grads);
}

/** One profiled run of `work` (after an unprofiled warm-up) as a printable top-5 kernel table. */
async function profileOne(label: string, work: () => void): Promise<string> {
  log(`  profiling one ${label} (after one unprofiled warm-up)`);
  work();
  const prof = await profileKernels(work, 5);
  const rows = prof.kernels.map((k) => [k.name, fmtS(k.ms / 1000), `${((100 * k.ms) / prof.total).toFixed(1)} %`, String(k.calls)]);
  return `Top 5 kernels, one ${label} (tf.profile; kernel time total ${fmtS(prof.total / 1000)}):\n` +
    table(["kernel", "time", "share", "calls"], rows, [false, true, true, true]);
}

/**
 * Top-5 kernel tables for one forward, (small) one decode step after the 282-token prefill, and one fwd+bwd.
 * fwd+bwd goes last: it may exhaust the WASM heap, after which nothing runs; a failure becomes a line of text.
 */
async function profileParts(bm: BenchModel, x: Inputs, vars: tf.Variable[]): Promise<string[]> {
  const out: string[] = [];
  let label = `${bm.name} forward + loss B=1`;
  try {
    out.push(await profileOne(label, () => forwardOnce(bm, x)));
    if (bm.prompt) {
      const p = bm.prompt();
      const ids = p.inputIds.dataSync() as Int32Array;
      const { logits, cache } = bm.model.prefill(p.pixelValues, ids);
      tf.dispose([logits, p.pixelValues, p.inputIds]);
      let index = ids.length; // each step appends one position to the cache
      label = `${bm.name} decode step (KV cache ≈ ${index} positions)`;
      try {
        out.push(await profileOne(label, () => bm.model.decodeStep(Int32Array.of(42), index++, cache).dispose()));
      } finally {
        cache.dispose();
      }
    }
    label = `${bm.name} fwd+bwd B=1`;
    out.push(await profileOne(label, () => fwdBwdOnce(bm, x, vars)));
  } catch (e) {
    out.push(`Profile of one ${label}: failed: ${(e as Error).message}`);
  }
  return out;
}

const WORKLOAD_LABEL: Record<Workload, string> = {
  forward: "forward + loss (no grad)",
  fwdbwd: "fwd+bwd, full fine-tune",
  "fwdbwd-ckpt": "fwd+bwd, full, grad checkpointing",
  decode: `greedy generate +${NEW_TOKENS} tok, prefill`,
  profile: "profile",
};

/** The table label of a job's workload (used for rows of jobs that failed before measuring). */
export const workloadLabel = (job: Job): string => WORKLOAD_LABEL[job.workload];

/** Run one job in this process: build the model, measure, dispose. Failures come back as rows with `error`. */
export async function runJob(job: Job, backend: BackendName): Promise<JobResult> {
  await initBackend({ backend });
  const t0 = performance.now();
  const bm = job.model === "tiny" ? await loadTiny(backend) : await loadSmall(backend);
  const buildSeconds = (performance.now() - t0) / 1000;
  const mem = MemorySampler.start();
  const vars = [...bm.model.namedParameters().values()];
  const progress = (what: string) => (run: number, s: number) =>
    log(`  ${job.model} ${what}: ${run === 0 ? "warm-up" : `run ${run}/${job.iters}`} ${fmtS(s)}`);
  const result: JobResult = { rows: [], text: [], params: bm.params, buildSeconds };
  const x = job.workload === "decode" ? null : bm.trainInputs(job.batch);
  const p = job.workload === "decode" ? bm.prompt!() : null;
  let current: { workload: string; kind: Row["kind"] } = { workload: job.workload, kind: "samples" };
  try {
    if (job.workload === "forward" || job.workload === "fwdbwd" || job.workload === "fwdbwd-ckpt") {
      current = { workload: WORKLOAD_LABEL[job.workload], kind: "samples" };
      if (job.workload === "fwdbwd-ckpt") bm.model.gradientCheckpointingEnable();
      const work = job.workload === "forward" ? () => forwardOnce(bm, x!) : () => fwdBwdOnce(bm, x!, vars);
      const m = await measure(work, { iters: job.iters, units: job.batch, mem, onRun: progress(`${job.workload} B=${job.batch}`) });
      result.rows.push({ model: job.model, workload: current.workload, batch: job.batch, kind: "samples", m });
    } else if (job.workload === "decode") {
      const n = p!.inputIds.shape[1]!;
      current = { workload: `greedy generate ${n}+${NEW_TOKENS} tok`, kind: "tokens" };
      const gen = await measure(
        async () => {
          const { sequences } = await bm.model.generate(p!, { maxNewTokens: NEW_TOKENS, eosTokenId: -1 });
          const got = sequences[0]!.length - n;
          if (got !== NEW_TOKENS) throw new Error(`generate gave ${got} new tokens, expected ${NEW_TOKENS}`);
        },
        { iters: job.iters, units: NEW_TOKENS, mem, onRun: progress(`generate ${NEW_TOKENS} tokens`) },
      );
      result.rows.push({ model: job.model, workload: current.workload, batch: 1, kind: "tokens", m: gen });
      current = { workload: `prefill only (${n} tok)`, kind: "samples" };
      const ids = p!.inputIds.dataSync() as Int32Array;
      const pre = await measure(
        () => {
          const { logits, cache } = bm.model.prefill(p!.pixelValues, ids);
          logits.dataSync();
          logits.dispose();
          cache.dispose();
        },
        { iters: job.iters, units: 1, mem, onRun: progress(`prefill ${n} tokens`) },
      );
      result.rows.push({ model: job.model, workload: current.workload, batch: 1, kind: "samples", m: pre });
    } else {
      current = { workload: "profile", kind: "samples" };
      result.text.push(...(await profileParts(bm, x!, vars)));
    }
  } catch (e) {
    const at: MemoryAtFailure = { ...mem.peak() };
    const msg = (e as Error).message ?? String(e);
    log(`  ${job.model} ${current.workload} B=${job.batch}: FAILED: ${msg}`);
    result.rows.push({ model: job.model, workload: current.workload, batch: job.workload === "decode" ? 1 : job.batch, kind: current.kind, error: msg, memoryAtFailure: at });
  } finally {
    // After a WASM heap abort every further kernel fails too; the process is about to end, so do not insist.
    try {
      if (x) disposeInputs(x);
      if (p) disposeInputs(p);
      bm.model.dispose();
    } catch {
      /* backend unusable after an abort */
    }
    await mem.stop();
  }
  return result;
}
