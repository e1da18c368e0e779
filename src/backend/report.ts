/**
 * What the active backend is and runs on: version, threads, devices, and why it was chosen. Printed at load by the
 * CLI `smoke` and `npm run setup:native`; returned by `backendInfo()`.
 *
 *     console.log(formatBackendReport(await initBackend()));
 *     // backend: tensorflow (TensorFlow 2.21.0 via @tensorflow/tfjs-node)
 *     //   why: best present (tried in the order tensorflow, wasm, cpu)
 *     //   threads: intra-op 2, inter-op 2 (TensorFlow's default: one per core; ...)
 *     //   devices: cpu "Intel(R) Xeon(R) ..." 23.4 GiB RAM
 */
import { execFileSync } from "node:child_process";
import { availableParallelism, cpus, totalmem } from "node:os";
import { getThreadsCount, version_wasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../tf.js";
import { traitsOf, type BackendName } from "./traits.js";
import { dawnAdapterReport } from "./dawn.js";

export interface DeviceInfo {
  kind: "cpu" | "gpu";
  name: string;
  /** What the backend can use there, bytes (see `memoryIs`); null when unknown. */
  memoryBytes: number | null;
  memoryIs: "RAM" | "GPU memory" | "heap limit";
  /** Per-tensor limits where the device has them (WebGPU: buffer size and storage binding size, bytes). */
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

export interface BackendInfo {
  /** The backend now active on the engine. */
  name: BackendName;
  /** The package it came from, e.g. "@tensorflow/tfjs-node", "@tensorflow/tfjs-backend-wasm". */
  source: string;
  /** What runs the arithmetic: "TensorFlow 2.21.0", "tfjs-backend-wasm 4.22.0", ... */
  version: string;
  /** Why this one: asked for (option or PALIGEMMA_BACKEND), or the best present. */
  reason: string;
  /** Backends tried before it and why they were passed over. */
  skipped: { name: string; reason: string }[];
  threads: { intraOp: number; interOp: number; note: string };
  devices: DeviceInfo[];
}

/** The fields of `BackendInfo` that describe the running backend (selection adds name, source, reason, skipped). */
export type BackendDetails = Pick<BackendInfo, "version" | "threads" | "devices">;

interface NodeBackendInternals {
  binding?: { TF_Version?: string };
  isUsingGpuDevice?: boolean;
}

function hostCpu(): DeviceInfo {
  return { kind: "cpu", name: cpus()[0]?.model.trim() || "unknown CPU", memoryBytes: totalmem(), memoryIs: "RAM" };
}

/** NVIDIA GPUs as nvidia-smi lists them (name, total memory); empty when it is absent or fails. */
function nvidiaGpus(): DeviceInfo[] {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out.trim().split("\n").filter(Boolean).map((line) => {
      const [name, mib] = line.split(",").map((s) => s.trim());
      return { kind: "gpu" as const, name: name!, memoryBytes: Number(mib) * 2 ** 20 || null, memoryIs: "GPU memory" as const };
    });
  } catch {
    return [];
  }
}

function envThreads(name: string): number | null {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : null;
}

/** Per backend (a new backend is a type error until it has one): version, threads, devices. */
const DESCRIBE: Record<BackendName, () => BackendDetails> = {
  tensorflow: () => {
    const be = tf.backend() as unknown as NodeBackendInternals;
    const intra = envThreads("TF_NUM_INTRAOP_THREADS");
    const inter = envThreads("TF_NUM_INTEROP_THREADS");
    const cores = availableParallelism();
    const gpus = be.isUsingGpuDevice ? nvidiaGpus() : [];
    if (be.isUsingGpuDevice && gpus.length === 0) gpus.push({ kind: "gpu", name: "CUDA GPU (nvidia-smi unavailable)", memoryBytes: null, memoryIs: "GPU memory" });
    return {
      version: `TensorFlow ${be.binding?.TF_Version ?? "(unknown version)"}`,
      threads: {
        intraOp: intra ?? cores,
        interOp: inter ?? cores,
        note: intra || inter
          ? "from TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS"
          : "TensorFlow's default: one per core; set TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS to change",
      },
      devices: [...gpus, hostCpu()],
    };
  },
  wasm: () => ({
    version: `tfjs-backend-wasm ${version_wasm}`,
    threads: { intraOp: getThreadsCount(), interOp: 1, note: "WASM in Node runs single-threaded (no worker pool)" },
    devices: [{ ...hostCpu(), memoryBytes: Math.min(traitsOf("wasm").heapLimitBytes ?? Infinity, totalmem()), memoryIs: "heap limit" }],
  }),
  webgpu: () => {
    const a = dawnAdapterReport();
    const name = a ? [a.vendor, a.device || a.description].filter(Boolean).join(" ") : "unknown adapter";
    // WebGPU does not report device memory; NVIDIA's comes from nvidia-smi.
    const nvidia = /nvidia/i.test(`${a?.vendor} ${a?.description}`) ? nvidiaGpus()[0] : undefined;
    return {
      version: `tfjs-backend-webgpu ${tf.version_core}`,
      threads: { intraOp: 1, interOp: 1, note: "one queue on the GPU; JavaScript drives it from the main thread" },
      devices: [
        {
          kind: "gpu",
          name: `${name}${a ? ` (${a.description}; Dawn ${a.backend}, ${a.featureLevel} feature level)` : ""}`,
          memoryBytes: nvidia?.memoryBytes ?? null,
          memoryIs: "GPU memory",
          ...(a ? { limits: { maxBufferSize: a.maxBufferSize, maxStorageBufferBindingSize: a.maxStorageBufferBindingSize } } : {}),
        },
        hostCpu(),
      ],
    };
  },
  cpu: () => ({
    version: `tfjs-backend-cpu ${tf.version_core}`,
    threads: { intraOp: 1, interOp: 1, note: "pure JavaScript on the main thread" },
    devices: [hostCpu()],
  }),
};

/** Version, threads and devices of the active backend `name` (call right after it starts). */
export function describeBackend(name: BackendName): BackendDetails {
  return DESCRIBE[name]();
}

const gib = (b: number) => (b < 2 ** 30 ? `${Math.round(b / 2 ** 20)} MiB` : `${(b / 2 ** 30).toFixed(1)} GiB`);

/** The report as text, one fact per line (what the CLI and `setup:native` print). */
export function formatBackendReport(info: BackendInfo): string {
  const limits = (d: DeviceInfo) => d.limits
    ? `, tensors ≤ ${gib(Math.min(d.limits.maxBufferSize, d.limits.maxStorageBufferBindingSize))} (maxBufferSize ${gib(d.limits.maxBufferSize)}, maxStorageBufferBindingSize ${gib(d.limits.maxStorageBufferBindingSize)})`
    : "";
  const devices = info.devices.map((d) => `${d.kind} "${d.name}"${d.memoryBytes === null ? "" : `, ${gib(d.memoryBytes)} ${d.memoryIs}`}${limits(d)}`);
  const lines = [
    `backend: ${info.name} (${info.version} via ${info.source})`,
    `  why: ${info.reason}`,
    `  threads: intra-op ${info.threads.intraOp}, inter-op ${info.threads.interOp} (${info.threads.note})`,
    `  devices: ${devices.join("; ")}`,
    ...info.skipped.map((s) => `  skipped ${s.name}: ${s.reason}`),
  ];
  return lines.join("\n");
}
