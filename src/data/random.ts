/**
 * Small seeded randomness for data work (shuffling, synthetic data): mulberry32, a 32-bit PRNG by Tommy
 * Ettinger (public domain), good enough for shuffles and augmentation and identical on every platform.
 *
 * @example
 * const rand = mulberry32(42);
 * rand();                          // a float in [0, 1), the same sequence for the same seed
 * shuffleInPlace([1, 2, 3, 4], rand);
 */

/** A function returning floats in [0, 1). */
export type Rng = () => number;

/** mulberry32 seeded with `seed` (any number; reduced to uint32). Same seed → same sequence. */
export function mulberry32(seed: number): Rng {
  let a = (Math.trunc(seed) >>> 0) || 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of `items` in place using `rand`; returns `items`. */
export function shuffleInPlace<T>(items: T[], rand: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Helpers over one Rng: uniform floats/ints, picks. */
export class Random {
  readonly next: Rng;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** Uniform float in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}
