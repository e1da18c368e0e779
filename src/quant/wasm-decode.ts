/**
 * NF4 dequantization as a WebAssembly SIMD loop on the host: 16 packed bytes (32 codes) per iteration, each code
 * looked up in the 16-entry NF4 table by byte-plane swizzles, then × the block's absmax: one float32 product per
 * value, as bitsandbytes' `dequantize_4bit` and the JS loop in host-decode.ts (the same bits), ~4× faster than that
 * loop. For backends whose tensors live in host memory.
 *
 *     code[2k] = byte[k] >> 4, code[2k+1] = byte[k] & 15          # element order (bitsandbytes)
 *     plane_j  = byte j of each NF4 code value (little-endian)    # 4 × i8x16: the table, split by byte
 *     value    = bytes (swizzle(plane_0, code) … swizzle(plane_3, code)) interleaved into f32x4, · absmax
 *
 *     const out = decodeNf4Wasm(packed, absmax, blocks, 64); // float32[blocks·64], or null (no WASM SIMD / block size)
 */
import { NF4_CODE } from "./codebooks.js";
import { I32, V128, compileIfSupported, get, i32, memarg, op, set, simd, simdOp, wasmModule } from "../util/wasm-asm.js";

const lanes = (f: (i: number) => number) => Array.from({ length: 16 }, (_, i) => f(i));
/** Bytes i of a and b interleaved for i = 0..7 (LO) or 8..15 (HI): [a0 b0 a1 b1 …]. */
const ZIP8_LO = lanes((i) => (i % 2 ? 16 : 0) + (i >> 1));
const ZIP8_HI = lanes((i) => (i % 2 ? 16 : 0) + 8 + (i >> 1));
/** 16-bit pairs of a and b interleaved for pairs 0..3 (LO) or 4..7 (HI): [a0a1 b0b1 a2a3 b2b3 …]. */
const ZIP16_LO = lanes((i) => (i & 2 ? 16 : 0) + 2 * (i >> 2) + (i & 1));
const ZIP16_HI = lanes((i) => (i & 2 ? 16 : 0) + 8 + 2 * (i >> 2) + (i & 1));

/** Byte-plane table at address 0: plane j (16 bytes at 16·j) holds byte j of each NF4 code value. */
function planes(): Uint8Array {
  const bytes = new Uint8Array(new Float32Array(NF4_CODE).buffer); // little-endian float32 × 16
  const out = new Uint8Array(64);
  for (let k = 0; k < 16; k++) for (let j = 0; j < 4; j++) out[16 * j + k] = bytes[4 * k + j]!;
  return out;
}

/**
 * `nf4(src, absmax, dst, blocks, chunks)`: `blocks` blocks of `chunks` × 16 packed bytes at `src`, one float32 absmax
 * each at `absmax`, 32·chunks floats per block written at `dst`. Byte addresses, dst 16-aligned; planes at 0.
 */
function assemble(): Uint8Array<ArrayBuffer> {
  const [SRC, ABS, DST, BLOCKS, CHUNKS] = [0, 1, 2, 3, 4];
  const [B, C] = [5, 6]; // i32: block index, chunk index
  const [P0, MASK, A, X, HI, LO, CODES, T01, T23] = [7, 11, 12, 13, 14, 15, 16, 17, 18]; // v128 (P0..P3: 7..10)
  const s = simd;
  const shuffle = (a: number, b: number, pattern: number[]) => [...get(a), ...get(b), ...s(simdOp.shuffle), ...pattern];
  // store the f32x4 on the stack's top at dst, then dst += 16
  const storeNext = (value: number[]) => [...get(DST), ...value, ...get(A), ...s(simdOp.f32x4Mul), ...s(simdOp.store), ...memarg,
    ...get(DST), ...i32(16), op.i32Add, ...set(DST)];
  // 16 codes in CODES → 16 floats (4 × f32x4) · absmax at dst
  const expand = () => {
    const plane = (j: number) => [...get(P0 + j), ...get(CODES), ...s(simdOp.swizzle)];
    const out: number[] = [];
    for (const zip8 of [ZIP8_LO, ZIP8_HI]) {
      out.push(...plane(0), ...plane(1), ...s(simdOp.shuffle), ...zip8, ...set(T01)); // (byte0, byte1) per value
      out.push(...plane(2), ...plane(3), ...s(simdOp.shuffle), ...zip8, ...set(T23)); // (byte2, byte3) per value
      out.push(...storeNext(shuffle(T01, T23, ZIP16_LO)), ...storeNext(shuffle(T01, T23, ZIP16_HI)));
    }
    return out;
  };
  const body = [
    ...[0, 1, 2, 3].flatMap((j) => [...i32(16 * j), ...s(simdOp.load), ...memarg, ...set(P0 + j)]),
    ...i32(15), ...s(simdOp.i8x16Splat), ...set(MASK),
    op.block, 0x40, op.loop, 0x40, // for b in 0..blocks
    ...get(B), ...get(BLOCKS), op.i32GeU, op.brIf, 1,
    ...get(ABS), ...get(B), ...i32(2), op.i32Shl, op.i32Add, op.f32Load, 2, 0, ...s(simdOp.f32x4Splat), ...set(A),
    ...i32(0), ...set(C),
    op.block, 0x40, op.loop, 0x40, // for c in 0..chunks: 16 bytes → 32 values
    ...get(C), ...get(CHUNKS), op.i32GeU, op.brIf, 1,
    ...get(SRC), ...s(simdOp.load), ...memarg, ...set(X),
    ...get(X), ...i32(4), ...s(simdOp.i8x16ShrU), ...set(HI), // element 2k
    ...get(X), ...get(MASK), ...s(simdOp.and), ...set(LO), // element 2k + 1
    ...shuffle(HI, LO, ZIP8_LO), ...set(CODES), ...expand(), // elements 0..15
    ...shuffle(HI, LO, ZIP8_HI), ...set(CODES), ...expand(), // elements 16..31
    ...get(SRC), ...i32(16), op.i32Add, ...set(SRC),
    ...get(C), ...i32(1), op.i32Add, ...set(C),
    op.br, 0, op.end, op.end,
    ...get(B), ...i32(1), op.i32Add, ...set(B),
    op.br, 0, op.end, op.end,
  ];
  return wasmModule({ params: [I32, I32, I32, I32, I32], locals: [[2, I32], [12, V128]], body, name: "nf4" });
}

type Kernel = (src: number, absmax: number, dst: number, blocks: number, chunks: number) => void;

let state: { kernel: Kernel; memory: WebAssembly.Memory } | null | undefined;

function instance(): { kernel: Kernel; memory: WebAssembly.Memory } | null {
  if (state === undefined) {
    const module = compileIfSupported(assemble());
    if (!module) return (state = null);
    const memory = new WebAssembly.Memory({ initial: 1 });
    new Uint8Array(memory.buffer).set(planes(), 0);
    state = { kernel: new WebAssembly.Instance(module, { env: { memory } }).exports["nf4"] as Kernel, memory };
  }
  return state;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * Decode `blocks` NF4 blocks of `blockSize` codes (`packed`: at least blocks·blockSize/2 bytes, element 2i in a
 * byte's high nibble; `absmax`: float32[blocks]) into a fresh float32[blocks·blockSize]. Null where WebAssembly SIMD
 * is missing or `blockSize` is not a multiple of 32 (the caller then uses the JS loop). The module's memory grows to
 * the largest matrix decoded and is kept (one per process).
 */
export function decodeNf4Wasm(packed: Uint8Array, absmax: Float32Array, blocks: number, blockSize: number): Float32Array | null {
  return decodeNf4WasmView(packed, absmax, blocks, blockSize)?.slice() ?? null;
}

/**
 * {@link decodeNf4Wasm} without the copy out: a view of the module's memory, overwritten by the next decode (and
 * detached when a larger one grows the memory). For a weight used once and freed before the next decode (the
 * product inside `QuantLinear`): a tensor made from it on a backend that keeps host arrays (traits
 * `tensorKeepsHostArray`) reads this memory directly, with no float32 allocation per layer.
 */
export function decodeNf4WasmView(packed: Uint8Array, absmax: Float32Array, blocks: number, blockSize: number): Float32Array | null {
  const w = blockSize % 32 === 0 ? instance() : null;
  if (!w) return null;
  const srcBytes = (blocks * blockSize) / 2;
  if (packed.length < srcBytes || absmax.length < blocks) throw new Error(`decodeNf4Wasm: ${blocks} blocks of ${blockSize} need ${srcBytes} bytes and ${blocks} scales, got ${packed.length} and ${absmax.length}`);
  const src = 64;
  const abs = align16(src + srcBytes);
  const dst = align16(abs + 4 * blocks);
  const end = dst + 4 * blocks * blockSize;
  if (end > w.memory.buffer.byteLength) w.memory.grow(Math.ceil((end - w.memory.buffer.byteLength) / 65536));
  const heap = new Uint8Array(w.memory.buffer);
  heap.set(packed.subarray(0, srcBytes), src);
  new Float32Array(w.memory.buffer, abs, blocks).set(absmax.subarray(0, blocks));
  w.kernel(src, abs, dst, blocks, blockSize / 32);
  return new Float32Array(w.memory.buffer, dst, blocks * blockSize);
}
