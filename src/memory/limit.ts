/**
 * How much memory the active backend can hold: WASM's heap limit (`backend/traits.ts`), GPU memory where the
 * backend report lists a GPU, otherwise the machine's RAM. Reads `os` and the backend report; allocates nothing.
 */
import { freemem, totalmem } from "node:os";
import { backendInfo } from "../backend/select.js";
import { activeTraits } from "../backend/traits.js";

export interface MemoryLimit {
  /** Bytes the backend can hold. */
  bytes: number;
  /** What bounds it. */
  is: "WASM heap" | "RAM" | "GPU memory";
  /** The backend it was read for. */
  backend: string;
  /** RAM free right now (informational: the check compares with `bytes`, which does not change under load). */
  freeBytes: number;
}

/** The limit of the active backend (call after `initBackend`). */
export function memoryLimit(): MemoryLimit {
  const traits = activeTraits();
  const ram = totalmem();
  const free = freemem();
  if (traits.heapLimitBytes !== null) {
    return { bytes: Math.min(traits.heapLimitBytes, ram), is: traits.name === "wasm" ? "WASM heap" : "RAM", backend: traits.name, freeBytes: free };
  }
  const gpu = backendInfo()?.devices.find((d) => d.kind === "gpu" && d.memoryBytes !== null);
  if (gpu) return { bytes: gpu.memoryBytes!, is: "GPU memory", backend: traits.name, freeBytes: free };
  return { bytes: ram, is: "RAM", backend: traits.name, freeBytes: free };
}
