/**
 * Element-wise pieces of Gemma 2 and SigLIP, written as the papers/reference code state them.
 */
import { tf } from "../tf.js";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (`gelu_pytorch_tanh`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

/** Gemma 2 logit soft-capping: c·tanh(x / c) (attention c = 50, final c = 30; Gemma 2 report §2). */
export function softcap(x: tf.Tensor, cap: number): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.tanh(tf.div(x, cap)), cap));
}

/** Gemma RMSNorm: x · rsqrt(mean(x²) + eps) · (1 + w); the weight is stored as the offset from 1. */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), tf.add(1, w));
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
