/**
 * Gradient checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost"; HF
 * `gradient_checkpointing_enable()`): a block's forward runs without recording its intermediates, and its backward
 * runs the block again under a fresh tape. Training memory then holds one block's activations at a time instead of
 * every layer's, for about one extra forward of compute.
 */
import { tf } from "../tf.js";

/** Every tf.Variable reachable from `module`'s fields (linears, LoRA adapters, norms), without duplicates. */
export function variablesOf(module: object): tf.Variable[] {
  const found = new Set<tf.Variable>();
  const seen = new Set<object>();
  const walk = (o: unknown): void => {
    if (!o || typeof o !== "object" || seen.has(o)) return;
    seen.add(o);
    if (o instanceof tf.Variable) {
      found.add(o);
      return;
    }
    if (o instanceof tf.Tensor) return;
    for (const v of Array.isArray(o) ? o : Object.values(o)) walk(v);
  };
  walk(module);
  return [...found];
}

/**
 * y = block(x, constants) with checkpointing.
 * - `constants`: tensors the block reads that need no gradient (masks, RoPE tables). They are passed in, not
 *   captured, because the backward pass runs after the caller's tidy has freed the originals: the block receives
 *   the saved references.
 * - `params`: the variables the block reads; gradients flow to the trainable ones and to x.
 * The recomputation repeats the block, so it must compute the same function both times: dropout masks come from
 * the forward context the block closes over (model/context.ts: a seed per call, not a global RNG), so they repeat.
 */
export function checkpoint(
  block: (x: tf.Tensor, constants: tf.Tensor[]) => tf.Tensor,
  x: tf.Tensor,
  constants: tf.Tensor[],
  params: tf.Variable[],
): tf.Tensor {
  const trainable = params.filter((v) => v.trainable);
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor;
    save([input, ...constants]);
    return {
      value: block(input, constants), // inside a custom-gradient forward nothing is taped: intermediates are freed
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, ...sc] = saved;
        // A nested engine.gradients() replaces the engine's active tape with its own and clears it when done; the
        // outer backward pass still needs its tape (it frees that tape's saved tensors at the end), so restore it.
        const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
        const outerTape = state.activeTape;
        try {
          const xs = [sx, ...trainable];
          const { grads } = tf.engine().gradients(() => tf.sum(tf.mul(block(sx, sc), dy)), xs, undefined, true);
          return grads.map((g, i) => g ?? tf.zerosLike(xs[i])); // a variable this block did not reach
        } finally {
          state.activeTape = outerTape;
        }
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, ...trainable) as tf.Tensor;
}
