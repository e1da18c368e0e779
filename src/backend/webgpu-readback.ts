/**
 * Synchronous reads (`dataSync`, `arraySync`) of GPU data on tfjs-backend-webgpu in Node.
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
 */
import { createRequire } from "node:module";
import { tf } from "../tf.js";

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

/** Replace `WebGPUBackend.prototype.readSync` (module: the imported tfjs-backend-webgpu). Idempotent. */
export function installSyncReadback(module: unknown): void {
  const proto = (module as { WebGPUBackend?: { prototype: Record<string, unknown> } }).WebGPUBackend?.prototype;
  if (!proto || proto.syncReadbackInstalled) return;
  const original = proto.readSync as (this: WebGpuBackendInternals, id: object) => unknown;
  const loopWhile = loadLoopWhile();
  const gpu = globalThis as unknown as { GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number> };
  proto.readSync = function (this: WebGpuBackendInternals, dataId: object) {
    const data = this.tensorMap.get(dataId);
    if (data.values != null || !data.resource) return original.call(this, dataId); // on the host, or complex64
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
    return this.convertAndCacheOnCPU(dataId, tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype));
  };
  proto.syncReadbackInstalled = true;
}
