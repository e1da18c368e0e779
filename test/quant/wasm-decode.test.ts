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
import { QuantLinear } from "../../src/quant/quant-linear.js";
import { Linear } from "../../src/model/linear.js";
import { firstBitDifference, loadBnbFixture, type BnbFixture } from "./bnb-fixture.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

const backends = await presentBackends();
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

for (const backend of backends) {
  describe(`QuantLinear products borrowing the decoder's memory (${backend})`, () => {
    test("two NF4 layers in a chain, forward and input gradient = float products of their own weights; dequantize() copies stay intact", async () => {
      await useBackend(backend);
      // whole blocks (the borrowed path), the second layer larger so the decoder's memory grows between them
      const layer = (i: number, o: number, seed: number) =>
        QuantLinear.fromLinear(new Linear(tf.variable(tf.randomNormal([i, o], 0, 0.3, "float32", seed), false), null), { bits: 4, doubleQuant: true });
      const [a, b] = [layer(64, 96, 1), layer(96, 256, 2)];
      const [wa, wb] = [a.dequantize(), b.dequantize()]; // float32[out, in], owned here
      const [wa0, wb0] = [(wa.dataSync() as Float32Array).slice(), (wb.dataSync() as Float32Array).slice()];
      const x = tf.randomNormal([5, 64], 0, 1, "float32", 3);
      const f = (xx: tf.Tensor) => tf.sum(tf.square(b.forward(a.forward(xx))));
      const ref = (xx: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.matMul(xx, wa, false, true), wb, false, true)));
      const [y, yRef] = [f(x), ref(x)];
      const [g, gRef] = [tf.grad(f)(x), tf.grad(ref)(x)];
      assert.ok(Math.abs(y.dataSync()[0]! - yRef.dataSync()[0]!) <= 1e-4 * Math.abs(yRef.dataSync()[0]!), `${y.dataSync()[0]} vs ${yRef.dataSync()[0]}`);
      const gd = g.dataSync() as Float32Array;
      const worst = (gRef.dataSync() as Float32Array).reduce((m, v, i) => Math.max(m, Math.abs(v - gd[i]!)), 0);
      assert.ok(worst <= 1e-3, `input gradient off by ${worst}`);
      assert.equal(firstBitDifference(wa.dataSync() as Float32Array, wa0), -1, "a's dequantize() copy unchanged by later decodes");
      assert.equal(firstBitDifference(wb.dataSync() as Float32Array, wb0), -1, "b's dequantize() copy unchanged by later decodes");
      const before = tf.memory().numTensors;
      tf.dispose(tf.grad(f)(x));
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([wa, wb, x, y, yRef, g, gRef]);
      a.dispose();
      b.dispose();
    });
  });
}
