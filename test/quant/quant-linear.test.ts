/**
 * QuantLinear and quantizeModel: the forward equals a float linear holding the dequantized weight, gradients reach
 * the input only, tensors stay flat, the model's float weights are released, and QLoRA (LoRA on quantized layers)
 * starts from the quantized model exactly and counts parameters like PEFT on bitsandbytes (expected.json's line).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { Linear } from "../../src/model/linear.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { QuantLinear } from "../../src/quant/quant-linear.js";
import { quantizeModel } from "../../src/quant/quantize-model.js";
import { dequantizeAbsmax, dequantizeInt8, dequantizeNf4, doubleQuantizeAbsmax, quantizeInt8, quantizeNf4 } from "../../src/quant/blockwise.js";
import { LoraConfig } from "../../src/lora/config.js";
import { getPeftModel } from "../../src/lora/peft-model.js";
import { TINY, maxAbsDiff } from "../helpers/golden.js";
import { presentBackends, useBackend } from "../helpers/backends.js";
import { traitsOf } from "../../src/backend/traits.js";
import { goldenInputs, peftExpected } from "../lora/peft-fixture.js";

const backends = await presentBackends();

/** Host reference: the weight [in, out] → torch layout → quantize → dequantize → back to [in, out]. */
function roundTrip(w: Float32Array, inF: number, outF: number, bits: 4 | 8, doubleQuant = false): Float32Array {
  const torch = new Float32Array(w.length);
  for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) torch[o * inF + i] = w[i * outF + o]!;
  let deq: Float32Array;
  if (bits === 4) {
    const q = quantizeNf4(torch, 64);
    const absmax = doubleQuant ? dequantizeAbsmax(doubleQuantizeAbsmax(q.absmax)) : q.absmax;
    deq = dequantizeNf4(q.packed, absmax, torch.length, 64);
  } else {
    const q = quantizeInt8(torch, 64);
    deq = dequantizeInt8(q.codes, q.absmax, 64);
  }
  const out = new Float32Array(w.length);
  for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) out[i * outF + o] = deq[o * inF + i]!;
  return out;
}

for (const backend of backends) {
  describe(`QuantLinear on ${backend}`, () => {
    before(async () => useBackend(backend));
    after(async () => useBackend("cpu"));

    const paths = [[4, false, "host"], [4, true, "host"], [8, false, "host"], [4, false, "device"], [4, true, "device"], [8, false, "device"]] as const;
    const kernelPaths = traitsOf(backend).nf4DequantKernel ? ([[4, false, "kernel"], [4, true, "kernel"]] as const) : [];
    for (const [bits, doubleQuant, path] of [...paths, ...kernelPaths]) {
      test(`${bits === 4 ? "NF4" : "int8"}${doubleQuant ? " + double quant" : ""}, ${path} dequantization: forward = x·Ŵ + b, input gradient = dy·Ŵᵀ, flat tensors`, () => {
        QuantLinear.dequantizePath = path;
        const [IN, OUT] = [75, 19]; // 1425 values: 23 blocks, the last one partial
        const w = tf.variable(tf.randomNormal([IN, OUT], 0, 0.5, "float32", 1), false);
        const b = tf.variable(tf.randomNormal([OUT], 0, 0.1, "float32", 2), false);
        const q = QuantLinear.fromLinear(new Linear(w, b), { bits, doubleQuant });
        assert.deepEqual([q.inFeatures, q.outFeatures, q.numel], [IN, OUT, IN * OUT]);
        const wHat = tf.tensor2d(roundTrip(w.dataSync() as Float32Array, IN, OUT, bits, doubleQuant), [IN, OUT]);
        const stored = tf.tidy(() => tf.transpose(q.dequantize()));
        assert.equal(maxAbsDiff(stored, wHat), 0); // the device holds exactly the host quantization
        stored.dispose();
        const x = tf.randomNormal([3, 4, IN], 0, 1, "float32", 3);
        const y = q.forward(x);
        const ref = tf.tidy(() => tf.add(tf.matMul(x.reshape([12, IN]), wHat), b).reshape([3, 4, OUT]));
        assert.ok(maxAbsDiff(y, ref) < 1e-5, `forward ${maxAbsDiff(y, ref)}`);
        const dy = tf.randomNormal([3, 4, OUT], 0, 1, "float32", 4);
        const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(q.forward(xx), dy)))(x);
        const dxRef = tf.tidy(() => tf.matMul(dy.reshape([12, OUT]), tf.transpose(wHat)).reshape([3, 4, IN]));
        assert.ok(maxAbsDiff(dx, dxRef) < 1e-4, `dx ${maxAbsDiff(dx, dxRef)}`);
        const fwdBwd = () => tf.dispose(tf.grad((xx: tf.Tensor) => tf.sum(q.forward(xx)))(x));
        fwdBwd();
        const n0 = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) fwdBwd();
        assert.equal(tf.memory().numTensors, n0);
        tf.dispose([wHat, x, y, ref, dy, dx, dxRef, w, b]);
        q.dispose();
        QuantLinear.dequantizePath = "auto";
      });
    }
  });
}

describe("quantizeModel and QLoRA on the golden tiny model", () => {
  let model: PaliGemmaForConditionalGeneration;
  let inputs: Awaited<ReturnType<typeof goldenInputs>>;
  before(async () => {
    await useBackend("cpu");
    model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
    inputs = await goldenInputs();
  });
  after(() => {
    inputs.dispose();
    model.dispose();
  });

  test("bad options and skip patterns that match nothing are refused", async () => {
    assert.throws(() => quantizeModel(model, { bits: 3 as 4 }), /bits: got 3; use 4 \(NF4\) or 8/);
    assert.throws(() => quantizeModel(model, { bits: 4, blockSize: 60 }), /blockSize: got 60/);
    assert.throws(() => quantizeModel(model, { bits: 4, skip: ["lm_head"] }), /skip: lm_head matches no linear module; the model has: vision_tower/);
    assert.ok(model.namedLinears().every((s) => s.get() instanceof Linear));
  });

  test("NF4 model = float model holding the dequantized weights; float weights released; QLoRA step 0 exact", async () => {
    const expected = await peftExpected();
    const reference = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
    const q = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
    try {
      for (const slot of reference.namedLinears()) {
        const l = slot.get() as Linear;
        const [inF, outF] = l.weight.shape as [number, number];
        if (slot.name === "multi_modal_projector.linear") continue; // skipped below
        const t = tf.tensor2d(roundTrip(l.weight.dataSync() as Float32Array, inF, outF, 4), [inF, outF]);
        l.weight.assign(t);
        t.dispose();
      }
      const before = tf.memory().numBytes;
      const report = quantizeModel(q, { bits: 4, skip: ["multi_modal_projector.linear"] });
      assert.equal(report.quantized.length, 26);
      assert.deepEqual(report.skipped, ["multi_modal_projector.linear"]);
      assert.ok(!q.namedParameters().has("language_model.model.layers.0.mlp.up_proj.weight"));
      assert.ok(q.namedParameters().has("vision_tower.vision_model.encoder.layers.0.mlp.fc1.bias"));
      assert.equal(before - tf.memory().numBytes, report.floatBytes - report.quantBytes);
      assert.throws(() => quantizeModel(q, { bits: 4 }), /already quantized/);

      const want = reference.forward(inputs.train);
      const got = q.forward(inputs.train);
      assert.ok(maxAbsDiff(got.logits, want.logits) < 1e-4, `logits ${maxAbsDiff(got.logits, want.logits)}`);

      const peft = getPeftModel(q, LoraConfig.preset("maestro"), { seed: 1 });
      assert.equal(peft.printTrainableParameters(() => {}), expected.maestro.print); // PEFT counts a 4-bit weight at full size
      peft.train();
      const step0 = peft.forward(inputs.train);
      assert.equal(maxAbsDiff(step0.logits, got.logits), 0);
      const vars = [...peft.trainableParameters().values()];
      const opt = tf.train.adam(0.01);
      const step = () => opt.minimize(() => peft.forward(inputs.train).loss as tf.Scalar, true, vars)!;
      const losses = [step(), step()].map((l) => l.dataSync()[0]!);
      const n0 = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) step().dispose();
      assert.equal(tf.memory().numTensors, n0);
      const last = peft.forward(inputs.train);
      assert.ok(last.loss!.dataSync()[0]! < losses[0]!, `loss ${losses[0]} → ${last.loss!.dataSync()[0]}`);

      // mergeAndUnload on NF4 bases: dequantize, add the update, quantize again (PEFT's 4-bit merge)
      const layer = peft.loraLayers().get("language_model.model.layers.1.self_attn.o_proj")!;
      const qBase = layer.base as QuantLinear;
      const expectMerged = tf.tidy(() => tf.add(qBase.dequantize(), tf.transpose(layer.deltaWeight())));
      const [outF, inF] = expectMerged.shape;
      const requant = quantizeNf4(expectMerged.dataSync() as Float32Array, 64);
      const expectDeq = dequantizeNf4(requant.packed, requant.absmax, outF * inF, 64);
      peft.mergeAndUnload();
      const merged = q.namedLinears().find((s) => s.name === "language_model.model.layers.1.self_attn.o_proj")!.get();
      assert.ok(merged instanceof QuantLinear);
      const mergedDeq = merged.dequantize();
      const expectT = tf.tensor2d(expectDeq, [outF, inF]);
      assert.equal(maxAbsDiff(mergedDeq, expectT), 0);
      tf.dispose([expectT, want.logits, want.loss!, got.logits, got.loss!, step0.logits, step0.loss!, last.logits, last.loss!, expectMerged, mergedDeq]);
      opt.dispose();
    } finally {
      reference.dispose();
      q.dispose();
    }
  });
});
