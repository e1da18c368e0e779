/**
 * Peak resident memory of a process's descendants, read from Linux /proc while they run (what Binder's memory
 * limit counts). Each process's own peak is exact (`VmHWM`, kept by the kernel); the peak of their sum is sampled.
 */
import { readdirSync, readFileSync } from "node:fs";

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
}

function readProc(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")"); // comm may hold spaces and parentheses
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    return { pid, ppid, comm };
  } catch {
    return null; // exited between readdir and read
  }
}

/** `VmRSS` and `VmHWM` (peak RSS) of `pid` in bytes, or null once it is gone. */
function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { rss: kib("VmRSS"), hwm: kib("VmHWM") };
  } catch {
    return null;
  }
}

/** All living descendants of `root` (not `root` itself). */
function descendants(root: number): Proc[] {
  const procs = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map((d) => readProc(Number(d))).filter((p): p is Proc => p !== null);
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

export interface RssPeak {
  /** Largest sampled sum of RSS over the matching descendants, bytes. */
  peakSum: number;
  /** Largest `VmHWM` seen of any one matching descendant, bytes (exact, not sampled). */
  peakProcess: number;
  /** The `comm` names of the matching processes seen. */
  seen: string[];
  samples: number;
}

/**
 * Samples, every `everyMs`, the descendants of `root` whose command name matches `which` (e.g. /^node$/ for a tslab
 * kernel under nbconvert) until `stop()`; returns the peaks.
 */
export function watchRss(root: number, which: RegExp, everyMs = 100): { stop: () => RssPeak } {
  const peak: RssPeak = { peakSum: 0, peakProcess: 0, seen: [], samples: 0 };
  const seen = new Set<string>();
  const sample = () => {
    let sum = 0;
    for (const p of descendants(root)) {
      if (!which.test(p.comm)) continue;
      const m = memoryOf(p.pid);
      if (!m) continue;
      seen.add(p.comm);
      sum += m.rss;
      peak.peakProcess = Math.max(peak.peakProcess, m.hwm);
    }
    peak.peakSum = Math.max(peak.peakSum, sum);
    peak.samples++;
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return { ...peak, seen: [...seen] };
    },
  };
}
