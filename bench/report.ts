/**
 * Plain-text rendering of benchmark results: the header (what ran where) and one aligned table.
 * Pure functions of data; nothing here touches TF.js.
 */
import type { Measurement } from "./measure.js";
import type { MemoryPeak } from "./memory.js";

/** Memory peaks up to the moment a workload failed. */
export type MemoryAtFailure = MemoryPeak;

/** PyTorch peer on `small` (bench/configs/README.md): HF transformers 4.47, PyTorch 1.13 CPU, 2 threads, float32.
 * Measured on another machine at another time: NOT side by side, so only rough ratios are meaningful. */
export const PYTORCH_SMALL_REF = {
  forward: { 1: 1.65, 4: 4.34 } as Record<number, number>, // s per iteration (B samples), forward with loss, no grad
  fwdBwd: { 1: 4.44, 4: 13.7 } as Record<number, number>, // s per iteration, full fine-tune forward + backward
  decodeTokensPerSecond: 6.2, // greedy, 31 tokens after prefill, KV cache
} as const;

export interface Row {
  model: string;
  workload: string;
  batch: number;
  /** The measurement, or absent when the workload failed (then `error` says why). */
  m?: Measurement;
  error?: string;
  memoryAtFailure?: MemoryAtFailure;
  /** "samples" for forward/backward rows (per-sample time = s ÷ B), "tokens" for generation (rate = tokens ÷ s). */
  kind: "samples" | "tokens";
  /** Reference seconds per iteration (same work) or tokens/s, if the PyTorch peer measured this row. */
  ref?: { seconds?: number; tokensPerSecond?: number };
}

/** A row computed from other rows (e.g. decode rate = 31 tokens ÷ (generate − prefill)). */
export interface DerivedRow {
  model: string;
  workload: string;
  tokensPerSecond: number;
  refTokensPerSecond?: number;
  note: string;
}

const MB = 1024 * 1024;
/** Seconds with 3 significant digits, as "12.3 s" or (below 1 s) "45.6 ms". */
export const fmtS = (s: number): string => (s >= 1000 ? `${s.toFixed(0)} s` : s >= 1 ? `${s.toPrecision(3)} s` : `${(s * 1000).toPrecision(3)} ms`);
const fmtMB = (b: number | null): string => (b === null ? "-" : `${Math.round(b / MB).toLocaleString("en-US")} MB`);
const fmtRate = (x: number, unit: string): string => `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)} ${unit}`;

/** Lay out rows of cells as an aligned text table with a rule under the header. */
export function table(head: string[], rows: string[][], rightAlign: boolean[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (rightAlign[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join("  ").trimEnd();
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

/** The results table. Times are per sample (÷ B) for forward rows and per `generate` call for token rows. */
export function resultsTable(rows: Row[], derived: DerivedRow[], showWasmHeap: boolean): string {
  const head = ["model", "workload", "B", "n", "median/sample", "min/sample", "CPU/sample", "throughput", "peak TF.js", "peak RSS"];
  if (showWasmHeap) head.push("WASM heap");
  const showRef = rows.some((r) => r.ref) || derived.some((d) => d.refTokensPerSecond !== undefined);
  if (showRef) head.push("PyTorch ref*", "median ÷ ref");
  const cells = rows.map((r) => {
    const per = r.kind === "samples" ? r.batch : 1;
    if (!r.m) {
      const f = r.memoryAtFailure;
      const c = [r.model, r.workload, String(r.batch), "0", "FAILED", "(see notes)", "", "",
        f ? fmtMB(f.tfBytes) : "", f ? fmtMB(f.rssBytes) : ""];
      if (showWasmHeap) c.push(f ? fmtMB(f.wasmHeapBytes) : "");
      const refS = r.ref?.seconds;
      if (showRef) c.push(refS !== undefined ? `${fmtS(refS / per)}/sample` : "", "");
      return c;
    }
    const rate = r.kind === "samples" ? fmtRate(r.batch / r.m.median, "samples/s") : fmtRate(r.m.units / r.m.median, "tokens/s");
    const c = [r.model, r.workload, String(r.batch), String(r.m.seconds.length), fmtS(r.m.median / per), fmtS(r.m.min / per), fmtS(r.m.medianCpu / per), rate,
      fmtMB(r.m.peakTfBytes), fmtMB(r.m.peakRssBytes)];
    if (showWasmHeap) c.push(fmtMB(r.m.wasmHeapBytes));
    const refS = r.ref?.seconds;
    if (showRef) c.push(refS !== undefined ? `${fmtS(refS / per)}/sample` : "", refS !== undefined ? `${(r.m.median / refS).toFixed(2)}×` : "");
    return c;
  });
  for (const d of derived) {
    const c = [d.model, d.workload, "1", "", "", "", "", fmtRate(d.tokensPerSecond, "tokens/s"), "", ""];
    if (showWasmHeap) c.push("");
    const ref = d.refTokensPerSecond;
    if (showRef) c.push(ref !== undefined ? fmtRate(ref, "tokens/s") : "", ref !== undefined ? `${(ref / d.tokensPerSecond).toFixed(2)}×` : "");
    cells.push(c);
  }
  const right = head.map((_, i) => i >= 2);
  return table(head, cells, right);
}

export interface Header {
  backend: string;
  source: string;
  /** What runs the arithmetic and on how many threads (from the backend's load report). */
  engine: string;
  threads: { intraOp: number; interOp: number };
  wasmThreads: number | null;
  tfjs: string;
  node: string;
  cpu: string;
  cores: number;
  memoryGB: number;
  date: string;
  args: string;
  /** 1-minute load average when the bench started: other work on the machine skews every number. */
  loadAvg: number;
}

export function headerText(h: Header): string {
  const threads = `intra-op ${h.threads.intraOp}, inter-op ${h.threads.interOp} thread(s)`;
  return [
    "paligemma-ts benchmark",
    `  backend : ${h.backend} (${h.engine} via ${h.source}; ${threads}), TF.js ${h.tfjs}`,
    `  node    : ${h.node}`,
    `  cpu     : ${h.cpu} × ${h.cores} cores, ${h.memoryGB.toFixed(0)} GB RAM`,
    `  date    : ${h.date}; load average ${h.loadAvg.toFixed(2)} at start${h.loadAvg > 0.5 ? " (other work is running: numbers are noisy)" : ""}`,
    `  args    : ${h.args || "(defaults)"}`,
  ].join("\n");
}

export const FOOTNOTES = [
  "median/min: wall time of the timed iterations after 1 warm-up, divided by B for forward rows; a generate row's",
  "  time is the whole call (prefill + 32 new tokens). CPU: median process CPU time (user+sys) per iteration, which",
  "  other load on the machine inflates less than wall time. peak TF.js: max of tf.memory().numBytes (counts views",
  "  again); peak RSS: process resident set, polled every 5 ms by a worker thread; both include model weights.",
].join("\n");

/** Printed when the table has PyTorch reference columns (small rows). */
export const REF_FOOTNOTE = [
  "* PyTorch ref: the Python peer on `small` from bench/configs/README.md (HF transformers 4.47, PyTorch 1.13 CPU,",
  "  OpenBLAS, 2 threads, float32) — measured on another machine at another time, NOT side by side: treat",
  "  'median ÷ ref' as a rough ratio only (> 1 = slower than PyTorch; for tokens/s rows: ref rate ÷ our rate).",
].join("\n");
