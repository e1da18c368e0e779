/**
 * Pretrain (or continue pretraining) paligemma2-nano-pt-224; see src/nano/pretrain.ts for the recipe and USAGE
 * below for the flags (`--help`).
 *
 * A run directory that already has `state/` is resumed from it (model, heads, AdamW moments, step: the batches are
 * a function of (seed, step), so the continuation is the same run); otherwise training starts from `--from`.
 * `--export DIR` writes the trained weights as BF16 into DIR (with the tokenizer and configs) at the end.
 * Uses the best backend present (`npm run setup:native` for TensorFlow; PALIGEMMA_BACKEND to force one).
 */
import { appendFile, mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { scriptArgs } from "../../src/cli/script-args.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { backendInfo } from "../../src/backend/select.js";
import { NANO_NAME, writeNanoFiles } from "../../src/nano/checkpoint.js";
import { DEFAULT_PRETRAIN, NanoPretrainer, PRETRAIN_PHASES, type PretrainConfig } from "../../src/nano/pretrain.js";
import { readingProbe } from "../../src/nano/evaluate.js";
import { PRETRAIN_TASKS, TEXT_LAYOUTS, type PretrainTask } from "../../src/data/synth/pretrain.js";

const USAGE = `
Pretrain the nano PaliGemma 2 (or resume a run).

usage: node dist/scripts/nano/pretrain.js [options]

  --run DIR            run directory (default runs/nano-pretrain); resumed when DIR/state exists
  --minutes N          stop after N minutes (default: no limit)
  --steps N            stop after N more steps (default: no limit; 0 with --export just exports)
  --from DIR           weights, tokenizer and processor of a new run (default models/paligemma2-nano-pt-224)
  --export DIR         write the trained weights (BF16) and the checkpoint's JSON files into DIR at the end
  --seed N             data seed of a new run (default 0)
  --start-step N       a new run only: count steps from N (curriculum level N/curriculum, warmup done)
  --batch N  --lr X  --warmup N  --aux X  --order X
                       batch size (8), learning rate (1e-3), warmup steps (50), patch-head weight (1),
                       reading-order-head weight (1; 0: no order head)
  --curriculum N       steps until level 1 (default 3000)
  --max-chars N        at most N glyphs per text line (1..N uniformly; 0: no cap, the level decides)
  --alphabet CHARS     draw text from CHARS only (e.g. 0123456789: the easiest reading task); "all": random alphabets
  --mixture a=w,...    task weights, tasks ocr, caption, detect, refer, vqa (default ocr=0.5, others 0.125)
  --gap-every N        held-out image gap every N steps (25)      --save-every N   save state every N steps (50)
  --layout free|grid   text layout (free: any size; grid: one glyph per 16 px patch cell, line = patch row)
  --head linear|tied   patch head of a new run (tied: character classes scored through the token embedding)
  --phase joint|vision|decoder
                       joint: decoder CE + patch loss, every parameter (default); vision: patch loss only, vision
                       tower + projector (+ embedding with the tied head), no decoder forward: the warm-up;
                       decoder: the joint losses with the vision tower and projector frozen
  --probe-every N      reading probe (8 held-out renders, greedy) every N steps (100; 0: never)
  -h, --help           this text

On a resumed run the saved config holds; --curriculum, --max-chars, --alphabet, --mixture, --layout, --phase, --batch
and --lr change the recipe from the
current step on (saved with the next state). Example, a new run from the committed weights:

  node dist/scripts/nano/pretrain.js --run runs/nano-pretrain-2 --seed 1 --max-chars 2 --mixture ocr=0.8,caption=0.05,detect=0.05,refer=0.05,vqa=0.05 \\
    --minutes 60 --export models/paligemma2-nano-pt-224
`;
const { values } = scriptArgs(USAGE, {
  run: "string", minutes: "number", steps: "number", from: "string", export: "string", seed: "number", startStep: "number",
  batch: "number", lr: "number", warmup: "number", aux: "number", order: "number", curriculum: "number", maxChars: "number",
  alphabet: "string", mixture: "list", layout: "string", head: "string", phase: "string", gapEvery: "number", saveEvery: "number", probeEvery: "number",
});
const str = (name: string): string | undefined => values.get(name) as string | undefined;
const num = (name: string, fallback: number): number => (values.get(name) as number | undefined) ?? fallback;
function mixture(): Partial<Record<PretrainTask, number>> | undefined {
  const items = values.get("mixture") as string[] | undefined;
  if (items === undefined) return undefined;
  const out: Partial<Record<PretrainTask, number>> = {};
  for (const item of items) {
    const [k, w] = String(item).split("=");
    if (!PRETRAIN_TASKS.includes(k as PretrainTask) || w === undefined || !(Number(w) >= 0)) {
      process.stderr.write(`error: --mixture: got ${JSON.stringify(item)}; use task=weight with task one of ${PRETRAIN_TASKS.join(", ")}\n`);
      process.exit(2);
    }
    out[k as PretrainTask] = Number(w);
  }
  return out;
}
function choice<T extends string>(name: string, allowed: readonly T[]): T | undefined {
  const v = str(name);
  if (v !== undefined && !allowed.includes(v as T)) {
    process.stderr.write(`error: --${name}: got ${JSON.stringify(v)}; use one of ${allowed.join(", ")}\n`);
    process.exit(2);
  }
  return v as T | undefined;
}
const layout = choice("layout", TEXT_LAYOUTS);
const head = choice("head", ["linear", "tied"] as const);
const phase = choice("phase", PRETRAIN_PHASES);
const runDir = str("run") ?? "runs/nano-pretrain";
const from = str("from") ?? join("models", NANO_NAME);
const exportDir = str("export");
const minutes = num("minutes", Infinity);
const steps = num("steps", 1e9);

const exists = (p: string) => stat(p).then(() => true, () => false);
const resuming = await exists(join(runDir, "state", "pretrain_state.json"));
let config: PretrainConfig = {
  ...DEFAULT_PRETRAIN, seed: num("seed", DEFAULT_PRETRAIN.seed), batchSize: num("batch", DEFAULT_PRETRAIN.batchSize),
  learningRate: num("lr", DEFAULT_PRETRAIN.learningRate), curriculumSteps: num("curriculum", DEFAULT_PRETRAIN.curriculumSteps),
  auxWeight: num("aux", DEFAULT_PRETRAIN.auxWeight), warmupSteps: num("warmup", DEFAULT_PRETRAIN.warmupSteps),
  orderWeight: num("order", DEFAULT_PRETRAIN.orderWeight!), ...(head ? { head } : {}),
};
// recipe changes allowed on resume too (weights, AdamW moments and step kept; saved with the next state)
const recipe = (c: PretrainConfig): PretrainConfig => {
  let out = c;
  if (values.has("curriculum")) out = { ...out, curriculumSteps: num("curriculum", out.curriculumSteps) };
  if (values.has("maxChars")) out = { ...out, maxChars: num("maxChars", 0) > 0 ? num("maxChars", 0) : undefined };
  if (values.has("alphabet")) out = { ...out, alphabet: str("alphabet") === "all" ? undefined : str("alphabet") };
  const mix = mixture();
  if (mix) out = { ...out, mixture: mix };
  if (layout) out = { ...out, layout };
  if (phase) out = { ...out, phase };
  if (values.has("batch")) out = { ...out, batchSize: num("batch", out.batchSize) };
  if (values.has("lr")) out = { ...out, learningRate: num("lr", out.learningRate) };
  return out;
};
if (resuming) {
  config = (JSON.parse(await readFile(join(runDir, "state", "pretrain_state.json"), "utf-8")) as { config: PretrainConfig }).config;
}
config = recipe(config);
const model = await PaliGemmaForConditionalGeneration.fromPretrained(resuming ? join(runDir, "state") : from);
const processor = await PaliGemmaProcessor.fromPretrained(from);
const trainer = new NanoPretrainer(model, processor, config);
if (resuming) await trainer.restore(runDir);
else trainer.step = num("startStep", 0);
await mkdir(runDir, { recursive: true });
console.log(`backend ${backendInfo()?.name}; ${resuming ? `resuming ${runDir} at step ${trainer.step}` : `starting from ${from}`}; ` +
  `config ${JSON.stringify(config)}`);
const t0 = Date.now();
await trainer.train({
  steps, runDir, gapEvery: num("gapEvery", 25), saveEvery: num("saveEvery", 50),
  probe: num("probeEvery", 100) > 0 ? { every: num("probeEvery", 100), run: async (t) => {
    const p = await readingProbe(t.model, t.processor, { level: t.level(), maxChars: t.config.maxChars, alphabet: t.config.alphabet, layout: t.config.layout });
    console.log(`reading probe at step ${t.step}: ${p.distinct} distinct answers of ${p.examples.length}, character accuracy ` +
      `${(100 * p.charAccuracy).toFixed(1)}% | ${p.examples.slice(0, 4).map((e) => `${JSON.stringify(e.reference)}→${JSON.stringify(e.prediction)}`).join(" ")}`);
    return { readDistinct: p.distinct, readAccuracy: p.charAccuracy };
  } } : undefined,
  deadline: Number.isFinite(minutes) ? t0 + minutes * 60_000 : undefined,
  onRecord: (r) => {
    void appendFile(join(runDir, "log.jsonl"), JSON.stringify({ ...r, time: new Date().toISOString() }) + "\n");
    const gap = (r.trueLoss === undefined ? "" : ` | held-out true ${r.trueLoss.toFixed(3)} shuffled ${r.shuffledLoss!.toFixed(3)} gap ${(r.shuffledLoss! - r.trueLoss).toFixed(3)}`) +
      (r.heldOutPatchAccuracy === undefined ? "" : ` | held-out patch acc ${r.heldOutPatchAccuracy.toFixed(3)}`);
    console.log(`step ${r.step} loss ${r.loss.toFixed(3)} text ${r.textLoss.toFixed(3)} patch ${r.patchLoss.toFixed(3)} ` +
      `acc ${r.patchAccuracy.toFixed(2)}${r.orderLoss === undefined ? "" : ` order ${r.orderLoss.toFixed(3)} acc ${r.orderAccuracy!.toFixed(2)}`} |g| ${r.gradNorm.toFixed(2)} lv ${r.level.toFixed(2)} ${r.secondsPerStep.toFixed(2)} s${gap}`);
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
