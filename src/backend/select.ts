/**
 * Backend selection: the fastest TensorFlow.js backend present, overridable, and always reported.
 *
 * Order: `tensorflow` via `@tensorflow/tfjs-node-gpu`, then via `@tensorflow/tfjs-node` (both optional: their install
 * downloads libtensorflow, so they are never a hard dependency), then `wasm` (bundled), then `cpu` (pure JS).
 * Override with `initBackend({ backend })` or the env var `PALIGEMMA_BACKEND=tensorflow|wasm|cpu`.
 */
import { tf } from "../tf.js";

export type BackendName = "tensorflow" | "wasm" | "cpu";
export const BACKEND_NAMES: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

export interface BackendInfo {
  /** The backend now active on the engine. */
  name: BackendName;
  /** Where it came from, e.g. "@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-backend-wasm". */
  source: string;
  /** Backends that were tried before it and why they were passed over. */
  skipped: { name: string; reason: string }[];
}

export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendError";
  }
}

let current: BackendInfo | null = null;

async function tryNative(pkg: string): Promise<string | null> {
  try {
    await import(pkg); // registers the "tensorflow" backend on the shared engine
    return tf.findBackendFactory("tensorflow") ? null : `${pkg} loaded but registered no "tensorflow" backend`;
  } catch (e) {
    return `${pkg} not installed (${(e as Error).message.split("\n")[0]})`;
  }
}

/**
 * On WASM, `Identity` copies the tensor's bytes. The engine clones every tensor it saves for backprop through
 * `Identity`, so training held a second copy of each saved activation and of every weight a matmul used (the bench
 * model's full fine-tune overflowed the 4 GiB heap). Tensors are immutable (a Variable's `assign` swaps its data
 * id), so the clone can share the data by reference count, exactly what the CPU backend's Identity does.
 */
function shareDataOnWasmIdentity(): void {
  const kernel = tf.getKernel("Identity", "wasm");
  if (!kernel || (kernel as { sharesData?: boolean }).sharesData) return;
  tf.unregisterKernel("Identity", "wasm");
  const shared: tf.KernelConfig & { sharesData: boolean } = {
    kernelName: "Identity",
    backendName: "wasm",
    sharesData: true,
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  };
  tf.registerKernel(shared);
}

async function activate(name: BackendName): Promise<boolean> {
  try {
    if (name === "wasm") shareDataOnWasmIdentity();
    const ok = await tf.setBackend(name);
    // The CPU backend greets its first tensor with advice to install tfjs-node; we already report the backend
    // (and the native packages cannot install everywhere), so silence that one-time banner.
    if (ok && name === "cpu") (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    return ok;
  } catch {
    return false;
  }
}

function parseName(value: string, where: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new BackendError(`${where}: unknown backend "${value}"; use one of ${BACKEND_NAMES.join(", ")}`);
}

/**
 * Pick and activate a backend (idempotent unless `force`). Returns what runs.
 *
 *     const { name } = await initBackend();            // best present
 *     await initBackend({ backend: "cpu", force: true }); // exact reference arithmetic, slow
 */
export async function initBackend(opts: { backend?: BackendName; force?: boolean } = {}): Promise<BackendInfo> {
  const env = process.env.PALIGEMMA_BACKEND;
  const wanted = opts.backend ?? (env ? parseName(env, "PALIGEMMA_BACKEND") : undefined);
  if (current && !opts.force && (!wanted || wanted === current.name) && tf.getBackend() === current.name) {
    return current;
  }
  const skipped: BackendInfo["skipped"] = [];
  const candidates: { name: BackendName; source: string; load?: string }[] = [
    { name: "tensorflow", source: "@tensorflow/tfjs-node-gpu", load: "@tensorflow/tfjs-node-gpu" },
    { name: "tensorflow", source: "@tensorflow/tfjs-node", load: "@tensorflow/tfjs-node" },
    { name: "wasm", source: "@tensorflow/tfjs-backend-wasm" },
    { name: "cpu", source: "@tensorflow/tfjs-backend-cpu" },
  ];
  for (const c of candidates) {
    if (wanted && c.name !== wanted) continue;
    if (c.load && !tf.findBackendFactory("tensorflow")) {
      const why = await tryNative(c.load);
      if (why) {
        skipped.push({ name: c.source, reason: why });
        continue;
      }
    }
    if (await activate(c.name)) {
      current = { name: c.name, source: c.source, skipped };
      return current;
    }
    skipped.push({ name: c.source, reason: "failed to initialise" });
  }
  throw new BackendError(
    `no TensorFlow.js backend could start${wanted ? ` (asked for "${wanted}")` : ""}: ` +
      skipped.map((s) => `${s.name}: ${s.reason}`).join("; "),
  );
}

/** The backend in use, or null before `initBackend`. */
export function backendInfo(): BackendInfo | null {
  return current && tf.getBackend() === current.name ? current : null;
}

/** True when the active backend has a kernel (e.g. "UnsortedSegmentSum" is missing on WASM). */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
