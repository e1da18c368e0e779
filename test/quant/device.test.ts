/**
 * Dequantization on the TF.js device (int32-packed codes, lookup tables, bitwiseAnd unpacking) is bit-exact with
 * bitsandbytes' `dequantize_4bit` / `int8_vectorwise_dequant` (fixtures: test/fixtures/nf4/gen_bnb_nf4.py), on every
 * backend present, and leaves no tensors behind.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { dequantizeOnDevice, disposeQuantized, uploadQuantized, type DeviceQuantized } from "../../src/quant/device.js";
import { traitsOf } from "../../src/backend/traits.js";
import { dequantizeNf4WithKernel } from "../../src/quant/kernel-decode.js";
import { firstBitDifference, loadBnbFixture, type BnbFixture } from "./bnb-fixture.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

const backends = await presentBackends();
let fx: BnbFixture;
before(async () => {
  fx = await loadBnbFixture();
});

function deviceDequant(d: DeviceQuantized, kernel?: string): Float32Array {
  const w = tf.tidy(() => (kernel ? dequantizeNf4WithKernel(d, kernel) : dequantizeOnDevice(d)));
  const out = w.dataSync().slice() as Float32Array;
  w.dispose();
  return out;
}

for (const backend of backends) {
  describe(`device dequantization on ${backend}`, () => {
    before(async () => useBackend(backend));
    after(async () => useBackend("cpu"));

    test("NF4: bit-exact with dequantize_4bit for every case (odd sizes, zero blocks, 257 blocks)", () => {
      for (const c of fx.cases) {
        const d = uploadQuantized({ quantType: "nf4", blockSize: 64, shape: c.shape, bytes: c.nf4.packed, absmax: c.nf4.absmax });
        const got = deviceDequant(d);
        disposeQuantized(d);
        const at = firstBitDifference(got, c.nf4.dequant);
        assert.equal(at, -1, `${c.name}[${at}]: ${got[at]} vs ${c.nf4.dequant[at]}`);
      }
    });

    test("NF4 with double-quantized absmax: bit-exact with the nested dequantize_4bit", () => {
      for (const c of fx.cases) {
        const absmax = { ...c.nf4dq, groupSize: 256, code: fx.dynamicCode };
        const d = uploadQuantized({ quantType: "nf4", blockSize: 64, shape: c.shape, bytes: c.nf4.packed, absmax });
        const got = deviceDequant(d);
        disposeQuantized(d);
        assert.equal(firstBitDifference(got, c.nf4dq.dequant), -1, c.name);
      }
    });

    test("int8: bit-exact with int8_vectorwise_dequant", () => {
      for (const c of fx.cases.filter((k) => k.int8)) {
        const bytes = new Uint8Array(c.int8!.q.buffer, c.int8!.q.byteOffset, c.int8!.q.length);
        const d = uploadQuantized({ quantType: "int8", blockSize: 64, shape: c.shape, bytes, absmax: c.int8!.absmax });
        const got = deviceDequant(d);
        disposeQuantized(d);
        assert.equal(firstBitDifference(got, c.int8!.dequant), -1, c.name);
      }
    });

    const kernel = traitsOf(backend).nf4DequantKernel;
    if (kernel) {
      test(`NF4 through the backend's ${kernel} kernel: bit-exact with dequantize_4bit, plain and double-quantized absmax; flat tensors`, () => {
        for (const c of fx.cases) {
          for (const [absmax, want] of [[c.nf4.absmax, c.nf4.dequant], [{ ...c.nf4dq, groupSize: 256, code: fx.dynamicCode }, c.nf4dq.dequant]] as const) {
            const d = uploadQuantized({ quantType: "nf4", blockSize: 64, shape: c.shape, bytes: c.nf4.packed, absmax });
            deviceDequant(d, kernel); // warm-up: the lookup table is built once
            const before = tf.memory().numTensors;
            const got = deviceDequant(d, kernel);
            assert.equal(tf.memory().numTensors, before, `${c.name}: no tensor left behind`);
            disposeQuantized(d);
            const at = firstBitDifference(got, want);
            assert.equal(at, -1, `${c.name}[${at}]: ${got[at]} vs ${want[at]}`);
          }
        }
      });
    }

    test("storage is 8 NF4 codes per int32 (+ one float32 absmax per 64), and the tensor count stays flat", () => {
      const c = fx.cases.find((k) => k.name === "many")!; // 257 × 64
      const d = uploadQuantized({ quantType: "nf4", blockSize: 64, shape: c.shape, bytes: c.nf4.packed, absmax: c.nf4.absmax });
      assert.equal(d.words.dtype, "int32");
      assert.equal(d.words.size, (257 * 64) / 8);
      assert.equal(d.absmax!.size, 257);
      deviceDequant(d); // warm-up: builds the lookup table once
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) deviceDequant(d);
      assert.equal(tf.memory().numTensors, before);
      disposeQuantized(d);
      assert.equal(tf.memory().numTensors, before - 2);
    });
  });
}
