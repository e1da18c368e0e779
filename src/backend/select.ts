/**
 * Backend selection: the fastest TensorFlow.js backend present, overridable, and always reported.
 *
 * Order and providers come from `traits.ts`: `tensorflow` via `@tensorflow/tfjs-node-gpu`, then via
 * `@tensorflow/tfjs-node` (both optional; `npm run setup:native` builds the latter against PyPI's TensorFlow), then
 * `wasm` (bundled), then `cpu` (pure JS). Override with `initBackend({ backend })` or the env var
 * `PALIGEMMA_BACKEND=tensorflow|webgpu|wasm|cpu`. `webgpu` (optional, `npm run setup:webgpu`: Dawn + tfjs-backend-webgpu) comes
 * after `tensorflow`; a software WebGPU adapter (llvmpipe) is used only when asked for. What was chosen, why, and on what is in `backendInfo()` (see report.ts).
 */
import { tf } from "../tf.js";
import { BACKEND_NAMES, BACKEND_TRAITS, type BackendName, type BackendProvider } from "./traits.js";
import { describeBackend, type BackendInfo } from "./report.js";

export { BACKEND_NAMES, type BackendName } from "./traits.js";
export { formatBackendReport, type BackendInfo, type DeviceInfo } from "./report.js";

export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendError";
  }
}

let current: BackendInfo | null = null;

/** Is `pkg` resolvable at all? (Not installed is normal; installed but failing to load is worth a clear reason.) */
function installed(pkg: string): boolean {
  try {
    import.meta.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** Import an optional provider (it registers its backend on the shared engine); null when it did, else why not. */
async function loadProvider(name: BackendName, p: BackendProvider, asked: boolean): Promise<string | null> {
  if (!installed(p.package)) return `not installed${p.note ? ` (${p.note})` : ""}`;
  for (const [k, v] of Object.entries(p.env ?? {})) process.env[k] ??= v;
  try {
    await p.prepare?.(asked);
  } catch (e) {
    return (e as Error).message.split("\n")[0]!;
  }
  try {
    const mod: unknown = await import(p.package); // not inside `afterImport?.(…)`: an absent hook would skip the import
    p.afterImport?.(mod);
  } catch (e) {
    const first = (e as Error).message.split("\n")[0];
    return `installed but failed to load: ${first}${p.note ? ` (${p.note})` : ""}`;
  }
  return tf.findBackendFactory(name) ? null : `loaded but registered no "${name}" backend on this engine (a second copy of @tensorflow/tfjs-core?)`;
}

/** Which provider registered each backend, and the providers passed over before it (kept for later reports). */
const registered = new Map<BackendName, { provider: BackendProvider | null; source: string; skipped: BackendInfo["skipped"] }>();

/**
 * Make sure `name` is registered, loading its optional providers in order; its source, or null with reasons.
 * `asked`: the backend was named (option or env var); automatic selection lets a provider decline (`prepare`), also
 * when it was registered earlier by an explicit request.
 */
async function provide(name: BackendName, skipped: BackendInfo["skipped"], asked: boolean): Promise<string | null> {
  const known = registered.get(name);
  if (known) {
    skipped.push(...known.skipped);
    try {
      await known.provider?.prepare?.(asked);
    } catch (e) {
      skipped.push({ name: known.source, reason: (e as Error).message.split("\n")[0]! });
      return null;
    }
    return known.source;
  }
  const { providers } = BACKEND_TRAITS[name];
  const own: BackendInfo["skipped"] = [];
  let source: string | null = null;
  let provider: BackendProvider | null = null;
  if (tf.findBackendFactory(name) && providers.every((p) => p.optional)) {
    source = `${providers.map((p) => p.package).join(" or ")} (imported by the application)`;
  }
  for (const p of providers) {
    if (source) break;
    const why = p.optional ? await loadProvider(name, p, asked) : null; // bundled ones registered when src/tf.ts loaded
    if (why) own.push({ name: p.package, reason: why });
    else (source = p.package), (provider = p);
  }
  skipped.push(...own);
  if (source) registered.set(name, { provider, source, skipped: own });
  return source;
}

/**
 * Where `Identity` copies the tensor's bytes (traits.identityCopies: WASM). The engine clones every tensor it saves
 * for backprop through `Identity`, so training held a second copy of each saved activation and of every weight a
 * matmul used (the bench model's full fine-tune overflowed the 4 GiB heap). Tensors are immutable (a Variable's `assign` swaps its data
 * id), so the clone can share the data by reference count, exactly what the CPU backend's Identity does.
 */
function shareIdentityData(backendName: BackendName): void {
  const kernel = tf.getKernel("Identity", backendName);
  if (!kernel || (kernel as { sharesData?: boolean }).sharesData) return;
  tf.unregisterKernel("Identity", backendName);
  const shared: tf.KernelConfig & { sharesData: boolean } = {
    kernelName: "Identity",
    backendName,
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
    if (BACKEND_TRAITS[name].identityCopies) shareIdentityData(name);
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
 *
 * `probe: true` starts `backend` only as automatic selection would (a backend may decline: WebGPU on a software
 * adapter); test helpers list the backends present that way.
 */
export async function initBackend(opts: { backend?: BackendName; force?: boolean; probe?: boolean } = {}): Promise<BackendInfo> {
  const env = process.env.PALIGEMMA_BACKEND;
  const wanted = opts.backend ?? (env ? parseName(env, "PALIGEMMA_BACKEND") : undefined);
  if (current && !opts.force && (!wanted || wanted === current.name) && tf.getBackend() === current.name) {
    return current;
  }
  const reason = opts.backend
    ? `asked for (initBackend / fromPretrained option backend: "${opts.backend}")`
    : wanted
      ? `asked for (PALIGEMMA_BACKEND=${wanted})`
      : `best present (tried in the order ${BACKEND_NAMES.join(", ")})`;
  const skipped: BackendInfo["skipped"] = [];
  for (const name of BACKEND_NAMES) {
    if (wanted && name !== wanted) continue;
    const source = await provide(name, skipped, wanted === name && !opts.probe);
    if (!source) continue;
    if (await activate(name)) {
      current = { name, source, reason, skipped, ...describeBackend(name) };
      return current;
    }
    skipped.push({ name: source, reason: `registered "${name}" but it failed to initialise` });
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
