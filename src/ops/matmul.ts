/**
 * Matrix products whose gradients use explicit transposes.
 *
 * TF.js's own `matMul` gradient calls `matMul(…, transposeA/B)`, which hits a slow path on the WASM backend
 * (measured here: 1.28 s vs 0.13 s for [512,768]×[768,3072]); an explicit `transpose` followed by a plain product is
 * ~10× faster there and identical in value. Every product in the model goes through these two functions.
 */
import { tf } from "../tf.js";
import { activeTraits } from "../backend/traits.js";
import { fitsOneTensor, rowBlocks } from "./row-blocks.js";

/** Swap the last two axes: [..., M, N] → [..., N, M]. */
export function swapLastAxes<T extends tf.Tensor>(x: T): T {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(x, perm) as T;
}

/**
 * a·b through the backend's faster 2-D kernel where it has one (traits `matMul2dKernel`: TF's MatMul on the native
 * backend, ~4× on one-row products), else `tf.matMul`. Records no gradient itself: used inside custom gradients
 * and where no tape is recording.
 */
function plainProduct(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const kernel = matMul2dKernelFor(a, b);
  return kernel ? (tf.engine().runKernel(kernel, { a, b }, {}) as tf.Tensor) : tf.matMul(a, b);
}

/**
 * a·bᵀ for a: [M,K], b: [N,K] where the backend's 2-D kernel reads b transposed itself (no [K,N] copy of b: for
 * the tied LM head that copy is the whole [V,D] embedding, per call); else an explicit transpose and a product.
 */
function plainProductT(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const kernel = matMul2dKernelFor(a, b);
  return kernel ? (tf.engine().runKernel(kernel, { a, b }, { transposeB: true }) as tf.Tensor) : plainProduct(a, swapLastAxes(b));
}

/** The backend's faster 2-D float32 product kernel when it applies to a and b (traits `matMul2dKernel`). */
function matMul2dKernelFor(a: tf.Tensor, b: tf.Tensor): string | null {
  const kernel = activeTraits().matMul2dKernel;
  return kernel && a.rank === 2 && b.rank === 2 && a.dtype === "float32" && b.dtype === "float32" ? kernel : null;
}

// tf.customGrad's typing takes (...inputs: (Tensor | GradSaveFunc)[]); the call shape is (a, b, save).
const productWithExplicitTransposeGrad = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: plainProduct(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      return [plainProduct(dy, swapLastAxes(sb)), plainProduct(swapLastAxes(sa), dy)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * WASM's BatchMatMul takes its fast (XNNPACK) path only for a batch of 1 (traits.batchedMatMulPerSlice); a batched
 * product such as attention's [1,4,963,64]×[1,4,64,321] falls to a naive loop (~1 GFLOP/s). There, a batch is done
 * as separate 2-D products (measured 8× faster on the bench model's attention).
 */
function productPerSlice(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const batch = a.shape.slice(0, -2);
    const [M, K] = a.shape.slice(-2) as number[];
    const N = b.shape[b.rank - 1]!;
    const n = batch.reduce((x, y) => x * y, 1);
    const as = tf.unstack(tf.reshape(a, [n, M, K]));
    const bs = tf.unstack(tf.reshape(b, [n, K, N]));
    const out = tf.stack(as.map((x, i) => productWithExplicitTransposeGrad(x, bs[i]) as tf.Tensor));
    return tf.reshape(out, [...batch, M, N]);
  });
}

/**
 * `a @ b` for a: float32[..., M, K], b: float32[..., K, N] with equal batch axes → float32[..., M, N].
 */
export function matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.rank !== b.rank || a.shape[a.rank - 1] !== b.shape[b.rank - 2]) {
    throw new Error(`matMul: shapes [${a.shape}] and [${b.shape}] do not chain (need [...,M,K] @ [...,K,N])`);
  }
  const traits = activeTraits();
  if (a.rank > 2 && traits.batchedMatMulPerSlice && a.size / (a.shape[a.rank - 1]! * a.shape[a.rank - 2]!) > 1) {
    return productPerSlice(a, b);
  }
  // no gradient being recorded (inference, decoding): the plain kernel, without customGrad's scope bookkeeping
  if (!recordingGradients()) return plainProduct(a, b);
  if (!traits.explicitTransposeMatMul) return tf.matMul(a, b); // own gradient: per needed input, transposes as flags
  return productWithExplicitTransposeGrad(a, b) as tf.Tensor;
}

/** Whether the engine is recording a tape right now (inside tf.grads / variableGrads, outside a kernel). */
export function recordingGradients(): boolean {
  return tf.engine().isTapeOn();
}

/**
 * `a @ bᵀ` for a: [..., M, K], b: [..., N, K] → [..., M, N] (the explicit transpose is part of the graph). A 2-D `b`
 * bigger than the backend's largest tensor (the tied LM head's [V,D] embedding on WebGPU) is used in row blocks:
 * the output's columns are the blocks' products side by side.
 */
export function matMulT(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (b.rank === 2 && !fitsOneTensor(b)) {
    return tf.tidy(() => tf.concat(rowBlocks(b).map(({ block }) => matMul(a, swapLastAxes(block))), -1)); // [..., M, Σ R_i = N]
  }
  // no tape (inference, decoding): the kernel reads b transposed itself (the tied LM head skips a copy of the
  // [V,D] embedding per forward; attention's q·kᵀ skips a Transpose of every cached key per layer and step); WASM's
  // per-slice path wants plain products
  if (!recordingGradients() && a.rank === 2 && b.rank === 2 && a.shape[1] === b.shape[1] && matMul2dKernelFor(a, b)) {
    return plainProductT(a, b);
  }
  if (!recordingGradients() && a.rank === b.rank && a.rank > 2 && !activeTraits().batchedMatMulPerSlice) {
    if (a.shape[a.rank - 1] !== b.shape[b.rank - 1]) throw new Error(`matMulT: shapes [${a.shape}] and [${b.shape}] do not chain (need [...,M,K] @ [...,N,K]ᵀ)`);
    return tf.matMul(a, b, false, true);
  }
  if (!activeTraits().explicitTransposeMatMul && a.rank === b.rank) return tf.matMul(a, b, false, true); // bᵀ as a flag
  return matMul(a, swapLastAxes(b));
}

/**
 * `a @ bᵀ` for a: float32[N, K] and a b: float32[V, K] that receives no gradient (a frozen weight: the tied LM
 * head under LoRA or QLoRA). The gradient flows to `a` only, as dA = dy·b (no transpose), and bᵀ is a temporary of
 * the forward, freed before it returns. `matMulT` instead keeps bᵀ until the backward pass ends and computes its
 * gradient too (its custom gradient returns both): for the real 3B config's [257216, 2304] embedding, 2 × 2.37 GB.
 */
export function matMulTFrozen(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[1]) {
    throw new Error(`matMulTFrozen: shapes [${a.shape}] and [${b.shape}] do not chain (need [N,K] @ [V,K]ᵀ)`);
  }
  if (!fitsOneTensor(b)) return matMulT(a, b); // row blocks: a split weight receives no gradient either
  const product = tf.customGrad(((x: tf.Tensor) => ({
    value: tf.tidy(() => plainProductT(x, b)), // [N,K]·[V,K]ᵀ; bᵀ (where a transpose is needed) freed here
    gradFunc: (dy: tf.Tensor) => plainProduct(dy, b), // [N,V]·[V,K]
  })) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
  return product(a);
}
