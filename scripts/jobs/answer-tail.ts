/**
 * Where a fine-tuned run's answers end, measured: for each example of a split, the teacher-forced loss of the
 * suffix's last tokens (for the json task `]`, `}`, `<eos>`) with the model's top candidates there, the largest
 * P(<eos>) before the true end (where an early stop can come from), and the beam-search answer with its length.
 * This is how the main job's "answers stop after the first item" was traced to P(<eos>) after an item's `}`
 * (README, `MAIN_JOB_TRAINING`).
 *
 *   node dist/scripts/jobs/answer-tail.js RUN_DIR [--split test] [--samples 4] [--tail 4] [--no-generate]
 */
import { scriptArgs } from "../../src/cli/script-args.js";
import { loadForInference } from "../../src/jobs/run-dir.js";
import { loadDataset } from "../../src/data/dataset.js";
import { disposeBatch } from "../../src/generate/dataset.js";
import { tf } from "../../src/tf.js";

const USAGE = `
Teacher-forced loss of the last suffix tokens, P(<eos>) before the end, and the beam answer, per example of a run.

usage: node dist/scripts/jobs/answer-tail.js RUN_DIR [options]

  RUN_DIR            a run directory (npm start's runs/<timestamp>, or paligemma-ts train --out)
  --split NAME       split of the run's data folder (default test)
  --samples N        examples (default 4)
  --tail N           last suffix tokens to show (default 4: for json "}", "]", "}", <eos>)
  --no-generate      teacher-forced numbers only (no beam search)
  -h, --help         this text

Example: node dist/scripts/jobs/answer-tail.js runs/2026-12-03T18-00-00 --samples 10
`;
const args = scriptArgs(USAGE, { split: "string", samples: "number", tail: "number", noGenerate: "boolean" }, { maxPositional: 1 });
const runDir = args.positional[0];
if (!runDir) {
  process.stderr.write(`error: RUN_DIR is required\n\n${USAGE.trim()}\n`);
  process.exit(2);
}
const splitName = (args.values.get("split") as string | undefined) ?? "test";
const tail = (args.values.get("tail") as number | undefined) ?? 4;
const { model, processor, run } = await loadForInference(runDir);
if (!run) throw new Error(`${runDir}: not a run directory (no run.json)`);
model.eval();
const split = (await loadDataset(run.data))[splitName as "train" | "valid" | "test"];
if (!split) throw new Error(`${run.data}: no ${splitName} split`);
const n = Math.min(split.length, (args.values.get("samples") as number | undefined) ?? 4);
const tok = processor.tokenizer;
const EOS = tok.eosTokenId;
const show = (id: number) => (id === EOS ? "<eos>" : JSON.stringify(tok.idToToken(id) ?? `#${id}`).slice(1, -1)); // "\n" printable

/** Per suffix label: its log-probability row (the row that predicts it) and the label. */
async function suffixRows(i: number): Promise<{ label: number; logp: Float32Array }[]> {
  const batch = await processor.collate([await split!.get(i)]);
  try {
    const out = model.forward(batch);
    const lp = tf.tidy(() => tf.logSoftmax(tf.squeeze(out.logits, [0])));
    out.logits.dispose();
    out.loss?.dispose();
    const [L, V] = lp.shape as [number, number];
    const all = (await lp.data()) as Float32Array;
    lp.dispose();
    const labels = (await batch.labels!.data()) as Int32Array;
    const rows = [];
    for (let t = 1; t < L; t++) if (labels[t] >= 0) rows.push({ label: labels[t], logp: all.subarray((t - 1) * V, t * V) });
    return rows;
  } finally {
    disposeBatch(batch);
  }
}

const topK = (logp: Float32Array, k: number) =>
  Array.from(logp.keys()).sort((a, b) => logp[b] - logp[a]).slice(0, k).map((id) => `${show(id)} ${Math.exp(logp[id]).toFixed(2)}`).join(", ");

const means: number[] = [];
for (let i = 0; i < n; i++) {
  const ex = await split.get(i);
  const rows = await suffixRows(i);
  const nll = rows.map((r) => -r.logp[r.label]);
  means.push(nll.reduce((a, b) => a + b, 0) / nll.length);
  const early = rows.slice(0, -1).map((r, k) => ({ k, p: Math.exp(r.logp[EOS]) })).reduce((m, x) => (x.p > m.p ? x : m), { k: -1, p: 0 });
  console.log(`#${i}: ${rows.length} suffix tokens (incl. <eos>), mean loss ${means[i].toFixed(3)}; largest P(<eos>) before the end ${early.p.toFixed(3)} at token ${early.k} ("${show(rows[early.k]?.label ?? EOS)}")`);
  for (const r of rows.slice(-tail)) console.log(`    ${`"${show(r.label)}"`.padEnd(8)} loss ${(-r.logp[r.label]).toFixed(2)}   top: ${topK(r.logp, 4)}`);
  if (args.values.get("noGenerate") !== true) {
    const prompt = await processor.collate([ex], { forGeneration: true });
    try {
      const L = prompt.inputIds.shape[1]!;
      const g = await model.generate(prompt, { maxNewTokens: run.generation.maxNewTokens, numBeams: run.generation.numBeams });
      const ids = g.sequences[0].slice(L);
      // beam search returns the best hypothesis without its <eos> (HF pads it on); shorter than the limit = it chose <eos>
      const why = ids.at(-1) === EOS || ids.length < run.generation.maxNewTokens ? "<eos>" : `maxNewTokens ${run.generation.maxNewTokens}`;
      console.log(`    beam (${run.generation.numBeams}): ${ids.length} tokens, ended by ${why}: ${processor.decode(ids, { skipSpecialTokens: true })}`);
    } finally {
      disposeBatch(prompt);
    }
  }
  console.log(`    target: ${ex.suffix}`);
}
console.log(`mean suffix loss over ${n} examples: ${(means.reduce((a, b) => a + b, 0) / n).toFixed(3)}`);
