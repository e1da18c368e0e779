/**
 * Just enough of the WebAssembly binary format to write small SIMD kernels by hand, with the opcodes named (WASM
 * core spec §5, SIMD proposal opcodes): no toolchain, no committed binaries. Used by the fused AdamW update
 * (train/adamw-wasm.ts) and the NF4 decoder (quant/wasm-decode.ts).
 *
 *     const body = [...get(0), ...get(1), op.i32Add, ...];
 *     const bytes = wasmModule({ params: [I32, I32], locals: [[1, V128]], body, name: "kernel" });
 *     const mod = simdAvailable(bytes) ? new WebAssembly.Module(bytes) : null;
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** Core opcodes. */
export const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, localGet: 0x20, localSet: 0x21, localTee: 0x22,
  f32Load: 0x2a, i32Const: 0x41, i32LtU: 0x49, i32GeU: 0x4f, i32Add: 0x6a, i32Mul: 0x6c, i32Shl: 0x74,
} as const;

/** SIMD opcodes (emitted after the 0xfd prefix as unsigned LEB128, see {@link simd}). */
export const simdOp = {
  load: 0x00, store: 0x0b, const: 0x0c, shuffle: 0x0d, swizzle: 0x0e, i8x16Splat: 0x0f, f32x4Splat: 0x13, and: 0x4e,
  i8x16ShrU: 0x6d, f32x4Sqrt: 0xe3, f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Div: 0xe7,
} as const;

/** Unsigned LEB128. */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export const get = (i: number) => [op.localGet, ...leb(i)];
export const set = (i: number) => [op.localSet, ...leb(i)];
export const simd = (code: number) => [0xfd, ...leb(code)];
/** An i32 constant (signed LEB128; small non-negative values only). */
export const i32 = (n: number) => {
  if (!(Number.isInteger(n) && n >= 0 && n < 2 ** 20)) throw new Error(`i32 constant ${n}: only 0 ≤ n < 2²⁰ here`);
  const out: number[] = [];
  let v = n;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if (v === 0 && (b & 0x40) === 0) return [op.i32Const, ...out, b];
    out.push(b | 0x80);
  }
};
/** Memory argument: alignment 2⁰ (a hint only), offset 0. */
export const memarg = [0, 0];

const str = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];

/** A module with one exported function and an imported memory `env.memory` (at least one page). */
export function wasmModule(f: { params: number[]; locals: [count: number, type: number][]; body: number[]; name: string }): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...vec(f.params.map((p) => [p])), 0];
  const code = [...vec(f.locals.map(([n, t]) => [...leb(n), t])), ...f.body, op.end];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...section(2, vec([[...str("env"), ...str("memory"), 0x02, 0x00, ...leb(1)]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...str(f.name), 0x00, 0]])),
    ...section(10, vec([[...leb(code.length), ...code]])),
  ]);
}

/** The compiled module, or null where WebAssembly (or its SIMD) is unavailable. */
export function compileIfSupported(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module | null {
  return typeof WebAssembly === "object" && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
}
