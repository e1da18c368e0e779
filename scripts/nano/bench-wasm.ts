/**
 * How fast the nano model trains and decodes on a backend (default WASM, the backend of a machine without
 * `setup:native`): B=1 forward+backward for a pretraining-sized row and for a pallet manifest (full and LoRA r=8 on
 * q,k,v,o,gate,up,down, the main job's setting), and greedy decode tokens/s. Numbers go in the model card.
 *
 *   node dist/scripts/nano/bench-wasm.js [MODEL_DIR] [--backend wasm|cpu|tensorflow] [--reps 3]
 */
import { join } from "node:path";
import { scriptArgs } from "../../src/cli/script-args.js";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { LoraConfig, PALIGEMMA_PROJECTIONS, getPeftModel } from "../../src/lora/index.js";
import { backendInfo, type BackendName } from "../../src/backend/select.js";
import { NANO_NAME } from "../../src/nano/checkpoint.js";
import { makeManifest, MANIFEST_PREFIX } from "../../src/data/synth/manifests.js";
import { Random } from "../../src/data/synth/common.js";
import type { ModelBatch } from "../../src/data/types.js";

const USAGE = `
How fast the nano model trains and decodes on a backend (numbers for the model card).

usage: node dist/scripts/nano/bench-wasm.js [MODEL_DIR] [options]

  MODEL_DIR            checkpoint (default models/paligemma2-nano-pt-224)
  --backend NAME       wasm (default), cpu or tensorflow
  --reps N             timed repetitions after one warm-up (default 3)
  -h, --help           this text

Example: node dist/scripts/nano/bench-wasm.js --backend tensorflow --reps 5
`;
const args = scriptArgs(USAGE, { backend: "string", reps: "number" }, { maxPositional: 1 });
const backend = ((args.values.get("backend") as string | undefined) ?? "wasm") as BackendName;
const reps = (args.values.get("reps") as number | undefined) ?? 3;
const dir = args.positional[0] ?? join("models", NANO_NAME);
const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend });
const processor = await PaliGemmaProcessor.fromPretrained(dir);
const { height: H, width: W } = processor.config;
const pixels = () => tf.randomUniform([1, 3, H, W], -1, 1, "float32", 1);
const batchOf = (prefix: string, suffix: string): ModelBatch => {
  const t = processor.encodeText([prefix], [suffix]);
  const L = t.seqLength;
  return { pixelValues: pixels(), inputIds: tf.tensor2d(t.inputIds, [1, L], "int32"), attentionMask: tf.tensor2d(t.attentionMask, [1, L], "int32"),
    tokenTypeIds: tf.tensor2d(t.tokenTypeIds, [1, L], "int32"), labels: tf.tensor2d(t.labels!, [1, L], "int32") };
};
async function fwdBwd(m: { computeLoss(b: ModelBatch): tf.Scalar; trainableParameters(): Map<string, tf.Variable> }, b: ModelBatch): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < reps + 1; r++) {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => m.computeLoss(b), [...m.trainableParameters().values()]);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    if (r > 0) times.push((performance.now() - t0) / 1000); // the first call warms up
  }
  return times.sort((a, c) => a - c)[Math.floor(times.length / 2)]!;
}
const manifest = JSON.stringify(makeManifest(new Random(7)));
const short = batchOf("ocr", "Kq7 ZP2x");
const long = batchOf(MANIFEST_PREFIX, manifest);
console.log(`backend ${backendInfo()?.name}; rows: pretraining L=${short.inputIds.shape[1]}, manifest L=${long.inputIds.shape[1]} (${manifest.length} chars)`);
console.log(`full fwd+bwd, pretraining row: ${(await fwdBwd(model, short)).toFixed(2)} s`);
console.log(`full fwd+bwd, manifest row: ${(await fwdBwd(model, long)).toFixed(2)} s`);
const peft = getPeftModel(model, new LoraConfig({ r: 8, loraAlpha: 16, targetModules: PALIGEMMA_PROJECTIONS }));
console.log(`LoRA r=8 fwd+bwd, manifest row: ${(await fwdBwd(peft, long)).toFixed(2)} s`);
const prompt = processor.encodeText([MANIFEST_PREFIX]);
const inputIds = tf.tensor2d(prompt.inputIds, [1, prompt.seqLength], "int32");
const px = pixels();
const t0 = performance.now();
const n = 64;
const { sequences } = await peft.generate({ pixelValues: px, inputIds }, { maxNewTokens: n });
const made = sequences[0]!.length - prompt.seqLength;
console.log(`greedy decode: ${(made / ((performance.now() - t0) / 1000)).toFixed(1)} tokens/s (prefill included, ${made} tokens)`);
