/**
 * Gradient bookkeeping of one optimizer step: summing micro-batch gradients (gradient accumulation) and clipping
 * by the global L2 norm exactly as `torch.nn.utils.clip_grad_norm_` does:
 *
 *     total = ‖(‖g₁‖₂, …, ‖gₙ‖₂)‖₂
 *     g ← g · min(1, maxNorm / (total + 1e-6))
 *
 *     const acc = new GradAccumulator();
 *     acc.add(grads);                // each micro-batch (takes ownership of the tensors)
 *     const norm = acc.clip(1.0);    // returns the norm before clipping (what HF logs as grad_norm)
 *     const { norm, scale } = acc.clipScale(1.0); // or leave the scaling to AdamW.step(g, lr, scale)
 *     acc.take();                    // Map<name, tf.Tensor>, then dispose them
 */
import { tf } from "../tf.js";
import { activeTraits } from "../backend/traits.js";

/**
 * Global L2 norm of a set of tensors, read to the host: ‖(‖g₁‖₂, …)‖₂ = √(Σᵢ Σ gᵢ²), float32 sums of squares (one
 * Square and one Sum per tensor: `tf.norm`'s abs + Pow + Sqrt, squared again, cost 10× more on 106M values; one
 * read-only pass where the backend has a kernel for it, traits `sumOfSquaresKernel`), float64 final sqrt.
 */
export function globalNorm(tensors: Iterable<tf.Tensor>): number {
  const kernel = activeTraits().sumOfSquaresKernel;
  const sumOfSquares = (g: tf.Tensor) =>
    kernel && g.dtype === "float32" ? (tf.engine().runKernel(kernel, { x: g }) as tf.Scalar) : tf.sum(tf.square(g));
  const squares = tf.tidy(() => {
    const parts = [...tensors].map(sumOfSquares);
    return parts.length ? tf.addN(parts) : tf.scalar(0);
  });
  const s = squares.dataSync()[0]!;
  squares.dispose();
  return Math.sqrt(s);
}

export class GradAccumulator {
  private grads: Map<string, tf.Tensor> | null = null;
  /** Micro-batches added since the last take(). */
  count = 0;

  /** Add one micro-batch's gradients; takes ownership of (disposes) the given tensors. */
  add(grads: Record<string, tf.Tensor> | Map<string, tf.Tensor>): void {
    const entries = grads instanceof Map ? [...grads] : Object.entries(grads);
    if (this.grads === null) {
      this.grads = new Map(entries);
    } else {
      for (const [name, g] of entries) {
        const prev = this.grads.get(name);
        if (!prev) throw new Error(`GradAccumulator: gradient for ${name} appeared mid-accumulation`);
        this.grads.set(name, tf.add(prev, g));
        prev.dispose();
        g.dispose();
      }
    }
    this.count++;
  }

  /** The accumulated gradients' global norm. */
  norm(): number {
    return this.grads ? globalNorm(this.grads.values()) : 0;
  }

  /**
   * The global norm and the factor that brings it to at most `maxNorm` (1 when it is below, or when `maxNorm` ≤ 0),
   * without touching the gradients: `AdamW.step(g, lr, scale)` applies it inside its update (the same bits as
   * {@link clip}, one pass fewer over every gradient).
   */
  clipScale(maxNorm: number): { norm: number; scale: number } {
    const norm = this.norm();
    if (!(maxNorm > 0) || !this.grads) return { norm, scale: 1 };
    const coef = Math.fround(maxNorm) / Math.fround(norm + 1e-6); // torch computes clip_coef in float32
    return { norm, scale: coef < 1 ? coef : 1 };
  }

  /**
   * Scale so the global norm is at most `maxNorm` (no-op when `maxNorm` ≤ 0). Returns the norm before clipping.
   */
  clip(maxNorm: number): number {
    const { norm, scale } = this.clipScale(maxNorm);
    if (scale !== 1 && this.grads) {
      for (const [name, g] of this.grads) {
        this.grads.set(name, tf.mul(g, scale));
        g.dispose();
      }
    }
    return norm;
  }

  /** Hand over the gradients (the caller disposes them) and reset. */
  take(): Map<string, tf.Tensor> {
    const g = this.grads ?? new Map<string, tf.Tensor>();
    this.grads = null;
    this.count = 0;
    return g;
  }

  /** Drop whatever was accumulated. */
  dispose(): void {
    if (this.grads) for (const g of this.grads.values()) g.dispose();
    this.grads = null;
    this.count = 0;
  }
}
