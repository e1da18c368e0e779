/**
 * Per-patch heads of the nano pretraining (dense supervision of the image features the decoder reads).
 *
 * - `linearHead`: x·W + b, its logits ×10 (W initialised 10× smaller: a 10× learning rate under the one AdamW);
 *   the first three sittings' patch and reading-order heads.
 * - `tiedHead` (fourth sitting): the character classes are scored against the decoder's own token embeddings,
 *
 *       logits[c] = τ · cos(x, E[id(c)])   for the 94 characters (E: the tied embedding / output matrix)
 *       logits[c] = τ · cos(x, R[c])       for background and the shape classes (R learned)
 *
 *   so a patch showing "A" is pushed toward the direction of the token "A", the token the decoder's output head
 *   (the same tied E) must produce: reading becomes copying the attended image token. Cosine rather than a raw
 *   product so that the head cannot win by scaling the features or E (τ fixed).
 *
 * x: float32[B·N, D], the projector's output (image features × √D, O(1)).
 */
import { tf } from "../tf.js";

export interface PatchHead {
  /** The name its variables are saved under (`<name>.weight`, …). */
  readonly name: "patch_head" | "order_head" | "tied_head";
  /** Which per-patch labels it predicts. */
  readonly target: "patch" | "order";
  /** Its own variables by saved name (not the model's embedding the tied head reads). */
  variables(): [string, tf.Variable][];
  /** float32[B·N, D] → float32[B·N, C]. */
  logits(x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

const HEAD_MULTIPLIER = 10;

/** A linear classifier with a 10× effective learning rate (see the file comment). */
export function linearHead(name: "patch_head" | "order_head", classes: number, dim: number, seed: number): PatchHead {
  const w = tf.variable(tf.randomNormal([dim, classes], 0, 0.02 / HEAD_MULTIPLIER, "float32", seed), true);
  const b = tf.variable(tf.zeros([classes]), true);
  return {
    name, target: name === "patch_head" ? "patch" : "order",
    variables: () => [[`${name}.weight`, w], [`${name}.bias`, b]],
    logits: (x) => tf.tidy(() => tf.mul(tf.add(tf.matMul(x, w), b), HEAD_MULTIPLIER) as tf.Tensor2D),
    dispose: () => tf.dispose([w, b]),
  };
}

/** τ of the tied head: cosines in [−1, 1] become logits in [−16, 16] (enough margin for ~100 classes). */
export const TIED_SCALE = 16;

/**
 * The embedding-tied head. `classIds[c]` is the token id scoring class c, or −1 for a class with its own learned
 * row (background, shapes). `embedding`: float32[V, D], the model's (trained) token embedding.
 */
export function tiedHead(embedding: tf.Variable, classIds: readonly number[], seed: number): PatchHead {
  const D = embedding.shape[1]!;
  const own = classIds.map((id, c) => (id < 0 ? c : -1)).filter((c) => c >= 0); // classes with a learned row
  const rows = tf.variable(tf.randomNormal([own.length, D], 0, 0.02, "float32", seed), true);
  // W = rowsAndE[index[c]]: rows first, then the gathered embeddings
  const tokenIds = classIds.filter((id) => id >= 0);
  const index = classIds.map((id, c) => (id < 0 ? own.indexOf(c) : own.length + tokenIds.indexOf(id)));
  const ids = tf.keep(tf.tensor1d(tokenIds, "int32"));
  const order = tf.keep(tf.tensor1d(index, "int32"));
  const unit = (t: tf.Tensor) => tf.div(t, tf.add(tf.norm(t, "euclidean", -1, true), 1e-6));
  return {
    name: "tied_head", target: "patch",
    variables: () => [["tied_head.rows", rows]],
    logits: (x) => tf.tidy(() => {
      const w = tf.gather(tf.concat([rows, tf.gather(embedding, ids)]), order); // [C, D]
      return tf.mul(tf.matMul(unit(x), unit(w), false, true), TIED_SCALE) as tf.Tensor2D; // [B·N, C]
    }),
    dispose: () => tf.dispose([rows, ids, order]),
  };
}

/**
 * Balanced cross-entropy of a per-patch head: mean over labelled patches + mean over background, halved (a few
 * glyphs among ~190 empty patches would otherwise teach "everything is background" first); and the accuracy on
 * labelled patches. logits: float32[B·N, C], target: int32[B·N] (0 = background).
 */
export function headLoss(logits: tf.Tensor2D, target: tf.Tensor1D): { loss: tf.Scalar; accuracy: tf.Scalar } {
  return tf.tidy(() => {
    const C = logits.shape[1]!;
    const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(target, C)), -1)); // [B·N]
    const fg = tf.cast(tf.greater(target, 0), "float32");
    const bg = tf.sub(1, fg);
    const meanOver = (w: tf.Tensor) => tf.div(tf.sum(tf.mul(nll, w)), tf.maximum(tf.sum(w), 1));
    const loss = tf.mul(tf.add(meanOver(fg), meanOver(bg)), 0.5) as tf.Scalar;
    const hit = tf.mul(tf.cast(tf.equal(tf.argMax(logits, -1), target), "float32"), fg);
    return { loss, accuracy: tf.div(tf.sum(hit), tf.maximum(tf.sum(fg), 1)) as tf.Scalar };
  });
}
