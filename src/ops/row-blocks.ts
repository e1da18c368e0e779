/**
 * Tables too big for one tensor, used as row blocks.
 *
 * A WebGPU tensor is one GPU buffer, and a shader binds at most `maxStorageBufferBindingSize` bytes of it (128 MiB on
 * llvmpipe's OpenGL ES; a few GiB on NVIDIA's Vulkan): PaliGemma 2's 257216×2304 float32 embedding is 2.37 GB. Where
 * a table exceeds the active backend's `tensorByteLimit()` (backend traits), its embedding gather (`ops/gather.ts`)
 * and its tied LM-head product (`ops/matmul.ts`) run block by block over rows, each block within the limit.
 *
 * Where the blocks come from:
 *   - host-memory backends (cpu, wasm, tensorflow; a limit there is only ever a test's), and computed tensors
 *     anywhere (an activation on the device already fits its buffer): `tf.slice` of the table, recorded on the tape,
 *     so gradients reach the table exactly as without blocks;
 *   - weights (`tf.Variable`) on device-memory backends (webgpu): the table must never be uploaded whole (that
 *     buffer cannot exist), so blocks are made from its host copy (a checkpoint's weights are on the host until first
 *     used) and cached per variable until it is disposed or reassigned. No gradient reaches the variable through them
 *     (frozen embeddings: LoRA, QLoRA, frozen-embedding fine-tunes); its other parameters train as usual.
 *
 *     const blocks = rowBlocks(table);   // [table] when it fits; else float32[≤R,D] pieces, R = ⌊limit / (D·4)⌋
 */
import { tf } from "../tf.js";
import { activeTraits, tensorByteLimit } from "../backend/traits.js";

const BYTES_PER_ELEMENT = 4; // float32 and int32: the dtypes tables have here

/** Does `t` fit in one tensor on the active backend? */
export function fitsOneTensor(t: tf.Tensor): boolean {
  return t.size * BYTES_PER_ELEMENT <= tensorByteLimit();
}

/** Rows per block for a [V,D] table under the active limit (≥ 1). */
export function rowsPerBlock(table: tf.Tensor): number {
  const D = table.shape[1]!;
  const rows = Math.floor(tensorByteLimit() / (D * BYTES_PER_ELEMENT));
  if (rows < 1) {
    throw new Error(`rowsPerBlock: one row of [${table.shape}] (${D * BYTES_PER_ELEMENT} bytes) exceeds the backend's ` +
      `largest tensor (${tensorByteLimit()} bytes)`);
  }
  return rows;
}

/** Cached device blocks per table (device-memory backends only). */
const deviceBlocks = new Map<tf.Tensor, { dataId: object; blocks: tf.Tensor[] }>();

/** Free the blocks of tables that were disposed or reassigned since. */
function sweep(): void {
  for (const [table, entry] of deviceBlocks) {
    if (table.isDisposed || table.dataId !== entry.dataId) {
      tf.dispose(entry.blocks);
      deviceBlocks.delete(table);
    }
  }
}

/** Free every cached device block now (e.g. before measuring memory); they are rebuilt on next use. */
export function releaseRowBlocks(): void {
  for (const { blocks } of deviceBlocks.values()) tf.dispose(blocks);
  deviceBlocks.clear();
}

/**
 * table: float32[V,D] → its row blocks {start, block: float32[R_i,D]} covering rows 0..V in order; the table itself
 * when it fits. Host-memory backends: fresh slices (call inside `tf.tidy`). Device: cached, owned here.
 */
export function rowBlocks(table: tf.Tensor): { start: number; block: tf.Tensor }[] {
  if (table.rank !== 2) throw new Error(`rowBlocks: need a [V,D] table, got [${table.shape}]`);
  if (fitsOneTensor(table)) return [{ start: 0, block: table }];
  const [V, D] = table.shape as [number, number];
  const R = rowsPerBlock(table);
  const starts = Array.from({ length: Math.ceil(V / R) }, (_, i) => i * R);
  // A computed tensor (activations) already sits in one buffer on the device, so it slices there, on the tape.
  if (activeTraits().memory === "host" || !(table instanceof tf.Variable)) {
    return starts.map((s) => ({ start: s, block: tf.slice(table, [s, 0], [Math.min(R, V - s), D]) }));
  }
  sweep();
  let entry = deviceBlocks.get(table);
  if (!entry) {
    const host = table.dataSync() as Float32Array; // the host copy; webgpu refuses if the table already left the host
    const blocks = starts.map((s) => tf.keep(tf.tensor2d(host.subarray(s * D, Math.min(s + R, V) * D), [Math.min(R, V - s), D], table.dtype)));
    entry = { dataId: table.dataId, blocks };
    deviceBlocks.set(table, entry);
  }
  return entry.blocks.map((block, i) => ({ start: starts[i]!, block }));
}
