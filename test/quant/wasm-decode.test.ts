/**
 * The WebAssembly SIMD NF4 decoder (src/quant/wasm-decode.ts) against bitsandbytes' `dequantize_4bit` (fixtures:
 * test/fixtures/nf4/gen_bnb_nf4.py) bit for bit — odd sizes, zero blocks, 257 blocks, plain and double-quantized
 * absmax — and against the JS loop it speeds up; block sizes it does not handle fall back to that loop.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { initBackend } from "../../src/backend/select.js";
import { decodeNf4Wasm } from "../../src/quant/wasm-decode.js";
import { decodeHost } from "../../src/quant/host-decode.js";
import { disposeQuantized, uploadQuantized } from "../../src/quant/device.js";
import { quantizeHost } from "../../src/quant/quant-linear.js";
import { dequantizeAbsmax } from "../../src/quant/blockwise.js";
import { firstBitDifference, loadBnbFixture, type BnbFixture } from "./bnb-fixture.js";

await initBackend({ backend: "cpu" });
let fx: BnbFixture;
before(async () => {
  fx = await loadBnbFixture();
});

describe("NF4 decode with WebAssembly SIMD", () => {
  test("= bitsandbytes dequantize_4bit for every fixture case, plain and double-quantized absmax", () => {
    for (const c of fx.cases) {
      const n = c.shape[0] * c.shape[1];
      const blocks = Math.ceil(n / 64);
      const packed = new Uint8Array(blocks * 32); // whole blocks, as the device storage pads them
      packed.set(c.nf4.packed);
      const dqAbsmax = dequantizeAbsmax({ ...c.nf4dq, groupSize: 256, code: fx.dynamicCode });
      for (const [absmax, want, what] of [[c.nf4.absmax, c.nf4.dequant, "plain"], [dqAbsmax, c.nf4dq.dequant, "double quant"]] as const) {
        const got = decodeNf4Wasm(packed, absmax, blocks, 64);
        assert.ok(got, "WebAssembly SIMD runs in Node 20");
        assert.equal(got.length, blocks * 64);
        const at = firstBitDifference(got.subarray(0, n), want);
        assert.equal(at, -1, `${c.name} (${what})[${at}]: ${got[at]} vs ${want[at]}`);
      }
    }
  });

  test("= the JS loop through decodeHost, for sizes that end mid-block; block size 32 too; 48 falls back (null)", () => {
    for (const [rows, cols, blockSize] of [[1, 8, 64], [7, 33, 64], [3, 100, 32], [64, 65, 64]] as const) {
      const w = Float32Array.from({ length: rows * cols }, (_, k) => Math.sin(k * 0.37) * 0.05 * (1 + (k % 7)));
      const d = uploadQuantized(quantizeHost(w, [rows, cols], { bits: 4, blockSize, doubleQuant: true }));
      const [simd, loop] = [decodeHost(d), decodeHost(d, { simd: false })];
      disposeQuantized(d);
      assert.equal(simd.length, rows * cols);
      assert.equal(firstBitDifference(simd, loop), -1, `[${rows}, ${cols}] block ${blockSize}`);
    }
    assert.equal(decodeNf4Wasm(new Uint8Array(24), new Float32Array(1), 1, 48), null);
    assert.throws(() => decodeNf4Wasm(new Uint8Array(8), new Float32Array(1), 1, 64), /1 blocks of 64 need 32 bytes and 1 scales, got 8 and 1/);
    assert.equal(tf.memory().numTensors, 0);
  });
});
