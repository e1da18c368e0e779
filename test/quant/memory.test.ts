/**
 * QLoRA's point is memory: on the benchmark `small` model (bench/configs/small, 106.6M parameters, 80.1M of them
 * in linears, the tied 26.1M embedding staying float32 as bitsandbytes leaves it) the resident weights after
 * `quantizeModel`, measured with `tf.memory().numBytes`, must be at most 0.35× the float32 model — also with the
 * device dequantization path, whose shared lookup tables (1.5 MiB) then count too. Storage size does not depend on the values, so the weights are a constant fill (a random
 * 106M-parameter init would take most of this test's time).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { initBackend } from "../../src/backend/select.js";
import { parsePaliGemmaConfig } from "../../src/config/paligemma.js";
import { internalShape } from "../../src/io/keymap.js";
import { paliGemmaParamSpecs } from "../../src/model/layers.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { QuantLinear } from "../../src/quant/quant-linear.js";
import { disposeQuantizedLayers, quantizeModel } from "../../src/quant/quantize-model.js";
import { disposeQuantLookupTables } from "../../src/quant/device.js";
import { benchConfigPath } from "../helpers/paths.js";

await initBackend({ backend: "cpu", force: true });

async function smallModel(): Promise<PaliGemmaForConditionalGeneration> {
  const cfg = parsePaliGemmaConfig(JSON.parse(await readFile(benchConfigPath("small"), "utf-8")));
  const params = new Map<string, tf.Variable>();
  for (const spec of paliGemmaParamSpecs(cfg)) {
    const t = tf.fill(internalShape(spec), 0.02);
    params.set(spec.name, tf.variable(t, true));
    t.dispose();
  }
  return new PaliGemmaForConditionalGeneration(cfg, params);
}

for (const [label, opts, bound, path] of [
  ["NF4 + double quantization", { bits: 4, doubleQuant: true }, 0.35, "auto"],
  ["NF4 + double quantization, device dequantization", { bits: 4, doubleQuant: true }, 0.35, "device"],
  ["NF4", { bits: 4, doubleQuant: false }, 0.36, "auto"],
  ["int8", { bits: 8 }, 0.46, "auto"],
] as const) {
  test(`small: ${label} keeps ≤ ${bound}× of the float32 weight bytes resident`, async () => {
    disposeQuantLookupTables(); // a device-path run below builds them again, and they count
    QuantLinear.dequantizePath = path;
    const baseline = tf.memory().numBytes;
    const model = await smallModel();
    try {
      const floatBytes = tf.memory().numBytes - baseline;
      const report = quantizeModel(model, opts);
      assert.equal(report.quantized.length, 6 * 6 + 1 + 8 * 7); // every linear of SigLIP, projector and Gemma 2
      const layer = model.namedLinears()[0]!.get() as QuantLinear;
      tf.dispose(layer.dequantize()); // a first use: the device path builds its lookup tables here
      const resident = tf.memory().numBytes - baseline;
      const ratio = resident / floatBytes;
      console.log(`small ${label}: ${(floatBytes / 2 ** 20).toFixed(1)} MiB → ${(resident / 2 ** 20).toFixed(1)} MiB = ${ratio.toFixed(4)}×`);
      assert.ok(ratio <= bound, `ratio ${ratio}`);
      // bytes per quantized value: NF4 ½ + absmax 4/64 (or DQ: 1/64 + 4/(64·256) + offset), int8 1 + 4/64
      const n = report.floatBytes / 4;
      const perValue = opts.bits === 8 ? 1 + 4 / 64 : opts.doubleQuant ? 0.5 + 1 / 64 : 0.5 + 4 / 64;
      assert.ok(Math.abs(report.quantBytes / n - perValue) < 0.002, `${report.quantBytes / n} bytes per value`);
    } finally {
      disposeQuantizedLayers(model);
      model.dispose();
      disposeQuantLookupTables();
      QuantLinear.dequantizePath = "auto";
    }
    assert.equal(tf.memory().numBytes, baseline); // codes, scales and tables all freed
  });
}
