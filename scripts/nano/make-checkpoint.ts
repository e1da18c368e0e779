/**
 * Write `models/paligemma2-nano-pt-224/` with random weights (HF init, seeded): the checkpoint layout before
 * pretraining. Pretraining (scripts/nano/pretrain.ts) later overwrites model.safetensors with trained weights.
 *
 *   node dist/scripts/nano/make-checkpoint.js [OUT_DIR] [--seed N]
 */
import { join } from "node:path";
import { scriptArgs } from "../../src/cli/script-args.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { NANO_NAME, nanoConfig, writeNanoFiles } from "../../src/nano/checkpoint.js";

const USAGE = `
Write the nano PaliGemma 2 checkpoint with random weights (HF init, seeded): the layout before pretraining.

usage: node dist/scripts/nano/make-checkpoint.js [OUT_DIR] [options]

  OUT_DIR              where to write (default models/paligemma2-nano-pt-224: overwrites the trained weights!)
  --seed N             initialisation seed, an integer (default 0)
  -h, --help           this text

Example: node dist/scripts/nano/make-checkpoint.js /tmp/nano-random --seed 3
`;
const args = scriptArgs(USAGE, { seed: "number" }, { maxPositional: 1 });
const seed = (args.values.get("seed") as number | undefined) ?? 0;
if (!Number.isInteger(seed)) {
  process.stderr.write(`error: --seed: expected an integer, got ${seed}\n\n${USAGE.trim()}\n`);
  process.exit(2);
}
const out = args.positional[0] ?? join("models", NANO_NAME);

const model = await PaliGemmaForConditionalGeneration.fromConfig(nanoConfig(), { seed });
let n = 0;
for (const v of model.namedParameters().values()) n += v.size;
await model.savePretrained(out, { dtype: "BF16" });
await writeNanoFiles(out); // after savePretrained: the compact hub-style config.json replaces the spelled-out one
model.dispose();
console.log(`${out}: ${(n / 1e6).toFixed(2)}M parameters, random (seed ${seed})`);
