/**
 * Softmax over the last axis that keeps HF's answer for a fully masked row (every score float32 min: uniform, not
 * NaN). tfjs-backend-webgpu's Softmax kernel gives NaN for such a row (measured on 4.22: [min, min, min, min] →
 * NaN ×4), which padded rows under a sliding window produce; a backend whose traits list Softmax among
 * `unreliableKernels` gets the composite exp(x − max) / Σ instead, with the same gradient by autodiff.
 */
import { tf } from "../tf.js";
import { avoidsKernel } from "../backend/traits.js";

/** x: float32[..., N] → float32[..., N], rows summing to 1. */
export function softmax(x: tf.Tensor): tf.Tensor {
  if (!avoidsKernel("Softmax")) return tf.softmax(x);
  return tf.tidy(() => {
    const e = tf.exp(tf.sub(x, tf.max(x, -1, true))); // the row max is finite (float32 min at worst): exp(0) = 1 there
    return tf.div(e, tf.sum(e, -1, true));
  });
}
