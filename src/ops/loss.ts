/**
 * The causal-LM loss exactly as HF `PaliGemmaForConditionalGeneration.forward` (4.47) computes it:
 *
 *     shift_logits = logits[:, :-1]; shift_labels = labels[:, 1:]
 *     keep = attention_mask[:, 1:] != 0          # and label != -100 (CrossEntropyLoss ignore_index)
 *     loss = mean over kept positions of −log_softmax(shift_logits)[label]
 */
import { tf } from "../tf.js";

export const IGNORE_INDEX = -100;

/**
 * logits: float32[B,L,V], labels/attentionMask: host int arrays [B][L] → scalar loss (NaN when nothing is kept,
 * like PyTorch's mean over an empty set).
 */
export function causalLmLoss(logits: tf.Tensor, labels: Int32Array, attentionMask: Int32Array): tf.Tensor {
  const [B, L, V] = logits.shape as number[];
  const N = B * (L - 1);
  const target = new Int32Array(N);
  const keep = new Float32Array(N);
  let kept = 0;
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L - 1; l++) {
      const y = labels[b * L + l + 1];
      const ok = y !== IGNORE_INDEX && attentionMask[b * L + l + 1] !== 0;
      if (ok && (y < 0 || y >= V)) throw new Error(`loss: label ${y} at [${b}, ${l + 1}] is outside the vocabulary (${V})`);
      target[b * (L - 1) + l] = ok ? y : 0;
      keep[b * (L - 1) + l] = ok ? 1 : 0;
      kept += ok ? 1 : 0;
    }
  }
  return tf.tidy(() => {
    const shifted = tf.reshape(tf.slice(logits, [0, 0, 0], [B, L - 1, V]), [N, V]);
    const logp = tf.logSoftmax(shifted); // [N,V]
    const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(target, "int32"), V).toFloat()), -1); // [N]
    return tf.div(tf.neg(tf.sum(tf.mul(picked, tf.tensor1d(keep)))), kept);
  });
}
