/**
 * Row gathers that train on every backend.
 *
 * `tf.gather`'s gradient needs the `UnsortedSegmentSum` kernel, which the WASM backend lacks (backend traits). Where it is missing,
 * the gradient is a scatter-add done on the host: O(N·D) work into the dense [V,D] gradient, instead of a one-hot
 * matmul of O(V·N·D).
 *
 * A table bigger than the backend's largest tensor (WebGPU's buffer limits; the 2.37 GB embedding) is gathered block
 * by block over its rows (`ops/row-blocks.ts`), then the rows are put back in the order asked.
 */
import { tf } from "../tf.js";
import { lacksKernel } from "../backend/traits.js";
import { fitsOneTensor, rowBlocks } from "./row-blocks.js";

/** table: float32[V,D], indices: int32[N] (host array) → float32[N,D]. */
export function gatherRows(table: tf.Tensor, indices: Int32Array): tf.Tensor {
  const V = table.shape[0]!;
  for (const i of indices) {
    if (i < 0 || i >= V) throw new Error(`gatherRows: index ${i} is outside the table's ${V} rows`);
  }
  return fitsOneTensor(table) ? gatherWhole(table, indices) : gatherBlocked(table, indices);
}

/**
 * Per row block, the rows asked from it (block order), then one gather of those N rows back into the asked order.
 * table: float32[V,D] → float32[N,D].
 */
function gatherBlocked(table: tf.Tensor, indices: Int32Array): tf.Tensor {
  return tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    const order = new Int32Array(indices.length); // order[n] = where row n landed in the concatenation
    let placed = 0;
    for (const { start, block } of rowBlocks(table)) {
      const end = start + block.shape[0]!;
      const local: number[] = [];
      for (let n = 0; n < indices.length; n++) {
        if (indices[n]! >= start && indices[n]! < end) (order[n] = placed++), local.push(indices[n]! - start);
      }
      if (local.length) parts.push(gatherWhole(block, Int32Array.from(local))); // [n_b, D]
    }
    const rows = parts.length === 1 ? parts[0]! : tf.concat(parts, 0); // [N, D], block order
    return gatherWhole(rows, order);
  });
}

/** One gather from a table that fits in one tensor. */
function gatherWhole(table: tf.Tensor, indices: Int32Array): tf.Tensor {
  const [V, D] = table.shape as number[];
  if (!lacksKernel("UnsortedSegmentSum")) {
    return tf.tidy(() => tf.gather(table, tf.tensor1d(indices, "int32")));
  }
  const op = tf.customGrad(((t: tf.Tensor) => ({
    value: tf.tidy(() => tf.gather(t, tf.tensor1d(indices, "int32"))),
    gradFunc: (dy: tf.Tensor) => {
      const g = dy.dataSync() as Float32Array;
      const out = new Float32Array(V * D);
      for (let n = 0; n < indices.length; n++) {
        const src = n * D;
        const dst = indices[n] * D;
        for (let j = 0; j < D; j++) out[dst + j] += g[src + j];
      }
      return tf.tensor2d(out, [V, D]);
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(table) as tf.Tensor;
}
