/**
 * What each TensorFlow.js backend is like, in one typed record per backend: where it comes from, where its tensors
 * live, which kernels it lacks, which fast paths it needs, what limits it has. Ops and selection read these traits;
 * nothing else compares backend names. A new backend is one entry here (and its name in `BACKEND_NAMES`).
 *
 *     import { activeTraits } from "../backend/traits.js";
 *     if (activeTraits().batchedMatMulPerSlice) ...;
 */
import { tf } from "../tf.js";
import { dawnAdapterReport, installDawnNavigator } from "./dawn.js";
import { fixWebGpuBackend } from "./webgpu-fixes.js";
import { DEQUANTIZE_NF4, MATMUL_2D, SUM_OF_SQUARES, registerTensorflowKernels } from "./tensorflow-kernels.js";

export type BackendName = "tensorflow" | "webgpu" | "wasm" | "cpu";
/** In the order selection tries them (fastest first). */
export const BACKEND_NAMES: readonly BackendName[] = ["tensorflow", "webgpu", "wasm", "cpu"];

/** A package that provides a backend. */
export interface BackendProvider {
  /** npm package name. */
  package: string;
  /** Optional packages are imported on demand; their absence is reported, not fatal. */
  optional: boolean;
  /** Why someone would (not) have it: shown when it is skipped. */
  note?: string;
  /** Environment defaults set (unless already set) before it is imported. */
  env?: Readonly<Record<string, string>>;
  /**
   * Runs before the package is imported; throws (with the reason) when the backend cannot or should not be used.
   * `asked` is false during automatic selection (a backend may decline then, e.g. WebGPU on a software adapter).
   */
  prepare?: (asked: boolean) => Promise<void>;
  /** Runs with the imported package (e.g. to fix a method that cannot work in Node). */
  afterImport?: (module: unknown) => void;
}

export interface BackendTraits {
  /** A `BackendName`, or an engine backend this library does not select (see `activeTraits`). */
  name: string;
  /** Providers, tried in order. Bundled backends (registered by importing `src/tf.ts`) have one non-optional entry. */
  providers: readonly BackendProvider[];
  /**
   * Where tensors live. "host": `dataSync()` is a copy from process memory (quantized weights are fastest decoded
   * on the host); "device": readbacks cross a bus (decode with TF.js ops instead).
   */
  memory: "host" | "device";
  /** Kernels it lacks that the library would otherwise use (the op takes another route; see `lacksKernel`). */
  missingKernels: readonly string[];
  /** Kernels it has but gets wrong on inputs the model produces (the op takes another route; see `avoidsKernel`). */
  unreliableKernels: readonly string[];
  /** BatchMatMul is fast only for a batch of 1 (WASM's XNNPACK path): batched products run as 2-D slices. */
  batchedMatMulPerSlice: boolean;
  /**
   * Products and their gradients use explicit transposes (`ops/matmul.ts`): WASM's MatMul with transposeA/B is slow
   * (1.28 s vs 0.13 s for [512,768]×[768,3072]). false: TF.js's own MatMul gradient, which runs only for the inputs
   * that need one (no weight gradient for a frozen weight) and passes transposes as flags (no copies).
   */
  explicitTransposeMatMul: boolean;
  /**
   * A kernel for float32 [M,K]·[K,N] faster than `tf.matMul`'s BatchMatMul, registered by `afterImport`
   * (tensorflow-kernels.ts: TF's 2-D MatMul, ~4× on a decoding step's one-row products); null: use `tf.matMul`.
   */
  matMul2dKernel: string | null;
  /** A kernel for Σx² of a float32 tensor in one read-only pass (tensorflow-kernels.ts); null: sum(square(x)). */
  sumOfSquaresKernel: string | null;
  /**
   * A kernel that dequantizes NF4 words in native code, registered by `afterImport` (tensorflow-kernels.ts: TF ops).
   * QuantLinear uses it where tensors live on a device, or when asked (`dequantizePath = "kernel"`); on host memory
   * its own SIMD decoder is faster (no float32 allocation per layer). null: the host or op-by-op path.
   */
  nf4DequantKernel: string | null;
  /**
   * A tensor made from a Float32Array keeps that very array as its storage (cpu stores it; tfjs-node wraps its bytes
   * in the TensorFlow tensor, no copy): the maker may read the values back from its array instead of `dataSync()`
   * (a copy on tfjs-node) and must never write to it again.
   */
  tensorKeepsHostArray: boolean;
  /** Identity copies the tensor's bytes (WASM): selection swaps in an Identity that shares data by refcount. */
  identityCopies: boolean;
  /** Largest addressable memory for tensors, bytes; null when bounded only by the machine (RAM or GPU memory). */
  heapLimitBytes: number | null;
  /** A whole-model fine-tune of the bench `small` model needs gradient checkpointing to fit (WASM's 4 GiB heap). */
  needsCheckpointingForSmall: boolean;
  /**
   * Largest single tensor, bytes (a GPU buffer the shaders can bind), read from the running device; null when only
   * memory bounds it. Bigger tables (the 257216×2304 embedding: 2.37 GB) are used as row blocks (`ops/row-blocks.ts`).
   */
  maxTensorBytes: (() => number) | null;
}

const GiB = 1024 ** 3;

/** The native TF backend's two packages: both optional (their own install downloads libtensorflow 2.9.1). */
const TFJS_NODE_GPU_NOTE =
  "needs CUDA 11.2 + cuDNN 8.1 (libtensorflow 2.9.1); `npm run setup:native -- --gpu` builds @tensorflow/tfjs-node " +
  "against PyPI's CUDA 12 TensorFlow instead";
const TFJS_NODE_NOTE = "`npm run setup:native` installs it and builds its binding against PyPI's TensorFlow 2.21";
/** Hides TensorFlow's CPU-feature banner at load (the oneDNN line is logged before TF reads this; it stays). */
const QUIET_TF = { TF_CPP_MIN_LOG_LEVEL: "1" };
const WEBGPU_NOTE = "`npm run setup:webgpu` installs it with Dawn (npm's `webgpu`)";

/** Dawn's adapter, chosen before tfjs-backend-webgpu loads; a software adapter (llvmpipe) only when asked for. */
async function prepareDawn(asked: boolean): Promise<void> {
  const a = await installDawnNavigator();
  const software = /llvmpipe|lavapipe|swiftshader|softpipe/i.test(`${a.device} ${a.description}`);
  if (software && !asked) {
    throw new Error(`the only adapter is a software one (${a.device}, ${a.backend}): used only when asked for (PALIGEMMA_BACKEND=webgpu)`);
  }
}

export const BACKEND_TRAITS: Readonly<Record<BackendName, BackendTraits>> = {
  tensorflow: {
    name: "tensorflow",
    providers: [
      { package: "@tensorflow/tfjs-node-gpu", optional: true, note: TFJS_NODE_GPU_NOTE, env: QUIET_TF, afterImport: registerTensorflowKernels },
      { package: "@tensorflow/tfjs-node", optional: true, note: TFJS_NODE_NOTE, env: QUIET_TF, afterImport: registerTensorflowKernels },
    ],
    memory: "host", // tfjs-node's tensors are TFE handles in process memory (CPU) and `dataSync` copies them out
    missingKernels: ["BitwiseAnd"], // quantized words are unpacked with a floor-mod instead
    unreliableKernels: [],
    batchedMatMulPerSlice: false,
    explicitTransposeMatMul: false,
    matMul2dKernel: MATMUL_2D,
    nf4DequantKernel: DEQUANTIZE_NF4,
    sumOfSquaresKernel: SUM_OF_SQUARES,
    tensorKeepsHostArray: true, // binding/tfjs_backend.cc: TF_NewTensor over the typed array's memory
    identityCopies: false,
    heapLimitBytes: null,
    needsCheckpointingForSmall: false,
    maxTensorBytes: null,
  },
  webgpu: {
    name: "webgpu",
    providers: [{ package: "@tensorflow/tfjs-backend-webgpu", optional: true, note: WEBGPU_NOTE, prepare: prepareDawn, afterImport: fixWebGpuBackend }],
    memory: "device",
    missingKernels: ["BitwiseAnd"], // quantized words are unpacked with a floor-mod instead
    unreliableKernels: ["Softmax"], // NaN for a fully masked row (ops/softmax.ts)
    batchedMatMulPerSlice: false,
    explicitTransposeMatMul: false,
    matMul2dKernel: null,
    nf4DequantKernel: null,
    sumOfSquaresKernel: null,
    tensorKeepsHostArray: false,
    identityCopies: false,
    heapLimitBytes: null,
    needsCheckpointingForSmall: false,
    // A storage binding is the tighter limit (llvmpipe's OpenGL ES: 128 MiB binding, 2 GiB buffer).
    maxTensorBytes: () => {
      const a = dawnAdapterReport();
      return a ? Math.min(a.maxBufferSize, a.maxStorageBufferBindingSize) : Infinity;
    },
  },
  wasm: {
    name: "wasm",
    providers: [{ package: "@tensorflow/tfjs-backend-wasm", optional: false }],
    memory: "host",
    missingKernels: ["UnsortedSegmentSum"], // tf.gather's gradient
    unreliableKernels: [],
    batchedMatMulPerSlice: true, // measured 8× on the bench model's attention ([1,4,963,64]×[1,4,64,321])
    explicitTransposeMatMul: true,
    matMul2dKernel: null,
    nf4DequantKernel: null,
    sumOfSquaresKernel: null,
    tensorKeepsHostArray: false, // copied into the WASM heap
    identityCopies: true,
    heapLimitBytes: 4 * GiB, // wasm32
    needsCheckpointingForSmall: true,
    maxTensorBytes: null, // the heap limit bounds it
  },
  cpu: {
    name: "cpu",
    providers: [{ package: "@tensorflow/tfjs-backend-cpu", optional: false }],
    memory: "host",
    missingKernels: [],
    unreliableKernels: [],
    batchedMatMulPerSlice: false,
    explicitTransposeMatMul: true, // unchanged on the pure-JS reference backend (not measured there)
    matMul2dKernel: null,
    nf4DequantKernel: null,
    sumOfSquaresKernel: null,
    tensorKeepsHostArray: true,
    identityCopies: false,
    heapLimitBytes: null,
    needsCheckpointingForSmall: false,
    maxTensorBytes: null,
  },
};

/** Traits of a backend by name. */
export function traitsOf(name: BackendName): BackendTraits {
  return BACKEND_TRAITS[name];
}

/**
 * Traits of the backend active on the engine. An engine backend this library did not register (e.g. "webgl" set by
 * hand) is treated as device memory with no known gaps.
 */
export function activeTraits(): BackendTraits {
  const name = tf.getBackend();
  if (name in BACKEND_TRAITS) return BACKEND_TRAITS[name as BackendName];
  return { ...BACKEND_TRAITS.cpu, name, providers: [], memory: "device" };
}

let tensorBytesOverride: number | null = null;

/**
 * Lower the largest-tensor limit of every backend (null: back to each backend's own). Tests use it to exercise the
 * row-block split on the cpu backend; `PALIGEMMA_MAX_TENSOR_BYTES=N` does the same from the environment.
 */
export function setMaxTensorBytes(bytes: number | null): void {
  if (bytes !== null && !(Number.isInteger(bytes) && bytes >= 4)) {
    throw new Error(`setMaxTensorBytes: got ${bytes}; use a whole number of bytes ≥ 4, or null for the backend's own limit`);
  }
  tensorBytesOverride = bytes;
}

/** Largest single tensor on the active backend, bytes; Infinity when only memory bounds it (see `maxTensorBytes`). */
export function tensorByteLimit(): number {
  if (tensorBytesOverride !== null) return tensorBytesOverride;
  const env = Number(process.env.PALIGEMMA_MAX_TENSOR_BYTES);
  const own = activeTraits().maxTensorBytes?.() ?? Infinity;
  return Number.isInteger(env) && env >= 4 ? Math.min(env, own) : own;
}

/** True when the active backend has a kernel the library must not use (see `unreliableKernels`). */
export function avoidsKernel(kernelName: string): boolean {
  return activeTraits().unreliableKernels.includes(kernelName);
}

/** True when the active backend lacks a kernel (so the op must take its fallback route). */
export function lacksKernel(kernelName: string): boolean {
  return activeTraits().missingKernels.includes(kernelName);
}
