/**
 * AdamW's update fused into one pass, as a WebAssembly SIMD loop over host buffers (the moments live in the module's
 * memory; each step copies a gradient and a parameter in and the new parameter out). The op-by-op update in
 * `adamw.ts` makes 14 full-size passes per parameter, each allocating its result: on the native CPU backend that is
 * 0.77 s for the 106M-parameter `small` model, bound by memory traffic and page faults, and no TF.js op fuses it.
 *
 * Bit-compatible with the op path: the same float32 operations in the same order, each one IEEE-rounded (WASM has no
 * fused multiply-add and no flush-to-zero), with the same float32 constants. One exception: TensorFlow's CPU kernels
 * flush subnormal results to zero (measured: 1e-20 · 1e-20 gives 0 on tfjs-node), so on the native backend the op
 * path and this one differ where an intermediate falls below 1.2e-38 (a gradient under ~1e-19); here, as in torch,
 * subnormals are kept.
 *
 *     g ← g·scale                                   (scale = the clipping coefficient, or 1: exact)
 *     m ← m·β1 + g·(1−β1)
 *     v ← v·β2 + (g·g)·(1−β2)
 *     p ← p·decay − (m / (√v / √(1−β2ᵗ) + ε)) · (lr / (1−β1ᵗ))      (decay = 1 − lr·wd, or 1: exact)
 *
 *     const k = FusedAdamWMemory.create([3, 5]);   // null where the moments would not fit in 4 GiB
 *     const next = k!.update(0, grad, param, constants); // Float32Arrays in, the new parameter out
 *     k!.moments(0);                               // { m, v } copies
 */
import { F32, I32, V128, compileIfSupported, get, i32, memarg, op, set, simd, simdOp, wasmModule } from "../util/wasm-asm.js";

/** The float32 constants of one step (JS numbers; the kernel rounds each to float32 as TF.js scalars are). */
export interface AdamWConstants {
  gradScale: number;
  decay: number;
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  bc2Sqrt: number;
  eps: number;
  stepSize: number;
}

// ------------------------------------------------------------ the module, assembled (util/wasm-asm.ts)

/** The kernel `adamw(p, g, m, v, bytes, scale, decay, b1, omb1, b2, omb2, bc2, eps, step)`: byte offsets, 16-aligned. */
function assemble(): Uint8Array<ArrayBuffer> {
  const [P, G, M, V, BYTES] = [0, 1, 2, 3, 4];
  const NCONST = 9; // params 5..13, in AdamWConstants order
  const I = 14; // i32 byte counter
  const S = 15; // 15..23: the constants splat to f32x4
  const [Gv, Mv, Vv] = [24, 25, 26];
  const [sScale, sDecay, sB1, sOmb1, sB2, sOmb2, sBc2, sEps, sStep] = Array.from({ length: NCONST }, (_, k) => S + k) as number[];
  const s = simd;
  const at = (base: number) => [...get(base), ...get(I), op.i32Add]; // address base + i
  const load = (base: number) => [...at(base), ...s(simdOp.load), ...memarg];
  const store = [...s(simdOp.store), ...memarg];
  const body = [
    ...Array.from({ length: NCONST }, (_, k) => [...get(5 + k), ...s(simdOp.f32x4Splat), ...set(S + k)]).flat(),
    op.block, 0x40, op.loop, 0x40,
    ...get(I), ...get(BYTES), op.i32GeU, op.brIf, 1,
    // g = g·scale
    ...load(G), ...get(sScale), ...s(simdOp.f32x4Mul), ...set(Gv),
    // m = m·β1 + g·(1−β1)
    ...load(M), ...get(sB1), ...s(simdOp.f32x4Mul), ...get(Gv), ...get(sOmb1), ...s(simdOp.f32x4Mul), ...s(simdOp.f32x4Add), ...set(Mv),
    ...at(M), ...get(Mv), ...store,
    // v = v·β2 + (g·g)·(1−β2)
    ...load(V), ...get(sB2), ...s(simdOp.f32x4Mul), ...get(Gv), ...get(Gv), ...s(simdOp.f32x4Mul), ...get(sOmb2), ...s(simdOp.f32x4Mul),
    ...s(simdOp.f32x4Add), ...set(Vv),
    ...at(V), ...get(Vv), ...store,
    // p = p·decay − (m / (√v / bc2 + ε)) · step
    ...at(P),
    ...load(P), ...get(sDecay), ...s(simdOp.f32x4Mul),
    ...get(Mv), ...get(Vv), ...s(simdOp.f32x4Sqrt), ...get(sBc2), ...s(simdOp.f32x4Div), ...get(sEps), ...s(simdOp.f32x4Add), ...s(simdOp.f32x4Div),
    ...get(sStep), ...s(simdOp.f32x4Mul), ...s(simdOp.f32x4Sub),
    ...store,
    // i += 16
    ...get(I), ...i32(16), op.i32Add, ...set(I),
    op.br, 0, op.end, op.end,
  ];
  const params = [I32, I32, I32, I32, I32, ...Array.from({ length: NCONST }, () => F32)];
  return wasmModule({ params, locals: [[1, I32], [NCONST + 3, V128]], body, name: "adamw" });
}

type Kernel = (p: number, g: number, m: number, v: number, bytes: number, ...c: number[]) => void;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable. */
function module(): WebAssembly.Module | null {
  if (compiled === undefined) {
    compiled = compileIfSupported(assemble());
  }
  return compiled;
}

const PAGE = 65536;
/** WebAssembly memory32's ceiling (65536 pages). */
const MAX_BYTES = 4 * 1024 ** 3;
const pad4 = (n: number) => Math.ceil(n / 4) * 4;
/** Values per pass through the scratch regions (1 MiB each: cache-sized; a multiple of 4 keeps the moments aligned). */
const CHUNK = 1 << 18;

/**
 * Both moments of every parameter in one WebAssembly memory (torch's zeros at creation), plus a gradient and a
 * parameter scratch region of {@link CHUNK} values each: a parameter streams through them in chunks that stay in
 * cache between the copy in, the update and the copy out. Moment regions are padded to 4 values (one f32x4).
 */
export class FusedAdamWMemory {
  private readonly f32: Float32Array;
  private readonly kernel: Kernel;
  private readonly offsets: number[]; // float index of each parameter's m; its v follows at + padded size
  private readonly gAt: number;
  private readonly pAt: number;

  private constructor(
    private readonly sizes: readonly number[],
    memory: WebAssembly.Memory,
    layout: { offsets: number[]; gAt: number; pAt: number },
  ) {
    const instance = new WebAssembly.Instance(module()!, { env: { memory } });
    this.kernel = instance.exports["adamw"] as Kernel;
    this.f32 = new Float32Array(memory.buffer);
    ({ offsets: this.offsets, gAt: this.gAt, pAt: this.pAt } = layout);
  }

  /** Moments for parameters of these sizes (values), or null when WASM SIMD is missing or they exceed 4 GiB. */
  static create(sizes: readonly number[]): FusedAdamWMemory | null {
    if (!module()) return null;
    const offsets: number[] = [];
    let at = 0;
    for (const n of sizes) {
      offsets.push(at);
      at += 2 * pad4(n);
    }
    const scratch = Math.min(CHUNK, pad4(Math.max(0, ...sizes)));
    const layout = { offsets, gAt: at, pAt: at + scratch };
    const bytes = (at + 2 * scratch) * 4;
    if (bytes > MAX_BYTES - PAGE) return null;
    let memory: WebAssembly.Memory;
    try {
      const pages = Math.max(1, Math.ceil(bytes / PAGE));
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch {
      return null; // the engine refused the reservation
    }
    return new FusedAdamWMemory(sizes, memory, layout);
  }

  /** Bytes of WebAssembly memory held. */
  get byteLength(): number {
    return this.f32.byteLength;
  }

  /**
   * One update of parameter `index` from its gradient and current values (float32[n] each, only read): updates the
   * moments in place and returns the new values (a fresh array).
   */
  update(index: number, grad: Float32Array, param: Float32Array, c: AdamWConstants): Float32Array {
    const n = this.sizes[index]!;
    if (grad.length !== n || param.length !== n) throw new Error(`FusedAdamWMemory.update: parameter ${index} has ${n} values, got grad ${grad.length}, param ${param.length}`);
    const f32 = this.f32;
    const out = new Float32Array(n);
    const m = this.offsets[index]!;
    const v = m + pad4(n);
    for (let at = 0; at < n; at += CHUNK) {
      const len = Math.min(CHUNK, n - at);
      f32.set(grad.subarray(at, at + len), this.gAt);
      f32.set(param.subarray(at, at + len), this.pAt);
      this.kernel(this.pAt * 4, this.gAt * 4, (m + at) * 4, (v + at) * 4, pad4(len) * 4,
        c.gradScale, c.decay, c.beta1, c.oneMinusBeta1, c.beta2, c.oneMinusBeta2, c.bc2Sqrt, c.eps, c.stepSize);
      out.set(f32.subarray(this.pAt, this.pAt + len), at);
    }
    return out;
  }

  /** Copies of parameter `index`'s moments. */
  moments(index: number): { m: Float32Array; v: Float32Array } {
    const n = this.sizes[index]!;
    const at = this.offsets[index]!;
    return { m: this.f32.slice(at, at + n), v: this.f32.slice(at + pad4(n), at + pad4(n) + n) };
  }

  /** Overwrite parameter `index`'s moments. */
  setMoments(index: number, m: Float32Array, v: Float32Array): void {
    const n = this.sizes[index]!;
    if (m.length !== n || v.length !== n) throw new Error(`FusedAdamWMemory.setMoments: parameter ${index} has ${n} values, got ${m.length} and ${v.length}`);
    const at = this.offsets[index]!;
    this.f32.set(m, at);
    this.f32.set(v, at + pad4(n));
  }
}
