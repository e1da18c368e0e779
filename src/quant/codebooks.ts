/**
 * The code tables of bitsandbytes' blockwise quantization, written once (float32 values, exactly as bitsandbytes
 * holds them), and the one rounding helper the quantizers share.
 *
 * - NF4 (NormalFloat 4, Dettmers et al. 2023, "QLoRA", §3 / Appendix E): 16 quantiles of N(0, 1), normalised to
 *   [-1, 1], with an exact 0. bitsandbytes `functional.get_4bit_type("nf4")` (= `create_normal_map(0.9677083)`).
 * - The signed "dynamic" 8-bit map (Dettmers 2016, "8-bit Approximations for Parallelism in Deep Learning"):
 *   bitsandbytes `functional.create_dynamic_map()`, used by double quantization to store the per-block absmax.
 *   Its values come from float32 `torch.linspace`, whose last bit depends on the CPU's vector width, so the table is
 *   stored here as the float32 bit patterns bitsandbytes produced (test/fixtures/nf4/gen_bnb_nf4.py checks them).
 *
 * @example
 * NF4_CODE[7]; // 0 (code 7 is the exact zero)
 * DYNAMIC_CODE.length; // 256
 */

/** NF4 code values (bitsandbytes `get_4bit_type("nf4")`), ascending; index = 4-bit code. */
export const NF4_CODE: Float32Array = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/** bitsandbytes `create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)` as float32 bit patterns. */
const DYNAMIC_HEX = [
  "bf7e3333 bf7a999a bf770000 bf736666 bf6fcccd bf6c3333 bf68999a bf650000",
  "bf616666 bf5dcccd bf5a3333 bf56999a bf530000 bf4f6666 bf4bcccd bf483333",
  "bf44999a bf410000 bf3d6666 bf39cccd bf363334 bf32999a bf2f0000 bf2b6666",
  "bf27cccd bf243334 bf20999a bf1d0000 bf196666 bf15cccd bf123334 bf0e999a",
  "bf0b0000 bf076666 bf03cccc bf003333 bef93332 bef20000 beeacccc bee3999a",
  "bedc6666 bed53333 bece0000 bec6cccc bebf999a beb86666 beb13333 beaa0000",
  "bea2cccc be9b999a be946666 be8d3334 be860000 be7d9999 be6f3333 be60cccd",
  "be526666 be440000 be35999a be273333 be18cccd be0a6666 bdf80000 bddb3334",
  "bdc9eb85 bdc428f7 bdbe6667 bdb8a3d7 bdb2e148 bdad1eb8 bda75c2a bda1999a",
  "bd9bd70a bd96147b bd9051eb bd8a8f5d bd84cccd bd7e147b bd728f5d bd670a3d",
  "bd5b851f bd500000 bd447ae1 bd38f5c3 bd2d70a3 bd21eb85 bd166667 bd0ae148",
  "bcfeb852 bce7ae15 bcd0a3d7 bcb9999a bca28f5d bc8b851f bc68f5c3 bc3ae148",
  "bc1f3b64 bc160418 bc0ccccd bc039581 bbf4bc6a bbe24dd3 bbcfdf3b bbbd70a4",
  "bbab020d bb989374 bb8624dd bb676c8a bb428f5c bb1db22d baf1a9fc baa7ef9d",
  "ba7765ff ba59e83e ba3c6a80 ba1eecc1 ba016f01 b9c7e283 b98ce705 b923d70b",
  "b8ba1f4b b88aefb3 b8378034 b7b24206 b70205ff b65a1a94 b513a3b7 00000000",
  "3513a3b7 365a1a94 370205ff 37b24206 38378034 388aefb3 38ba1f4b 3923d70b",
  "398ce705 39c7e283 3a016f01 3a1eecc1 3a3c6a80 3a59e83e 3a7765ff 3aa7ef9d",
  "3af1a9fc 3b1db22d 3b428f5c 3b676c8a 3b8624dd 3b989374 3bab020d 3bbd70a4",
  "3bcfdf3b 3be24dd3 3bf4bc6a 3c039581 3c0ccccd 3c160418 3c1f3b64 3c3ae148",
  "3c68f5c3 3c8b851f 3ca28f5d 3cb9999a 3cd0a3d7 3ce7ae15 3cfeb852 3d0ae148",
  "3d166667 3d21eb85 3d2d70a3 3d38f5c3 3d447ae1 3d500000 3d5b851f 3d670a3d",
  "3d728f5d 3d7e147b 3d84cccd 3d8a8f5d 3d9051eb 3d96147b 3d9bd70a 3da1999a",
  "3da75c2a 3dad1eb8 3db2e148 3db8a3d7 3dbe6667 3dc428f7 3dc9eb85 3ddb3334",
  "3df80000 3e0a6666 3e18cccd 3e273333 3e35999a 3e440000 3e526666 3e60cccd",
  "3e6f3333 3e7d9999 3e860000 3e8d3334 3e946666 3e9b999a 3ea2cccc 3eaa0000",
  "3eb13333 3eb86666 3ebf999a 3ec6cccc 3ece0000 3ed53333 3edc6666 3ee3999a",
  "3eeacccc 3ef20000 3ef93332 3f003333 3f03cccc 3f076666 3f0b0000 3f0e999a",
  "3f123334 3f15cccd 3f196666 3f1d0000 3f20999a 3f243334 3f27cccd 3f2b6666",
  "3f2f0000 3f32999a 3f363334 3f39cccd 3f3d6666 3f410000 3f44999a 3f483333",
  "3f4bcccd 3f4f6666 3f530000 3f56999a 3f5a3333 3f5dcccd 3f616666 3f650000",
  "3f68999a 3f6c3333 3f6fcccd 3f736666 3f770000 3f7a999a 3f7e3333 3f800000",
];

/** The signed dynamic 8-bit map, ascending; index = 8-bit code (code 127 is 0, code 255 is 1). */
export const DYNAMIC_CODE: Float32Array = new Float32Array(
  Uint32Array.from(DYNAMIC_HEX.join(" ").split(" "), (h) => parseInt(h, 16)).buffer,
);

/** Midpoints between consecutive code values, in float32 (bitsandbytes `(code[:-1] + code[1:]) / 2`). */
export function codeMidpoints(code: Float32Array): Float32Array {
  const mid = new Float32Array(code.length - 1);
  for (let i = 0; i < mid.length; i++) mid[i] = Math.fround(Math.fround(code[i]! + code[i + 1]!) / 2);
  return mid;
}

/**
 * `torch.bucketize(x, bounds, right=False)`: the number of bounds strictly below x (bounds ascending), i.e. the
 * code whose midpoint interval (lo, hi] holds x. A value exactly on a midpoint takes the lower code.
 */
export function bucketize(x: number, bounds: Float32Array): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (bounds[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Round half to even (`torch.round`), the int8 quantizer's rounding. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
