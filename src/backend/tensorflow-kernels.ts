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

type OpAttr = { name: string; type: number; value: unknown };
type TensorMetadata = { id: number; shape: number[]; dtype: number };

/** The parts of tfjs-node's backend this file uses. */
interface NodeBackend {
  binding: {
    TF_ATTR_TYPE: number; TF_ATTR_BOOL: number; TF_ATTR_INT: number; TF_FLOAT: number; TF_INT32: number;
    /** Runs a TensorFlow op on raw handle ids; the caller deletes the outputs it does not wrap. */
    executeOp(name: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): TensorMetadata[];
    deleteTensor(id: number): void;
  };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.TensorInfo[]): tf.TensorInfo;
  /** The TensorFlow handle ids of TF.js tensors (made now for tensors still held as host arrays). */
  getInputTensorIds(tensors: tf.Tensor[]): number[];
  /** Wrap a raw output as a TF.js tensor (which then owns the handle). */
  createOutputTensor(metadata: TensorMetadata): tf.Tensor;
}

/** Register the kernels above for the `tensorflow` backend (idempotent). */
export function registerTensorflowKernels(): void {
  if (tf.getKernel(MATMUL_2D, "tensorflow")) return;
  tf.registerKernel({ kernelName: DEQUANTIZE_NF4, backendName: "tensorflow", kernelFunc: dequantizeNf4 });
  tf.registerKernel({ kernelName: SUM_OF_SQUARES, backendName: "tensorflow", kernelFunc: sumOfSquares });
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
 * Kernel name of Σx² over a whole float32 tensor, as a scalar, in one read-only pass: TensorFlow's `L2Loss`
 * (Σx²/2) times 2, exact (a power of two). Without it, Σ square(x) writes a full-size temporary first.
 */
export const SUM_OF_SQUARES = "PaliGemmaSumOfSquares";

const sumOfSquares: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const node = backend as unknown as NodeBackend;
  const T = [{ name: "T", type: node.binding.TF_ATTR_TYPE, value: node.binding.TF_FLOAT }];
  const half = node.executeSingleOutput("L2Loss", T, [x]) as tf.Tensor;
  const two = tf.scalar(2);
  try {
    return node.executeSingleOutput("Mul", T, [half, two]);
  } finally {
    tf.dispose([half, two]);
  }
};

/** TensorFlow's enum for uint16 (TF_DataType; tfjs-node's binding names only the types TF.js has). */
const TF_UINT16 = 17;

/**
 * NF4 words → float32[blocks, blockSize] with four TensorFlow ops (~2 ns per value on [3072, 768], op by op; the JS
 * loop takes ~3.8; the SIMD decoder lending its memory, quant/wasm-decode.ts, ~1.6 and is what host memory uses):
 *
 *     chunks = Cast<int32>(Bitcast<uint16>(words))                  # [W, 2]: bytes 0,1 and 2,3 (little-endian)
 *     vals   = GatherV2(table, chunks)                              # float32[W, 2, 4]: codes in element order
 *     out    = Reshape(vals, [blocks, blockSize]) · absmax[:, None]  # one float32 product per value
 *
 * The uint16 view is a type TF.js cannot hold, so the first two ops run on raw TensorFlow handles.
 */
const dequantizeNf4: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { words, table, absmax } = inputs as { words: tf.TensorInfo; table: tf.TensorInfo; absmax: tf.TensorInfo };
  const { blockSize } = attrs as unknown as { blockSize: number };
  const node = backend as unknown as NodeBackend;
  const { binding: b } = node;
  const type = (name: string, value: number) => ({ name, type: b.TF_ATTR_TYPE, value });
  const W = words.shape[0]!;
  const blocks = absmax.shape[0]!;
  if (W * 8 !== blocks * blockSize) throw new Error(`${DEQUANTIZE_NF4}: ${W} words hold ${W * 8} codes, ${blocks} blocks of ${blockSize} need ${blocks * blockSize}`);
  const [wordsId, tableId] = node.getInputTensorIds([words as tf.Tensor, table as tf.Tensor]);
  const halves = b.executeOp("Bitcast", [type("T", b.TF_INT32), type("type", TF_UINT16)], [wordsId!], 1)[0]!; // [W, 2] uint16
  const chunks = b.executeOp("Cast", [type("SrcT", TF_UINT16), type("DstT", b.TF_INT32), { name: "Truncate", type: b.TF_ATTR_BOOL, value: false }], [halves.id], 1)[0]!;
  b.deleteTensor(halves.id);
  const axis = tf.scalar(0, "int32");
  let values: tf.Tensor;
  try {
    const [axisId] = node.getInputTensorIds([axis]);
    const out = b.executeOp("GatherV2", [type("Tparams", b.TF_FLOAT), type("Tindices", b.TF_INT32), type("Taxis", b.TF_INT32),
      { name: "batch_dims", type: b.TF_ATTR_INT, value: 0 }], [tableId!, chunks.id, axisId!], 1)[0]!; // [W, 2, 4]
    values = node.createOutputTensor(out);
  } finally {
    b.deleteTensor(chunks.id);
    axis.dispose();
  }
  const byBlock = tf.reshape(values, [blocks, blockSize]);
  const scale = tf.reshape(absmax as tf.Tensor, [blocks, 1]);
  try {
    return node.executeSingleOutput("Mul", [type("T", b.TF_FLOAT)], [byBlock, scale]);
  } finally {
    tf.dispose([values, byBlock, scale]);
  }
};
