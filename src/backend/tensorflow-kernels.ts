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

/**
 * Kernel name of NF4 dequantization (see {@link registerTensorflowKernels}): inputs `words` int32[W] (8 packed codes
 * per word, little-endian bytes, element 2i in a byte's high nibble), `table` float32[65536, 4] (a 16-bit chunk → its
 * 4 NF4 code values), `absmax` float32[blocks]; attrs `{ blockSize }`. Output float32[blocks, blockSize] =
 * code · absmax of its block, each product rounded once to float32 (bitsandbytes' `dequantize_4bit`).
 */
export const DEQUANTIZE_NF4 = "PaliGemmaDequantizeNf4";

/** The parts of tfjs-node's backend this file uses. */
interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_ATTR_INT: number; TF_FLOAT: number; TF_INT32: number };
  executeSingleOutput(name: string, attrs: { name: string; type: number; value: unknown }[], inputs: tf.TensorInfo[]): tf.TensorInfo;
}

/** Register the kernels above for the `tensorflow` backend (idempotent). */
export function registerTensorflowKernels(): void {
  if (tf.getKernel(MATMUL_2D, "tensorflow")) return;
  tf.registerKernel({ kernelName: DEQUANTIZE_NF4, backendName: "tensorflow", kernelFunc: dequantizeNf4 });
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

/**
 * NF4 words → float32[blocks, blockSize] with five TensorFlow ops, all multi-threaded where TF threads them (the
 * host loop it replaces is single-threaded JavaScript):
 *
 *     low  = words & 0xFFFF;  high = (words >> 16) & 0xFFFF          # 16-bit chunks: bytes 0,1 and 2,3, int32[W]
 *     vals = GatherV2(table, Pack([low, high], axis 1))             # float32[W, 2, 4]: codes in element order
 *     out  = Reshape(vals, [blocks, blockSize]) · absmax[:, None]   # one float32 product per value
 */
const dequantizeNf4: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { words, table, absmax } = inputs as { words: tf.TensorInfo; table: tf.TensorInfo; absmax: tf.TensorInfo };
  const { blockSize } = attrs as unknown as { blockSize: number };
  const node = backend as unknown as NodeBackend;
  const { TF_ATTR_TYPE, TF_ATTR_INT, TF_FLOAT, TF_INT32 } = node.binding;
  const T = (dtype: number) => ({ name: "T", type: TF_ATTR_TYPE, value: dtype });
  const temps: tf.TensorInfo[] = [];
  const run = (op: string, attrs: { name: string; type: number; value: unknown }[], ins: tf.TensorInfo[]) => {
    const out = node.executeSingleOutput(op, attrs, ins);
    temps.push(out);
    return out;
  };
  const mask = tf.scalar(0xffff, "int32");
  const sixteen = tf.scalar(16, "int32");
  const W = words.shape[0]!;
  const blocks = absmax.shape[0]!;
  try {
    const low = run("BitwiseAnd", [T(TF_INT32)], [words, mask]);
    const high = run("BitwiseAnd", [T(TF_INT32)], [run("RightShift", [T(TF_INT32)], [words, sixteen]), mask]);
    const chunks = run("Pack", [T(TF_INT32), { name: "N", type: TF_ATTR_INT, value: 2 }, { name: "axis", type: TF_ATTR_INT, value: 1 }], [low, high]);
    const axis = tf.scalar(0, "int32");
    temps.push(axis);
    const values = run("GatherV2", [
      { name: "Tparams", type: TF_ATTR_TYPE, value: TF_FLOAT },
      { name: "Tindices", type: TF_ATTR_TYPE, value: TF_INT32 },
      { name: "Taxis", type: TF_ATTR_TYPE, value: TF_INT32 },
      { name: "batch_dims", type: TF_ATTR_INT, value: 0 },
    ], [table, chunks, axis]); // [W, 2, 4]
    if (W * 8 !== blocks * blockSize) throw new Error(`${DEQUANTIZE_NF4}: ${W} words hold ${W * 8} codes, ${blocks} blocks of ${blockSize} need ${blocks * blockSize}`);
    const byBlock = tf.reshape(values as tf.Tensor, [blocks, blockSize]);
    const scale = tf.reshape(absmax as tf.Tensor, [blocks, 1]);
    temps.push(byBlock, scale);
    return node.executeSingleOutput("Mul", [T(TF_FLOAT)], [byBlock, scale]);
  } finally {
    tf.dispose([mask, sixteen, ...(temps as tf.Tensor[])]);
  }
};
