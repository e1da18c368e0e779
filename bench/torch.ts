/**
 * PyTorch beside us in the same `npm run bench` run: bench/torch_peer.py on the same `small` shapes, the same
 * inputs layout and as many threads as our backend uses, one mode per process, then a table of ratios
 * (ours ÷ PyTorch: < 1 = we are faster; for tokens/s, PyTorch's rate ÷ ours, so < 1 is again "we are faster").
 *
 *     const py = findPython(TORCH_MODULES);                       // $PALIGEMMA_PY, <repo>/.venv, python3
 *     const peer = await runTorchPeers(py!, { threads: 2, batch4: false, log });
 *     console.log(comparisonTable(ourRows, peer));
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot, smallConfigPath } from "./paths.js";

export const TORCH_MODULES = "torch, transformers, peft";
export const TORCH_MODES = ["forward", "fwdbwd", "full", "freeze-vision", "lora", "decode"] as const;
export type TorchMode = (typeof TORCH_MODES)[number];

export interface TorchResult {
  mode: TorchMode;
  batch: number;
  seconds: number;
  tokens_per_second?: number;
  peak_rss_bytes: number;
  torch: string;
  transformers: string;
  threads: number;
}

export interface TorchFailure {
  mode: TorchMode;
  batch: number;
  error: string;
}

function runOne(py: string, mode: TorchMode, batch: number, iters: number, threads: number): Promise<TorchResult> {
  const args = [join(repoRoot(), "bench", "torch_peer.py"), "--config", smallConfigPath(), "--mode", mode,
    "--batch", String(batch), "--iters", String(iters), "--threads", String(threads)];
  return new Promise((resolve, reject) => {
    const child = spawn(py, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as TorchResult);
      else reject(new Error(`torch_peer.py --mode ${mode} exited with ${code}: ${err.trim().split("\n").slice(-2).join(" | ")}`));
    });
  });
}

/** Every mode at B=1 (forward and fwd+bwd also at B=4 when asked), one after another, after ours: never sharing cores. */
export async function runTorchPeers(
  py: string,
  o: { threads: number; batch4: boolean; iters?: number; log: (line: string) => void },
): Promise<(TorchResult | TorchFailure)[]> {
  const jobs: [TorchMode, number][] = TORCH_MODES.map((m) => [m, 1]);
  if (o.batch4) jobs.push(["forward", 4], ["fwdbwd", 4]);
  const out: (TorchResult | TorchFailure)[] = [];
  for (const [mode, batch] of jobs) {
    const t = performance.now();
    try {
      const r = await runOne(py, mode, batch, o.iters ?? 2, o.threads);
      o.log(`  pytorch ${mode} B=${batch}: ${r.seconds.toFixed(2)} s (${((performance.now() - t) / 1000).toFixed(0)} s with setup)`);
      out.push(r);
    } catch (e) {
      o.log(`  pytorch ${mode} B=${batch}: failed: ${(e as Error).message}`);
      out.push({ mode, batch, error: (e as Error).message });
    }
  }
  return out;
}

/** One of our measurements, keyed like the peer's modes. */
export interface OurMeasurement {
  mode: TorchMode;
  batch: number;
  /** Seconds per call or step (per batch, not per sample); for decode, tokens/s in `tokensPerSecond`. */
  seconds?: number;
  tokensPerSecond?: number;
  peakRssBytes?: number;
}

const LABELS: Record<TorchMode, string> = {
  forward: "forward + loss (no grad)",
  fwdbwd: "fwd+bwd, full",
  full: "Trainer step, full (AdamW)",
  "freeze-vision": "Trainer step, frozen vision",
  lora: "Trainer step, LoRA r=8",
  decode: "greedy decode tokens/s",
};

const gb = (b?: number) => (b === undefined ? "" : `${(b / 1e9).toFixed(2)} GB`);

/** Ours beside PyTorch's, with the time and peak-RSS ratios (ours ÷ PyTorch). */
export function comparisonTable(ours: OurMeasurement[], peer: (TorchResult | TorchFailure)[]): string {
  const head = ["workload", "B", "ours", "PyTorch", "time ratio", "peak RSS ours", "PyTorch", "RSS ratio"];
  const rows: string[][] = [];
  for (const p of peer) {
    const o = ours.find((x) => x.mode === p.mode && x.batch === p.batch);
    const label = LABELS[p.mode];
    if ("error" in p) {
      rows.push([label, String(p.batch), "", "failed", "", "", "", ""]);
      continue;
    }
    let mine = "";
    let theirs = `${p.seconds.toFixed(2)} s`;
    let ratio = "";
    if (p.mode === "decode") {
      theirs = `${p.tokens_per_second!.toFixed(1)}/s`;
      if (o?.tokensPerSecond) {
        mine = `${o.tokensPerSecond.toFixed(1)}/s`;
        ratio = `${(p.tokens_per_second! / o.tokensPerSecond).toFixed(2)}×`;
      }
    } else if (o?.seconds !== undefined) {
      mine = `${o.seconds.toFixed(2)} s`;
      ratio = `${(o.seconds / p.seconds).toFixed(2)}×`;
    }
    const rss = o?.peakRssBytes && p.mode !== "decode" ? `${(o.peakRssBytes / p.peak_rss_bytes).toFixed(2)}×` : "";
    const theirRss = p.mode === "decode" ? "" : gb(p.peak_rss_bytes); // ours has no decode-only RSS row to match
    rows.push([label, String(p.batch), mine, theirs, ratio, gb(o?.peakRssBytes), theirRss, rss]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const first = peer.find((p): p is TorchResult => !("error" in p));
  const title = first
    ? `same run, same threads: PyTorch ${first.torch}, transformers ${first.transformers}, ${first.threads} thread(s)`
    : "PyTorch peer: every mode failed";
  return [title, line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line),
    "ratios: ours ÷ PyTorch for times and RSS, PyTorch ÷ ours for tokens/s (below 1× = we are ahead)"].join("\n");
}

/** Our small-model rows (bench/run.ts's table and the Trainer table) as peer-comparable measurements. */
export function ourMeasurements(
  rows: readonly { model: string; workload: string; batch: number; m?: { median: number; peakRssBytes: number } }[],
  decodeTokensPerSecond: number | undefined,
  training: readonly ({ model: string; mode: string; batch: number; stepSeconds: number; peakRssBytes: number } | object)[],
): OurMeasurement[] {
  const byLabel: Record<string, TorchMode> = { "forward + loss (no grad)": "forward", "fwd+bwd, full fine-tune": "fwdbwd" };
  const out: OurMeasurement[] = [];
  for (const r of rows) {
    const mode = byLabel[r.workload];
    if (r.model === "small" && mode && r.m) out.push({ mode, batch: r.batch, seconds: r.m.median, peakRssBytes: r.m.peakRssBytes });
  }
  if (decodeTokensPerSecond !== undefined) out.push({ mode: "decode", batch: 1, tokensPerSecond: decodeTokensPerSecond });
  for (const t of training) {
    if (!("stepSeconds" in t) || t.model !== "small") continue;
    if ((TORCH_MODES as readonly string[]).includes(t.mode)) {
      out.push({ mode: t.mode as TorchMode, batch: t.batch, seconds: t.stepSeconds, peakRssBytes: t.peakRssBytes });
    }
  }
  return out;
}
