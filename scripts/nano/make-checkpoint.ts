/**
 * Write `models/paligemma2-nano-pt-224/` with random weights (HF init, seeded): the checkpoint layout before
 * pretraining. Pretraining (scripts/nano/pretrain.ts) later overwrites model.safetensors with trained weights.
 *
 *   node dist/scripts/nano/make-checkpoint.js [OUT_DIR] [--seed N]
 */
import { join } from "node:path";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { NANO_NAME, nanoConfig, writeNanoFiles } from "../../src/nano/checkpoint.js";

const args = process.argv.slice(2);
const seedAt = args.indexOf("--seed");
const seed = seedAt >= 0 ? Number(args.splice(seedAt, 2)[1]) : 0;
if (!Number.isInteger(seed)) throw new Error(`--seed: expected an integer, got ${args[seedAt + 1]}`);
const out = args[0] ?? join("models", NANO_NAME);

const model = await PaliGemmaForConditionalGeneration.fromConfig(nanoConfig(), { seed });
let n = 0;
for (const v of model.namedParameters().values()) n += v.size;
await model.savePretrained(out, { dtype: "BF16" });
await writeNanoFiles(out); // after savePretrained: the compact hub-style config.json replaces the spelled-out one
model.dispose();
console.log(`${out}: ${(n / 1e6).toFixed(2)}M parameters, random (seed ${seed})`);
