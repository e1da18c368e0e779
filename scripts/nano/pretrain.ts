/**
 * Pretrain (or continue pretraining) paligemma2-nano-pt-224; see src/nano/pretrain.ts for the recipe.
 *
 *   node dist/scripts/nano/pretrain.js [--run runs/nano-pretrain] [--minutes 60] [--steps 100000]
 *     [--from models/paligemma2-nano-pt-224] [--export models/paligemma2-nano-pt-224]
 *     [--batch 8] [--lr 1e-3] [--curriculum 3000] [--aux 1] [--gap-every 25] [--save-every 50] [--seed 0]
 *     [--start-step N]   (a new run only: count steps from N, i.e. curriculum level N/curriculum, warmup done)
 *   On a resumed run every flag but --curriculum is ignored (the saved config holds); --curriculum changes the
 *   curriculum's length from the current step on (a recipe change, saved with the state).
 *
 * Continue from the committed weights (a new run: fresh AdamW moments and patch head, other data by seed):
 *   node dist/scripts/nano/pretrain.js --run runs/nano-pretrain-2 --seed 1 --start-step 800 --curriculum 2000 \
 *     --minutes 120 --export models/paligemma2-nano-pt-224
 *
 * A run directory that already has `state/` is resumed from it (model, patch head, AdamW moments, step: the
 * batches are a function of (seed, step), so the continuation is the same run); otherwise training starts from
 * `--from`. `--export DIR` writes the trained weights as BF16 into DIR (with the tokenizer and configs) at the end.
 * Uses the best backend present (`npm run setup:native` for TensorFlow; PALIGEMMA_BACKEND to force one).
 */
import { appendFile, mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { backendInfo } from "../../src/backend/select.js";
import { NANO_NAME, writeNanoFiles } from "../../src/nano/checkpoint.js";
import { DEFAULT_PRETRAIN, NanoPretrainer, type PretrainConfig } from "../../src/nano/pretrain.js";

const argv = process.argv.slice(2);
function flag(name: string, fallback: string): string;
function flag(name: string, fallback?: string): string | undefined;
function flag(name: string, fallback?: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
}
const num = (name: string, fallback: number): number => {
  const v = Number(flag(name, String(fallback)));
  if (Number.isNaN(v)) throw new Error(`--${name}: expected a number, got ${flag(name)}`);
  return v;
};
const runDir = flag("run", "runs/nano-pretrain");
const from = flag("from", join("models", NANO_NAME));
const exportDir = flag("export");
const minutes = num("minutes", Infinity);
const steps = num("steps", 1e9);

const exists = (p: string) => stat(p).then(() => true, () => false);
const resuming = await exists(join(runDir, "state", "pretrain_state.json"));
let config: PretrainConfig = {
  ...DEFAULT_PRETRAIN, seed: num("seed", DEFAULT_PRETRAIN.seed), batchSize: num("batch", DEFAULT_PRETRAIN.batchSize),
  learningRate: num("lr", DEFAULT_PRETRAIN.learningRate), curriculumSteps: num("curriculum", DEFAULT_PRETRAIN.curriculumSteps),
  auxWeight: num("aux", DEFAULT_PRETRAIN.auxWeight), warmupSteps: num("warmup", DEFAULT_PRETRAIN.warmupSteps),
};
if (resuming) {
  config = (JSON.parse(await readFile(join(runDir, "state", "pretrain_state.json"), "utf-8")) as { config: PretrainConfig }).config;
  // a recipe change on resume (weights, AdamW moments and step kept): the curriculum's length, e.g. to go back to
  // lower levels (level = step / curriculum); saved with the next state, so later resumes keep it
  if (flag("curriculum") !== undefined) config = { ...config, curriculumSteps: num("curriculum", config.curriculumSteps) };
}
const model = await PaliGemmaForConditionalGeneration.fromPretrained(resuming ? join(runDir, "state") : from);
const processor = await PaliGemmaProcessor.fromPretrained(from);
const trainer = new NanoPretrainer(model, processor, config);
if (resuming) await trainer.restore(runDir);
else trainer.step = num("start-step", 0);
await mkdir(runDir, { recursive: true });
console.log(`backend ${backendInfo()?.name}; ${resuming ? `resuming ${runDir} at step ${trainer.step}` : `starting from ${from}`}; ` +
  `config ${JSON.stringify(config)}`);
const t0 = Date.now();
await trainer.train({
  steps, runDir, gapEvery: num("gap-every", 25), saveEvery: num("save-every", 50),
  deadline: Number.isFinite(minutes) ? t0 + minutes * 60_000 : undefined,
  onRecord: (r) => {
    void appendFile(join(runDir, "log.jsonl"), JSON.stringify({ ...r, time: new Date().toISOString() }) + "\n");
    const gap = r.trueLoss === undefined ? "" : ` | held-out true ${r.trueLoss.toFixed(3)} shuffled ${r.shuffledLoss!.toFixed(3)} gap ${(r.shuffledLoss! - r.trueLoss).toFixed(3)}`;
    console.log(`step ${r.step} loss ${r.loss.toFixed(3)} text ${r.textLoss.toFixed(3)} patch ${r.patchLoss.toFixed(3)} ` +
      `acc ${r.patchAccuracy.toFixed(2)} |g| ${r.gradNorm.toFixed(2)} lv ${r.level.toFixed(2)} ${r.secondsPerStep.toFixed(2)} s${gap}`);
  },
});
console.log(`${trainer.step} steps, ${((Date.now() - t0) / 60000).toFixed(1)} min this sitting; state in ${join(runDir, "state")}`);
if (exportDir) {
  await model.savePretrained(exportDir, { dtype: "BF16" });
  await writeNanoFiles(exportDir);
  console.log(`exported BF16 weights to ${exportDir}`);
}
trainer.dispose();
model.dispose();
