/**
 * Peak-memory sampling while synchronous TF.js work blocks the event loop.
 *
 * - TF.js-tracked bytes (`tf.memory().numBytes`): the engine's `trackTensor` is wrapped so that every tensor
 *   registration updates a running maximum. This catches intermediates that live only inside a `tf.tidy` and
 *   costs one comparison per tensor. (TF.js counts a reshape view's bytes again, so this can exceed the real
 *   buffer total; it is what `tf.memory()` reports.)
 * - Process RSS: a `worker_threads` worker polls `process.memoryUsage.rss()` (process-wide) every 5 ms into a
 *   SharedArrayBuffer, since a timer on the main thread cannot fire during a synchronous forward.
 * - WASM heap (wasm backend only): the Emscripten heap size. It only grows, so its value after a measurement
 *   is that measurement's peak (and every earlier one's too).
 *
 *     const mem = MemorySampler.start();
 *     mem.reset(); work(); const peak = mem.peak(); // { tfBytes, rssBytes, wasmHeapBytes }
 *     mem.stop();
 */
import { Worker } from "node:worker_threads";
import { tf } from "../src/tf.js";

export interface MemoryPeak {
  /** Peak of `tf.memory().numBytes` since the last reset. */
  tfBytes: number;
  /** Peak process resident set size since the last reset (5 ms polling, plus samples at reset and read). */
  rssBytes: number;
  /** Size of the WASM backend's heap now (monotone), or null on other backends. */
  wasmHeapBytes: number | null;
}

/** Worker body: keep slot 0 of the shared Int32Array at max(slot 0, RSS in KiB) until told to stop (slot 1). */
const RSS_WORKER = `
const { workerData } = require("node:worker_threads");
const cells = new Int32Array(workerData);
const tick = () => {
  const kib = Math.round(process.memoryUsage.rss() / 1024);
  let cur = Atomics.load(cells, 0);
  while (kib > cur) {
    const seen = Atomics.compareExchange(cells, 0, cur, kib);
    if (seen === cur) break;
    cur = seen;
  }
  if (Atomics.load(cells, 1) === 0) setTimeout(tick, 5);
};
tick();
`;

interface EngineInternals {
  state: { numBytes: number };
  trackTensor: (t: unknown, backend: unknown) => void;
}

/** The live Emscripten heap size of the WASM backend, or null when the active backend is not wasm. */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== "wasm") return null;
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return wasm?.HEAPU8?.buffer.byteLength ?? null;
}

export class MemorySampler {
  private tfPeak = 0;
  private readonly restoreEngine: () => void;

  private constructor(
    private readonly cells: Int32Array,
    private readonly worker: Worker,
  ) {
    const engine = tf.engine() as unknown as EngineInternals;
    const original = engine.trackTensor;
    engine.trackTensor = (t, backend) => {
      original.call(engine, t, backend);
      if (engine.state.numBytes > this.tfPeak) this.tfPeak = engine.state.numBytes;
    };
    this.restoreEngine = () => {
      engine.trackTensor = original;
    };
  }

  /** Install the engine hook and start the RSS worker. Call `stop()` when done (the worker is unref'd anyway). */
  static start(): MemorySampler {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(RSS_WORKER, { eval: true, workerData: cells.buffer });
    worker.unref();
    return new MemorySampler(cells, worker);
  }

  private sampleRss(): void {
    const kib = Math.round(process.memoryUsage.rss() / 1024);
    if (kib > Atomics.load(this.cells, 0)) Atomics.store(this.cells, 0, kib);
  }

  /** Forget earlier peaks: both counters restart from the current level. */
  reset(): void {
    this.tfPeak = tf.memory().numBytes;
    Atomics.store(this.cells, 0, 0);
    this.sampleRss();
  }

  /** Peaks since the last `reset()`. */
  peak(): MemoryPeak {
    this.sampleRss();
    return { tfBytes: this.tfPeak, rssBytes: Atomics.load(this.cells, 0) * 1024, wasmHeapBytes: wasmHeapBytes() };
  }

  /** Remove the engine hook and end the worker. */
  async stop(): Promise<void> {
    this.restoreEngine();
    Atomics.store(this.cells, 1, 1);
    await this.worker.terminate();
  }
}
