/**
 * Timing one workload: one warm-up run, then N timed runs, each with its memory peaks and a tensor-leak check.
 * Numbers, not asserts: a leak becomes a warning line in the report, never an exception.
 *
 *     const m = await measure("forward", () => model.forward(x), { iters: 3, samples: 1, mem });
 *     m.median; m.min; m.peakTfBytes; m.tensorGrowth;
 */
import { tf } from "../src/tf.js";
import type { MemorySampler } from "./memory.js";

export interface Measurement {
  /** Wall seconds of each timed iteration (warm-up excluded), in run order. */
  seconds: number[];
  /** Median and min wall seconds per iteration. */
  median: number;
  min: number;
  /** Median CPU seconds (user + system, whole process) per iteration: less sensitive to other load than wall
   * time when the backend runs on one thread (wasm, cpu); above wall time when it runs on several. */
  medianCpu: number;
  /** Samples (batch rows) or tokens processed per iteration, to turn seconds into per-sample figures. */
  units: number;
  /** Peaks over the warm-up and all timed iterations. */
  peakTfBytes: number;
  peakRssBytes: number;
  wasmHeapBytes: number | null;
  /** `tf.memory().numTensors` after the last iteration minus after the warm-up (should be 0). */
  tensorGrowth: number;
  /** `tf.memory().numTensors` after the warm-up, for the report. */
  tensorsAfterWarmup: number;
}

export interface MeasureOptions {
  iters: number;
  /** Samples or tokens one run processes (see Measurement.units). */
  units: number;
  mem: MemorySampler;
  /** Called after each run (warm-up included) with its wall seconds, e.g. for progress lines. */
  onRun?: (run: number, seconds: number) => void;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Run `work` once to warm up and `iters` more times, timed. `work` must release everything it allocates
 * (dispose its outputs) before it returns or resolves; whatever it leaves is reported as `tensorGrowth`.
 */
export async function measure(work: () => unknown, o: MeasureOptions): Promise<Measurement> {
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  let peakTf = 0;
  let peakRss = 0;
  let tensorsAfterWarmup = 0;
  for (let run = 0; run <= o.iters; run++) {
    o.mem.reset();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await work();
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const p = o.mem.peak();
    peakTf = Math.max(peakTf, p.tfBytes);
    peakRss = Math.max(peakRss, p.rssBytes);
    if (run === 0) tensorsAfterWarmup = tf.memory().numTensors;
    else seconds.push(s), cpuSeconds.push((c.user + c.system) / 1e6);
    o.onRun?.(run, s);
    await new Promise((r) => setImmediate(r)); // let the RSS worker and pending callbacks run between iterations
  }
  return {
    seconds,
    median: median(seconds),
    min: Math.min(...seconds),
    medianCpu: median(cpuSeconds),
    units: o.units,
    peakTfBytes: peakTf,
    peakRssBytes: peakRss,
    wasmHeapBytes: o.mem.peak().wasmHeapBytes,
    tensorGrowth: tf.memory().numTensors - tensorsAfterWarmup,
    tensorsAfterWarmup,
  };
}

/** Top kernels by total time in one profiled run (`tf.profile`), e.g. to see which op dominates a forward. */
export interface KernelTotal {
  name: string;
  ms: number;
  calls: number;
}

/**
 * Run `work` once under `tf.profile` and total the kernel times by kernel name. `work` disposes what it makes.
 * The per-kernel NaN check that profiling normally adds (`CHECK_COMPUTATION_FOR_ERRORS`) is off meanwhile.
 */
export async function profileKernels(work: () => void, top = 5): Promise<{ total: number; kernels: KernelTotal[] }> {
  const check = tf.env().getBool("CHECK_COMPUTATION_FOR_ERRORS");
  tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", false);
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    info = await tf.profile(() => {
      work();
      return [];
    });
  } finally {
    tf.env().set("CHECK_COMPUTATION_FOR_ERRORS", check);
  }
  const byName = new Map<string, KernelTotal>();
  let total = 0;
  const backend = tf.getBackend();
  for (const k of info.kernels) {
    // tf.customGrad ops are recorded as a scope whose time includes the kernels inside it, which are also
    // recorded one by one: count only registered kernels so nothing is counted twice.
    if (tf.getKernel(k.name, backend) === undefined) continue;
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    total += ms;
    const e = byName.get(k.name) ?? { name: k.name, ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    byName.set(k.name, e);
  }
  return { total, kernels: [...byName.values()].sort((a, b) => b.ms - a.ms).slice(0, top) };
}
