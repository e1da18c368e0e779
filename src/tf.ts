/**
 * The one TensorFlow.js namespace the library uses. Callers make tensors with this `tf` so they live on the same
 * engine as the model's variables:
 *
 *     import { tf } from "paligemma-ts";
 *     const ids = tf.tensor2d([[2, 10, 108]], [1, 3], "int32");
 *
 * `@tensorflow/tfjs` (not bare tfjs-core) is imported because its bundle registers the gradient functions that
 * training needs; the WASM backend registers itself on import. Native backends are loaded on demand by
 * `backend/select.ts`, never at import time (this module has no top-level await, so CommonJS `require` works).
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

export { tf };
export type Tensor = tf.Tensor;
export type Variable = tf.Variable;
