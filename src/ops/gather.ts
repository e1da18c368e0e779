/**
 * Row gathers that train on every backend.
 *
 * `tf.gather`'s gradient needs the `UnsortedSegmentSum` kernel, which the WASM backend lacks (backend traits). Where it is missing,
 * the gradient is a scatter-add done on the host: O(N·D) work into the dense [V,D] gradient, instead of a one-hot
 * matmul of O(V·N·D).
 */
import { tf } from "../tf.js";
import { lacksKernel } from "../backend/traits.js";

/** table: float32[V,D], indices: int32[N] (host array) → float32[N,D]. */
export function gatherRows(table: tf.Tensor, indices: Int32Array): tf.Tensor {
  const [V, D] = table.shape as number[];
  for (const i of indices) {
    if (i < 0 || i >= V) throw new Error(`gatherRows: index ${i} is outside the table's ${V} rows`);
  }
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
