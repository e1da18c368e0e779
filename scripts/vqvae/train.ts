/**
 * Train our `<seg>` VQ-VAE (big_vision vae-oid architecture) on synthetic instance masks and write it where
 * `VqVae.load` reads it; see src/codecs/vqvae/train.ts for the recipe, src/data/synth/masks.ts for the data.
 *
 *   nice -n 10 node dist/scripts/vqvae/train.js [--out models/vqvae-synth-64] [--steps 3000] [--minutes 60]
 *     [--batch 32] [--lr 1e-3] [--warmup 100] [--seed 0] [--from FILE.npz] [--save-every 100]
 *     [--eval 512] [--dtype float16|float32]
 *
 * Writes `OUT/vae.npz` (float16 by default: 2.05 M weights in 4.1 MB instead of 8.2 MB, each rounded with relative
 * error ≤ 2⁻¹¹; the held-out IoU in metrics.json is measured on the float16 file itself), `OUT/train-log.jsonl` (one line per step) and, at
 * the end, `OUT/metrics.json` (held-out round-trip IoU, codebook usage, steps, time, backend). Batches are a
 * function of (seed, step), so `--from OUT/vae.npz --start-step N` continues the same data stream (with fresh
 * AdamW moments). Held-out masks use a seed namespace training never draws from. Uses the best backend present
 * (`npm run setup:native` for TensorFlow; `PALIGEMMA_BACKEND=wasm|cpu` to force one).
 */
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { initBackend } from "../../src/backend/select.js";
import { VqVae } from "../../src/codecs/vqvae/model.js";
import { readNpz, writeNpz } from "../../src/codecs/vqvae/npz.js";
import { roundTripIou } from "../../src/codecs/vqvae/evaluate.js";
import { VqVaeTrainer, missingTrainingKernels, trainVqVae } from "../../src/codecs/vqvae/train.js";
import { heldOutInstanceMasks, trainingMaskBatch } from "../../src/data/synth/masks.js";

const argv = process.argv.slice(2);
const flag = (name: string, fallback?: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const num = (name: string, fallback: number): number => {
  const v = Number(flag(name, String(fallback)));
  if (Number.isNaN(v)) throw new Error(`--${name}: expected a number, got ${flag(name)}`);
  return v;
};
const out = flag("out", "models/vqvae-synth-64")!;
const steps = num("steps", 3000);
const minutes = num("minutes", Infinity);
const batchSize = num("batch", 32);
const seed = num("seed", 0);
const saveEvery = num("save-every", 100);
const evalCount = num("eval", 512);
const dtype = flag("dtype", "float16") as "float16" | "float32";
if (dtype !== "float16" && dtype !== "float32") throw new Error(`--dtype: float16 or float32, got ${dtype}`);
const from = flag("from");

let backend = await initBackend();
if (missingTrainingKernels().length) {
  console.log(`backend ${backend.name} lacks ${missingTrainingKernels().join(", ")} for training: using cpu (slow; npm run setup:native for speed)`);
  backend = await initBackend({ backend: "cpu", force: true });
}
await mkdir(out, { recursive: true });
const trainer = new VqVaeTrainer({ seed }, from ? await readNpz(from) : undefined);
trainer.steps = num("start-step", 0);
console.log(`backend ${backend.name}; ${from ? `continuing from ${from} at step ${trainer.steps}` : "fresh weights"}; batch ${batchSize}, ${steps} steps`);
const t0 = Date.now();
const save = async () => {
  await writeNpz(join(out, "vae.npz"), trainer.toArrays(), { dtype });
};
const logFile = join(out, "train-log.jsonl");
let window: { loss: number; iou: number; codes: number }[] = [];
await trainVqVae(trainer, {
  steps,
  learningRate: num("lr", 1e-3),
  warmupSteps: num("warmup", 100),
  deadline: Number.isFinite(minutes) ? t0 + minutes * 60_000 : undefined,
  batch: (k) => trainingMaskBatch(seed, k, batchSize),
  onStep: async (k, s, lr) => {
    await appendFile(logFile, JSON.stringify({ step: k, lr, ...s, restarts: trainer.restarts, seconds: (Date.now() - t0) / 1000 }) + "\n");
    window.push({ loss: s.loss, iou: s.iou, codes: s.codesInBatch });
    if (k % 10 === 0) {
      const m = (f: (w: (typeof window)[0]) => number) => window.reduce((a, w) => a + f(w), 0) / window.length;
      console.log(`step ${k} loss ${m((w) => w.loss).toFixed(4)} (rec ${s.reconstruction.toFixed(4)} cb ${s.codebook.toFixed(4)} commit ${s.commitment.toFixed(4)}) ` +
        `iou64 ${m((w) => w.iou).toFixed(3)} codes/batch ${m((w) => w.codes).toFixed(0)} restarts ${trainer.restarts} lr ${lr.toExponential(2)} ` +
        `${((Date.now() - t0) / 1000 / (k - (Number(flag("start-step", "0")) || 0))).toFixed(2)} s/step`);
      window = [];
    }
    if (k % saveEvery === 0) await save();
  },
});
await save();
const seconds = (Date.now() - t0) / 1000;
const vae = await VqVae.load(join(out, "vae.npz"));
const r = roundTripIou(vae, heldOutInstanceMasks(evalCount));
vae.dispose();
const metrics = {
  steps: trainer.steps, batchSize, seed, seconds: Math.round(seconds), backend: backend.name, cpus: cpus().length, cpuModel: cpus()[0]?.model,
  dtype, heldOut: { objects: r.objects, meanIou64: r.meanIou64, meanIouPasted: r.meanIouPasted, codesUsed: r.codesUsed, perplexity: r.perplexity },
  restarts: trainer.restarts,
};
await writeFile(join(out, "metrics.json"), JSON.stringify(metrics, null, 2) + "\n");
console.log(`${trainer.steps} steps in ${(seconds / 60).toFixed(1)} min; held-out (${r.objects} objects): IoU64 ${r.meanIou64.toFixed(4)}, pasted ${r.meanIouPasted.toFixed(4)}, ` +
  `codes used ${r.codesUsed}/128 (perplexity ${r.perplexity.toFixed(1)}); wrote ${join(out, "vae.npz")}`);
trainer.dispose();
