/**
 * The causal-LM loss exactly as HF `PaliGemmaForConditionalGeneration.forward` (4.47) computes it:
 *
 *     shift_logits = logits[:, :-1]; shift_labels = labels[:, 1:]
 *     keep = attention_mask[:, 1:] != 0          # and label != -100 (CrossEntropyLoss ignore_index)
 *     loss = mean over kept positions of −log_softmax(shift_logits)[label]
 *
 * Only the kept rows matter, so training computes logits for those rows alone (`lossRows` + `crossEntropy`):
 * for a 321-token PaliGemma sample with a 38-token suffix that is 39 rows of the vocabulary instead of 321.
 */
import { tf } from "../tf.js";
import { gatherRows } from "./gather.js";

export const IGNORE_INDEX = -100;

/** Positions that predict a kept label: rows (b·L + l) of the logits and the label each must predict. */
export interface LossRows {
  rows: Int32Array; // indices into the flattened [B·L] positions (the position before each kept label)
  targets: Int32Array; // label ids, same length
}

export function lossRows(labels: Int32Array, attentionMask: Int32Array, B: number, L: number, vocabSize: number): LossRows {
  const rows: number[] = [];
  const targets: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L - 1; l++) {
      const y = labels[b * L + l + 1];
      if (y === IGNORE_INDEX || attentionMask[b * L + l + 1] === 0) continue;
      if (y < 0 || y >= vocabSize) throw new Error(`loss: label ${y} at [${b}, ${l + 1}] is outside the vocabulary (${vocabSize})`);
      rows.push(b * L + l);
      targets.push(y);
    }
  }
  return { rows: Int32Array.from(rows), targets: Int32Array.from(targets) };
}

/**
 * Mean cross-entropy of rows of logits float32[K,V] against targets int32 host [K] → scalar (NaN when K = 0, like
 * PyTorch). Fused: the backward (softmax − one-hot)/K is recomputed from the saved logits, so no [K,V]
 * log-probability or one-hot tensor is kept for it.
 */
export function crossEntropy(logits: tf.Tensor, targets: Int32Array): tf.Tensor {
  const [K, V] = logits.shape as number[];
  const oneHot = () => tf.oneHot(tf.tensor1d(targets, "int32"), V).toFloat();
  const op = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
    save([z]);
    const value = tf.tidy(() => {
      const lse = tf.logSumExp(z, -1); // [K]
      const picked = tf.sum(tf.mul(z, oneHot()), -1); // [K]
      return tf.div(tf.sum(tf.sub(lse, picked)), K);
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, [sz]: tf.Tensor[]) => tf.tidy(() => tf.mul(tf.sub(tf.softmax(sz), oneHot()), tf.div(dy, K))),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(logits) as tf.Tensor;
}

/** The HF loss from full logits float32[B,L,V] and host labels/attention mask [B·L]. */
export function causalLmLoss(logits: tf.Tensor, labels: Int32Array, attentionMask: Int32Array): tf.Tensor {
  const [B, L, V] = logits.shape as number[];
  const { rows, targets } = lossRows(labels, attentionMask, B, L, V);
  return tf.tidy(() => crossEntropy(gatherRows(tf.reshape(logits, [B * L, V]), rows), targets));
}
