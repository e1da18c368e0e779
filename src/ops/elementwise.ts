/**
 * Element-wise pieces of Gemma 2 and SigLIP, written as the papers/reference code state them.
 */
import { tf } from "../tf.js";
import type { Activation } from "../config/types.js";
import { recordingGradients } from "./matmul.js";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

type Unary = (x: tf.Tensor) => tf.Tensor;

/** An element-wise op whose backward keeps only what it names (TF.js would keep every intermediate). */
function elementwiseWithGrad(forward: (x: tf.Tensor) => tf.Tensor, derivative: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor): Unary {
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = forward(x);
    save([x, y]);
    return { value: y, gradFunc: (dy: tf.Tensor, [sx, sy]: tf.Tensor[]) => tf.mul(dy, derivative(sx, sy)) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x) => (recordingGradients() ? (op(x) as tf.Tensor) : forward(x)); // no tape: skip customGrad's scope
}

/**
 * GELU, tanh approximation (`gelu_pytorch_tanh`): 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³).
 * Backward: 0.5·(1 + t) + 0.5·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), t = tanh(u), recomputed from x, so training
 * keeps one tensor per activation instead of five.
 */
export const geluTanh: Unary = elementwiseWithGrad(
  (x) =>
    tf.tidy(() => {
      const inner = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.mul(tf.square(x), x)))); // x·x·x as torch's kernel
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
    }),
  (x) =>
    tf.tidy(() => {
      const x2 = tf.square(x);
      const t = tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.mul(x, tf.add(1, tf.mul(0.044715, x2)))));
      const dInner = tf.mul(SQRT_2_OVER_PI, tf.add(1, tf.mul(3 * 0.044715, x2)));
      return tf.add(tf.mul(0.5, tf.add(1, t)), tf.mul(tf.mul(0.5, x), tf.mul(tf.sub(1, tf.square(t)), dInner)));
    }),
);

/**
 * GELU, exact (`gelu`, PyTorch's default `approximate="none"`): 0.5·x·(1 + erf(x/√2)).
 * Backward: Φ(x) + x·φ(x) = 0.5·(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π), recomputed from x.
 */
export const geluExact: Unary = elementwiseWithGrad(
  (x) => tf.tidy(() => tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))),
  (x) =>
    tf.tidy(() => {
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
      const pdf = tf.mul(1 / Math.sqrt(2 * Math.PI), tf.exp(tf.mul(-0.5, tf.square(x))));
      return tf.add(cdf, tf.mul(x, pdf));
    }),
);

/** The op of each activation a config may name (config/fields.ts `ACTIVATIONS`; the type makes this total). */
const ACTIVATION_OPS: Record<Activation, Unary> = { gelu_pytorch_tanh: geluTanh, gelu: geluExact };

/** The element-wise op for a config's `hidden_act` / `hidden_activation`. */
export function activation(name: Activation): Unary {
  return ACTIVATION_OPS[name];
}

const softcapOps = new Map<number, Unary>();

/**
 * Gemma 2 logit soft-capping: c·tanh(x / c) (attention c = 50, final c = 30; Gemma 2 report §2).
 * Backward 1 − (y/c)² from the saved output.
 */
export function softcap(x: tf.Tensor, cap: number): tf.Tensor {
  let op = softcapOps.get(cap);
  if (!op) {
    op = elementwiseWithGrad(
      (v) => tf.tidy(() => tf.mul(tf.tanh(tf.div(v, cap)), cap)),
      (_v, y) => tf.tidy(() => tf.sub(1, tf.square(tf.div(y, cap)))),
    );
    softcapOps.set(cap, op);
  }
  return op(x);
}

/**
 * Gemma RMSNorm: x · rsqrt(mean(x²) + eps) · (1 + w); the weight is stored as the offset from 1. The mean is written
 * as sum / D, which is how TensorFlow's Mean computes it, without the float32 Cast tfjs-node's Mean kernel adds.
 * `onePlusW` (1 + w, precomputed by a decoder that runs many steps with frozen weights) saves that add per call.
 */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number, onePlusW: tf.Tensor | null = null): tf.Tensor {
  return tf.tidy(() => {
    const ms = tf.div(tf.sum(tf.square(x), -1, true), x.shape[x.rank - 1]!);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), onePlusW ?? tf.add(1, w));
  });
}

/** LayerNorm with biased variance (PyTorch `nn.LayerNorm`): (x − μ) / √(σ² + eps) · γ + β. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const mu = tf.mean(x, -1, true);
    const centered = tf.sub(x, mu);
    const variance = tf.mean(tf.square(centered), -1, true);
    return tf.add(tf.mul(tf.div(centered, tf.sqrt(tf.add(variance, eps))), gamma), beta);
  });
}
