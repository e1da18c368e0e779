/**
 * Host-side NF4 / int8 / double quantization against bitsandbytes 0.50.2 (CPU) itself: the fixtures in
 * test/fixtures/nf4/bnb_nf4.safetensors were made by gen_bnb_nf4.py next to them, from `quantize_4bit`,
 * `dequantize_4bit` (with and without `compress_statistics`) and `int8_vectorwise_quant/dequant`.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { DYNAMIC_CODE, NF4_CODE } from "../../src/quant/codebooks.js";
import {
  dequantizeAbsmax,
  dequantizeInt8,
  dequantizeNf4,
  doubleQuantizeAbsmax,
  quantizeInt8,
  quantizeNf4,
} from "../../src/quant/blockwise.js";
import { firstBitDifference, firstByteDifference, loadBnbFixture, type BnbFixture } from "./bnb-fixture.js";

let fx: BnbFixture;
before(async () => {
  fx = await loadBnbFixture();
});

/**
 * Inverse standard-normal CDF (Acklam's rational approximation, relative error < 1.2e-9): enough to re-derive the
 * NF4 table to 1e-6 without scipy.
 */
function normPpf(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

describe("code tables", () => {
  test("NF4 and dynamic maps equal bitsandbytes' tables bit for bit", () => {
    assert.equal(firstBitDifference(NF4_CODE, fx.nf4Code), -1);
    assert.equal(firstBitDifference(DYNAMIC_CODE, fx.dynamicCode), -1);
  });

  test("NF4 re-derived from normal quantiles (QLoRA §3; bnb create_normal_map(offset=0.9677083))", () => {
    // 8 positive levels: quantiles at 8 of 9 evenly spaced probabilities from `offset` down to 0.5 (the last, 0.5,
    // would be 0 and is dropped); 7 negative levels likewise with 8 points; plus an exact 0; normalised by the max.
    // offset = 1 − ½(1/32 + 1/30) centres the outermost levels inside the tails (the paper's δ).
    const offset = 0.9677083;
    const lin = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
    const pos = lin(offset, 0.5, 9).slice(0, -1).map(normPpf);
    const neg = lin(offset, 0.5, 8).slice(0, -1).map((p) => -normPpf(p));
    const all = [...pos, 0, ...neg].sort((x, y) => x - y);
    const max = Math.max(...all);
    all.forEach((v, i) => assert.ok(Math.abs(v / max - NF4_CODE[i]!) < 1e-6, `level ${i}: ${v / max} vs ${NF4_CODE[i]}`));
    assert.equal(NF4_CODE[7], 0); // code 7 is an exact zero (zero blocks and padding decode to 0)
  });
});

describe("NF4 quantization equals bitsandbytes (blocksize 64)", () => {
  test("packed bytes, absmax and dequantized values, every case", () => {
    for (const c of fx.cases) {
      const { packed, absmax } = quantizeNf4(c.x, 64);
      assert.equal(firstByteDifference(packed, c.nf4.packed), -1, `${c.name}: packed bytes`);
      assert.equal(firstBitDifference(absmax, c.nf4.absmax), -1, `${c.name}: absmax`);
      const back = dequantizeNf4(c.nf4.packed, c.nf4.absmax, c.x.length, 64);
      assert.equal(firstBitDifference(back, c.nf4.dequant), -1, `${c.name}: dequantize_4bit`);
    }
  });

  test("an odd count pads the last byte's low nibble with code 7, as bitsandbytes", () => {
    const odd = fx.cases.find((c) => c.name === "odd")!; // 7×37 = 259 values
    assert.equal(odd.nf4.packed.length, 130);
    assert.equal(odd.nf4.packed[129]! & 15, 7);
    assert.equal(quantizeNf4(odd.x).packed[129]! & 15, 7);
  });

  test("zero blocks stay zero and a lone value comes back exactly", () => {
    const s = fx.cases.find((c) => c.name === "special")!;
    const back = dequantizeNf4(quantizeNf4(s.x).packed, quantizeNf4(s.x).absmax, s.x.length);
    for (let i = 64; i < 128; i++) assert.equal(back[i], 0);
    assert.equal(back[128 + 17], -3.5);
  });
});

describe("double quantization (compress_statistics=True)", () => {
  test("absmax from bitsandbytes' double-quantized state is bit-exact, and so are the weights", () => {
    for (const c of fx.cases) {
      const absmax = dequantizeAbsmax({ ...c.nf4dq, groupSize: 256, code: fx.dynamicCode });
      const back = dequantizeNf4(c.nf4.packed, absmax, c.x.length, 64);
      assert.equal(firstBitDifference(back, c.nf4dq.dequant), -1, `${c.name}: dequantize_4bit (nested)`);
    }
  });

  test("our absmax codes pick the nearest map value; bitsandbytes' CPU search agrees on ≥ 99% and is never closer", () => {
    let same = 0;
    let total = 0;
    for (const c of fx.cases) {
      const ours = doubleQuantizeAbsmax(c.nf4.absmax, 256);
      // the offset is a float32 mean: torch sums pairwise in float32, we in float64, so the last bit may differ
      assert.ok(Math.abs(ours.offset - c.nf4dq.offset) <= 1e-6 * Math.abs(c.nf4dq.offset), `${c.name}: offset`);
      ours.absmax2.forEach((a, g) => assert.ok(Math.abs(a - c.nf4dq.absmax2[g]!) <= 1e-6 * a, `${c.name}: absmax2[${g}]`));
      for (let i = 0; i < ours.qabsmax.length; i++) {
        total++;
        if (ours.qabsmax[i] === c.nf4dq.qabsmax[i]) {
          same++;
          continue;
        }
        const v = (c.nf4.absmax[i]! - ours.offset) / ours.absmax2[Math.floor(i / 256)]!;
        const dOurs = Math.abs(v - DYNAMIC_CODE[ours.qabsmax[i]!]!);
        const dBnb = Math.abs(v - DYNAMIC_CODE[c.nf4dq.qabsmax[i]!]!);
        assert.ok(dOurs <= dBnb, `${c.name} block ${i}: ours ${dOurs} farther than bitsandbytes ${dBnb}`);
      }
    }
    assert.ok(same / total >= 0.99, `agreement ${same}/${total}`);
  });
});

describe("int8 blockwise = int8_vectorwise_quant on rows of 64", () => {
  test("codes, absmax and dequantized values", () => {
    const withInt8 = fx.cases.filter((c) => c.int8);
    assert.ok(withInt8.length >= 2);
    for (const c of withInt8) {
      const { codes, absmax } = quantizeInt8(c.x, 64);
      assert.equal(firstByteDifference(codes, c.int8!.q), -1, `${c.name}: int8 codes`);
      assert.equal(firstBitDifference(absmax, c.int8!.absmax), -1, `${c.name}: absmax`);
      assert.equal(firstBitDifference(dequantizeInt8(c.int8!.q, c.int8!.absmax, 64), c.int8!.dequant), -1, `${c.name}: dequant`);
    }
  });

  test("round half to even, like torch.round", () => {
    // absmax 127 → scale exactly 1: 2.5 → 2, 3.5 → 4, -2.5 → -2
    const x = new Float32Array(64);
    x.set([127, 2.5, 3.5, -2.5, 0.5]);
    assert.deepEqual(Array.from(quantizeInt8(x).codes.slice(0, 5)), [127, 2, 4, -2, 0]);
  });
});

describe("argument errors name the field", () => {
  for (const [label, bs] of [["odd", 63], ["zero", 0], ["fraction", 6.5]] as const) {
    test(`blockSize ${label}`, () => {
      assert.throws(() => quantizeNf4(new Float32Array(8), bs), /blockSize: got/);
      assert.throws(() => quantizeInt8(new Float32Array(8), bs), /blockSize: got/);
    });
  }
});
