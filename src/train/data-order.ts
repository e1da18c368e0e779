/**
 * Reproducible randomness for training: a small seeded generator whose whole state is four 32-bit words (saved in
 * every checkpoint, so a resumed run draws exactly what the uninterrupted run would have), and the per-epoch
 * shuffle of the training set as a pure function of (dataSeed, epoch): a resumed run recomputes the permutation
 * and skips the micro-batches already consumed, without reading them.
 *
 *     const order = epochOrder(datasetLength, { seed: 42, epoch: 3 });   // a permutation of 0..n-1
 *     const rng = new Rng(42); rng.nextUint32(); const saved = rng.getState(); new Rng(0).setState(saved);
 */

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, PractRand-clean), seeded through splitmix32. */
export class Rng {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    const splitmix = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (let i = 0; i < 4; i++) this.s[i] = splitmix();
    for (let i = 0; i < 12; i++) this.nextUint32(); // warm up
  }

  nextUint32(): number {
    const s = this.s;
    const t = (((s[0]! + s[1]!) >>> 0) + s[3]!) >>> 0;
    s[3] = (s[3]! + 1) >>> 0;
    s[0] = s[1]! ^ (s[1]! >>> 9);
    s[1] = (s[2]! + (s[2]! << 3)) >>> 0;
    s[2] = ((s[2]! << 21) | (s[2]! >>> 11)) >>> 0;
    s[2] = (s[2]! + t) >>> 0;
    return t;
  }

  /** Uniform integer in [0, n) (rejection sampling, no modulo bias). */
  nextInt(n: number): number {
    if (!(Number.isInteger(n) && n > 0 && n <= 2 ** 32)) throw new Error(`Rng.nextInt: n must be an integer in 1..2^32, got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  getState(): number[] {
    return Array.from(this.s);
  }

  setState(state: readonly number[]): void {
    if (state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
      throw new Error(`Rng.setState: expected four uint32 words, got ${JSON.stringify(state)}`);
    }
    this.s = Uint32Array.from(state);
  }
}

/** The order in which epoch `epoch` visits the examples: a Fisher–Yates shuffle seeded by (seed, epoch). */
export function epochOrder(length: number, o: { seed: number; epoch: number; shuffle?: boolean }): number[] {
  const order = Array.from({ length }, (_, i) => i);
  if (o.shuffle === false) return order;
  const rng = new Rng(((o.seed >>> 0) ^ Math.imul(o.epoch + 1, 0x9e3779b1)) >>> 0);
  for (let i = length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Micro-batches of one epoch: consecutive slices of the order (the last one short unless dropLast). */
export function microBatches(order: readonly number[], batchSize: number, dropLast: boolean): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (b.length < batchSize && dropLast) break;
    out.push(b);
  }
  return out;
}
