#!/usr/bin/env node
/**
 * RSS over a long loop on the golden tiny model: `node --expose-gc scripts/memory/rss-loop.mjs <what> <n> [backend]`
 * with what = forward | generate | train. Prints, every n/10 iterations and after a full GC: RSS, V8 heap used,
 * external + array buffers, tf numTensors/numBytes, and the sizes of TF.js engine registries that can grow.
 * Used to find the cause of issue 13.12; the bounded version is test/memory-rss.test.ts.
 */
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const D = join(REPO, "dist");
const { tf } = await import(join(D, "src", "tf.js"));
const { PaliGemmaForConditionalGeneration } = await import(join(D, "src", "model", "paligemma.js"));
const { generate } = await import(join(D, "src", "generate", "generate.js"));
const { Golden, TINY } = await import(join(D, "test", "helpers", "golden.js"));
const [what = "forward", nArg = "200", backend = "cpu"] = process.argv.slice(2);
const n = Number(nArg);
const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend });
const g = await Golden.open();
const t = {};
for (const k of ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"]) t[k] = await g.tensor(`inputs.${k}`);
const train = { pixelValues: t.pixel_values, inputIds: t.input_ids, attentionMask: t.attention_mask, tokenTypeIds: t.token_type_ids, labels: t.labels };
const px = tf.slice(train.pixelValues, [0, 0, 0, 0], [1, -1, -1, -1]);
const prompt = await g.tensor("gen.s0.prompt_ids");
const vars = [...model.namedParameters().values()];
const opt = tf.train.adam(1e-5);
const step = async () => {
  if (what === "forward") {
    const o = model.forward(train);
    await o.logits.data();
    tf.dispose([o.logits, o.loss]);
  } else if (what === "generate") {
    const out = await generate(model, { pixelValues: px, inputIds: prompt }, { maxNewTokens: 8 });
    void out;
  } else {
    opt.minimize(() => model.forward(train).loss, false, vars);
  }
};
const mb = (x) => (x / 1048576).toFixed(1);
const engine = tf.engine();
const report = (i) => {
  global.gc?.();
  const m = process.memoryUsage();
  const s = engine.state;
  const backendData = engine.backend?.data?.numDataIds?.() ?? -1;
  console.log(`${String(i).padStart(5)} rss ${mb(m.rss)} heap ${mb(m.heapUsed)} ext ${mb(m.external)} ab ${mb(m.arrayBuffers)} | tensors ${tf.memory().numTensors} bytes ${tf.memory().numBytes} dataIds ${backendData} tensorInfo ${s.tensorInfo?.size ?? "?"} registeredVars ${Object.keys(s.registeredVariables).length} kernelDepth ${s.kernelDepth} activeTape ${s.activeTape ? s.activeTape.length : "null"} profiling ${s.profiling} activeProfileKernels ${s.activeProfile?.kernels?.length}`);
};
for (let i = 0; i < 3; i++) await step();
report(0);
for (let i = 1; i <= n; i++) {
  await step();
  if (i % Math.max(1, Math.floor(n / 10)) === 0) report(i);
}
