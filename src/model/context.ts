/**
 * The forward context: what one forward call carries down to every layer besides the activations (torch keeps the
 * first two as module state and global RNG; here they are explicit, so a repeated computation is the same one).
 *
 *   training      dropout active (torch `module.training`); generation always runs with it off
 *   dropoutSeed   the seed of this call's dropout masks: layer stream s draws from `dropoutSeedFor(ctx, s)`, so
 *                 gradient-checkpointing recomputation, which runs the block again with the same context, draws
 *                 exactly the forward's masks (no global RNG state to snapshot and restore)
 *   cache         the KV cache while generating (kvcache.ts); absent in training and scoring
 *
 *     const ctx: ForwardContext = { training: true, dropoutSeed: 1234 };
 *     lora.forward(x, ctx);  // the same masks every time it is called with this ctx
 */
import type { KVCache } from "./kvcache.js";

export interface ForwardContext {
  readonly training: boolean;
  readonly dropoutSeed: number;
  readonly cache?: KVCache;
}

/** Inference: no dropout, no cache (the default of every layer's `forward`). */
export const INFERENCE: ForwardContext = Object.freeze({ training: false, dropoutSeed: 0 });

/** The seed of dropout stream `stream` (one per layer that draws) within a call: distinct streams, distinct masks. */
export function dropoutSeedFor(ctx: ForwardContext, stream: number): number {
  return (ctx.dropoutSeed + Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
}

/** The call seed of the n-th forward (n ≥ 1) after the training seed was set: each forward draws new masks. */
export function callSeed(trainingSeed: number, n: number): number {
  return (trainingSeed + Math.imul(n, 0x85ebca6b)) >>> 0;
}
