/**
 * WebGPU in Node through Dawn (npm's optional `webgpu` package, a prebuilt `dawn.node`): chooses the adapter and
 * installs `navigator.gpu` before `@tensorflow/tfjs-backend-webgpu` is imported (that package registers its backend
 * only when `navigator.gpu` exists, and asks for an adapter with no options).
 *
 * Adapter choice, first that gives an adapter:
 *   1. `PALIGEMMA_WEBGPU_BACKEND=vulkan|opengles|opengl|null` when set (Dawn's `backend=` option), else
 *   2. Dawn's default on Linux: Vulkan (NVIDIA, AMD, Intel, lavapipe: a core WebGPU adapter), then
 *   3. OpenGL ES through EGL in WebGPU *compatibility* mode (Mesa llvmpipe on a machine with no GPU and no Vulkan
 *      loader: `EGL_PLATFORM=surfaceless` is set for it unless already set).
 * What was tried and why each was passed over is kept for the backend report (`dawnAdapterReport`).
 *
 * Errors. Dawn reports a bad pipeline or binding (a validation error), a failed allocation or an internal error as
 * the device's `uncapturederror` event and, when nobody handles it, only prints it: the kernel's output is then
 * silently garbage. Every device made through this navigator has a handler that keeps the errors instead, and the
 * next read of GPU data throws them (`throwDeviceErrors`, called by webgpu-fixes' reads).
 *
 *     await installDawnNavigator();                        // before importing @tensorflow/tfjs-backend-webgpu
 *     const r = dawnAdapterReport();                       // { backend: "opengles", featureLevel: "compatibility", ... }
 */

/** What Dawn's adapter says about itself, and the two limits big tensors are split by (`ops/row-blocks.ts`). */
export interface DawnAdapterReport {
  /** Dawn backend it runs on ("vulkan", "opengles", ...; "default" when Dawn chose). */
  backend: string;
  /** "core" or "compatibility" (OpenGL ES: WebGPU's reduced feature level). */
  featureLevel: "core" | "compatibility";
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Largest GPUBuffer, bytes. */
  maxBufferSize: number;
  /** Largest buffer one shader may bind as storage, bytes (128 MiB on llvmpipe's OpenGL ES). */
  maxStorageBufferBindingSize: number;
  /** Adapters tried before it and why they gave none. */
  tried: string[];
}

type Gpu = { requestAdapter(o?: object): Promise<GpuAdapter | null> };
type GpuAdapter = {
  requestDevice(o?: object): Promise<GpuDevice>;
  info?: Record<string, string>;
  limits: Record<string, number>;
  features: Set<string>;
  featureLevel?: string;
};
type GpuDevice = { addEventListener(type: "uncapturederror", h: (e: { error: { message: string }; preventDefault(): void }) => void): void };
type DawnModule = { create(options: string[]): Gpu; globals: Record<string, unknown> };

let report: DawnAdapterReport | null = null;
/** Uncaptured device errors not yet thrown (see the file comment). */
const deviceErrors: string[] = [];

/**
 * Throw the device errors Dawn reported since the last call, if any (and forget them: the next read starts clean).
 * A read of GPU data calls it after the data arrived, so results computed by an invalid kernel never reach the caller.
 */
export function throwDeviceErrors(): void {
  if (deviceErrors.length === 0) return;
  const errors = deviceErrors.splice(0);
  throw new Error(`WebGPU device error${errors.length > 1 ? `s (${errors.length})` : ""} before this read, so its data ` +
    `cannot be trusted: ${errors.slice(0, 3).join(" | ").slice(0, 2000)}`);
}

/** The adapter with its requestDevice wrapped: every device it makes keeps its uncaptured errors for the next read. */
function keepingDeviceErrors(adapter: GpuAdapter): GpuAdapter {
  const requestDevice = adapter.requestDevice.bind(adapter);
  adapter.requestDevice = async (o?: object) => {
    const device = await requestDevice(o);
    device.addEventListener("uncapturederror", (e) => {
      e.preventDefault(); // Dawn then does not print it: it is thrown at the next read instead
      deviceErrors.push(e.error.message.trim());
    });
    return device;
  };
  return adapter;
}

/** The adapter `installDawnNavigator` chose, or null before it ran (or when it found none). */
export function dawnAdapterReport(): DawnAdapterReport | null {
  return report;
}

/** Dawn backends worth trying, in order (see the file comment). */
function candidates(): { backend: string; options: string[]; featureLevel: "core" | "compatibility" }[] {
  const forced = process.env.PALIGEMMA_WEBGPU_BACKEND;
  const gl = (b: string) => ({ backend: b, options: [`backend=${b}`], featureLevel: "compatibility" as const });
  if (forced) return forced.startsWith("opengl") ? [gl(forced)] : [{ backend: forced, options: [`backend=${forced}`], featureLevel: "core" }];
  return [{ backend: "default", options: [], featureLevel: "core" }, gl("opengles")];
}

/**
 * Create Dawn's `navigator.gpu` on an adapter that exists here and install it (with Dawn's WebGPU globals) on
 * `globalThis`. Throws with every attempt's reason when none gives an adapter.
 */
export async function installDawnNavigator(): Promise<DawnAdapterReport> {
  if (report) return report;
  const dawn = (await import("webgpu" as string)) as DawnModule;
  const tried: string[] = [];
  for (const c of candidates()) {
    if (c.featureLevel === "compatibility") process.env.EGL_PLATFORM ??= "surfaceless"; // EGL with no display
    const gpu = dawn.create(c.options);
    const adapter = await gpu.requestAdapter(c.featureLevel === "compatibility" ? { featureLevel: "compatibility" } : {});
    if (!adapter) {
      tried.push(`${c.backend}: no adapter`);
      continue;
    }
    const requestAdapter = gpu.requestAdapter.bind(gpu);
    // tfjs-backend-webgpu asks with { powerPreference } only: keep the feature level this adapter needs.
    const wrapped: Gpu = {
      requestAdapter: async (o?: object) => {
        const a = await requestAdapter({ ...o, ...(c.featureLevel === "compatibility" ? { featureLevel: "compatibility" } : {}) });
        return a && keepingDeviceErrors(a);
      },
    };
    Object.assign(globalThis, dawn.globals);
    const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as object;
    Object.defineProperty(nav, "gpu", { value: wrapped, configurable: true, enumerable: true });
    const info = adapter.info ?? {};
    report = {
      backend: c.backend === "default" ? dawnBackendOf(info) : c.backend,
      featureLevel: c.featureLevel,
      vendor: info.vendor ?? "",
      architecture: info.architecture ?? "",
      device: info.device ?? "",
      description: info.description ?? "",
      maxBufferSize: adapter.limits.maxBufferSize!,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize!,
      tried,
    };
    return report;
  }
  throw new Error(`Dawn found no WebGPU adapter (${tried.join("; ")}); on Linux it needs a Vulkan loader and driver ` +
    `(libvulkan1 + the GPU's ICD) or Mesa's EGL (libegl1, libegl-mesa0, libgl1-mesa-dri for llvmpipe)`);
}

/** Dawn's own default on Linux is Vulkan; its adapter description names the driver ("NVIDIA", "llvmpipe", ...). */
function dawnBackendOf(info: Record<string, string>): string {
  return /opengl|gles/i.test(info.description ?? "") ? "opengles" : "vulkan";
}
