/**
 * Kernels the native TensorFlow backend (tfjs-node) takes from TensorFlow's own op set, registered when the package
 * is imported (backend traits' `afterImport`).
 *
 * tfjs-node runs every `tf.matMul` as TensorFlow's `BatchMatMulV2`, even for two matrices. On TF 2.21's CPU build
 * that op is slow for few rows, while the plain 2-D `MatMul` op is not (measured on the bench machine, 2 cores, CPU
 * time per product): [1,768]×[768,3072] 1086 → 261 µs, the tied LM head [1,768]×[768,34048] 12.8 → 6.3 ms,
 * [3,768]×[768,3072] 1122 → 701 µs, and equal or a little faster for large products ([282,768]×[768,3072]
 * 20.9 → 20.3 ms). A decoding step is made of such few-row products, so 2-D products go through `MatMul` here.
 *
 *     registerTensorflowKernels();
 *     tf.engine().runKernel(MATMUL_2D, { a, b }, {}); // float32[M,K] · float32[K,N] → float32[M,N]
 *     tf.engine().runKernel(MATMUL_2D, { a, b }, { transposeB: true }); // float32[M,K] · float32[N,K]ᵀ → [M,N]
 */
import { tf } from "../tf.js";

/**
 * Kernel name of the 2-D product (TensorFlow's `MatMul`); attrs `{ transposeB }` reads b as [N,K] (a·bᵀ without a
 * Transpose kernel). No gradient is registered: call it where no tape records.
 */
export const MATMUL_2D = "PaliGemmaMatMul2D";

/** The parts of tfjs-node's backend this file uses. */
interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.TensorInfo[]): tf.TensorInfo;
}

/** Register the kernels above for the `tensorflow` backend (idempotent). */
export function registerTensorflowKernels(): void {
  if (tf.getKernel(MATMUL_2D, "tensorflow")) return;
  tf.registerKernel({
    kernelName: MATMUL_2D,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend, attrs: given }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeB = false } = given as { transposeB?: boolean };
      const node = backend as unknown as NodeBackend;
      const attrs = [
        { name: "T", type: node.binding.TF_ATTR_TYPE, value: node.binding.TF_FLOAT },
        { name: "transpose_a", type: node.binding.TF_ATTR_BOOL, value: false },
        { name: "transpose_b", type: node.binding.TF_ATTR_BOOL, value: transposeB },
      ];
      return node.executeSingleOutput("MatMul", attrs, [a, b]);
    },
  });
}
