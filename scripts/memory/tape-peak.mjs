#!/usr/bin/env node
/**
 * Peak TF.js bytes of one forward+backward on the golden tiny model, all parameters trainable vs vision tower and
 * projector frozen (`node scripts/memory/tape-peak.mjs [backend]`). Part of the issue 13.12 bisection: if freezing
 * barely lowers the peak, the frozen tower's activations are still held by the gradient tape.
 */
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const D = join(REPO, "dist");
const { tf } = await import(join(D, "src", "tf.js"));
const { PaliGemmaForConditionalGeneration } = await import(join(D, "src", "model", "paligemma.js"));
const { Golden, TINY } = await import(join(D, "test", "helpers", "golden.js"));
const backend = process.argv[2] ?? "cpu";
const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend });
const g = await Golden.open();
const t = {};
for (const k of ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"]) t[k] = await g.tensor(`inputs.${k}`);
const inputs = { pixelValues: t.pixel_values, inputIds: t.input_ids, attentionMask: t.attention_mask, tokenTypeIds: t.token_type_ids, labels: t.labels };
const named = [...model.namedParameters()];
for (const [label, vars] of [
  ["all trainable", named.map(([, v]) => v)],
  ["vision + projector frozen", named.filter(([n]) => !n.startsWith("vision_tower") && !n.startsWith("multi_modal_projector")).map(([, v]) => v)],
]) {
  const p = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => model.forward(inputs).loss, vars);
    tf.dispose([value, ...Object.values(grads)]);
  });
  const visionKernels = p.kernels.length;
  console.log(`${label.padEnd(28)} vars ${String(vars.length).padStart(3)}  peak ${(p.peakBytes / 1024).toFixed(0)} KiB  kernels ${visionKernels}  newBytes ${p.newBytes}`);
}
