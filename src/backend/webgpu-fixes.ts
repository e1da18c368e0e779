/**
 * What tfjs-backend-webgpu 4.22 gets wrong in Node and on small devices, fixed when it is imported (backend traits'
 * `afterImport`): synchronous reads, and AddN over more inputs than a shader may bind.
 *
 * Synchronous reads (`dataSync`, `arraySync`) of GPU data.
 *
 * The package reads synchronously through an OffscreenCanvas, which Node lacks ("OffscreenCanvas is not defined"),
 * yet the library reads a few scalars synchronously (gradient clipping, greedy argmax, health checks). WebGPU maps a
 * buffer only asynchronously; Dawn completes the map on Node's event loop. So the read copies the tensor's buffer
 * into a staging buffer, asks for the map, and turns the event loop (npm's `deasync`, installed by
 * `npm run setup:webgpu`, a prebuilt N-API addon) until the staging buffer is mapped: the same copy and map as
 * the package's async `read`, with the values cached on the host the same way. Other callbacks (timers, I/O) may run
 * during such a read, as during any `await`.
 *
 * Without `deasync`, a synchronous read of GPU data throws an error saying to use `await tensor.data()`.
 *
 * Both reads, synchronous and `await tensor.data()`, throw the device errors Dawn reported before them (dawn.ts).
 */
import { createRequire } from "node:module";
import { tf } from "../tf.js";
import { throwDeviceErrors } from "./dawn.js";

interface TensorData {
  values?: unknown;
  dtype: tf.DataType;
  resource?: { size: number };
}
interface WebGpuBackendInternals {
  tensorMap: { get(id: object): TensorData };
  bufferManager: { acquireBuffer(size: number, usage: number): StagingBuffer; releaseBuffer(b: StagingBuffer): void };
  commandEncoder: { copyBufferToBuffer(src: object, so: number, dst: object, d: number, size: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(id: object, values: unknown): unknown;
}
interface StagingBuffer {
  mapState: string;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

type LoopWhile = (pred: () => boolean) => void;

function loadLoopWhile(): LoopWhile | null {
  try {
    return (createRequire(import.meta.url)("deasync") as { loopWhile: LoopWhile }).loopWhile;
  } catch {
    return null;
  }
}

/** Both fixes (module: the imported tfjs-backend-webgpu). Idempotent. */
export function fixWebGpuBackend(module: unknown): void {
  installSyncReadback(module);
  installAsyncReadCheck(module);
  chunkAddN();
}

/**
 * AddN binds every input as a storage buffer; with more than the device's `maxStorageBuffersPerShaderStage` − 1
 * (7 on OpenGL ES compatibility) the pipeline is invalid and the result silently garbage (Concat splits its inputs
 * for this; AddN does not). The gradient-norm sum over LoRA's 40-odd tensors hits it. Here AddN adds in groups.
 */
function chunkAddN(): void {
  const kernel = tf.getKernel("AddN", "webgpu") as (tf.KernelConfig & { chunked?: boolean }) | undefined;
  if (!kernel || kernel.chunked) return;
  const own = kernel.kernelFunc;
  tf.unregisterKernel("AddN", "webgpu");
  const chunked: tf.KernelConfig & { chunked: boolean } = {
    kernelName: "AddN",
    backendName: "webgpu",
    chunked: true,
    kernelFunc: (args) => {
      const backend = args.backend as unknown as { device: { limits: { maxStorageBuffersPerShaderStage: number } }; disposeData(id: object): void };
      const most = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
      let inputs = args.inputs as unknown as tf.TensorInfo[];
      const made: tf.TensorInfo[] = [];
      while (inputs.length > most) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < inputs.length; i += most) {
          const group = inputs.slice(i, i + most);
          if (group.length === 1) next.push(group[0]!);
          else made.push((own({ ...args, inputs: group as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo)), next.push(made[made.length - 1]!);
        }
        inputs = next;
      }
      const out = own({ ...args, inputs: inputs as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
      for (const t of made) backend.disposeData(t.dataId);
      return out;
    },
  };
  tf.registerKernel(chunked);
}

/** Replace `WebGPUBackend.prototype.readSync` (module: the imported tfjs-backend-webgpu). Idempotent. */
function installSyncReadback(module: unknown): void {
  const proto = (module as { WebGPUBackend?: { prototype: Record<string, unknown> } }).WebGPUBackend?.prototype;
  if (!proto || proto.syncReadbackInstalled) return;
  const original = proto.readSync as (this: WebGpuBackendInternals, id: object) => unknown;
  const loopWhile = loadLoopWhile();
  const gpu = globalThis as unknown as { GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number> };
  proto.readSync = function (this: WebGpuBackendInternals, dataId: object) {
    const data = this.tensorMap.get(dataId);
    if (data.values != null || !data.resource) return original.call(this, dataId); // on the host, or complex64
    throwDeviceErrors(); // what was reported before this read's copy (e.g. an invalid kernel that produced it)
    if (!loopWhile) {
      throw new Error("webgpu in Node reads GPU data synchronously (dataSync/arraySync) only with npm's `deasync` " +
        "(`npm run setup:webgpu` installs it); else use `await tensor.data()`");
    }
    const size = data.resource.size;
    const staging = this.bufferManager.acquireBuffer(size, gpu.GPUBufferUsage.COPY_DST! | gpu.GPUBufferUsage.MAP_READ!);
    this.ensureCommandEncoderReady();
    this.endComputePassEncoder();
    this.commandEncoder.copyBufferToBuffer(data.resource, 0, staging, 0, size);
    this.submitQueue();
    let failure: unknown = null;
    staging.mapAsync(gpu.GPUMapMode.READ!).catch((e: unknown) => (failure = e ?? new Error("mapAsync failed")));
    loopWhile(() => staging.mapState !== "mapped" && failure === null);
    if (failure !== null) throw failure;
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    this.bufferManager.releaseBuffer(staging);
    throwDeviceErrors(); // reported while the queue ran
    return this.convertAndCacheOnCPU(dataId, tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype));
  };
  proto.syncReadbackInstalled = true;
}

/** `await tensor.data()` throws the device errors reported until its data arrived (module: tfjs-backend-webgpu). */
function installAsyncReadCheck(module: unknown): void {
  const proto = (module as { WebGPUBackend?: { prototype: Record<string, unknown> } }).WebGPUBackend?.prototype;
  if (!proto || proto.asyncReadCheckInstalled) return;
  const read = proto.read as (this: unknown, id: object) => Promise<unknown>;
  proto.read = async function (this: unknown, dataId: object) {
    const values = await read.call(this, dataId);
    throwDeviceErrors();
    return values;
  };
  proto.asyncReadCheckInstalled = true;
}
