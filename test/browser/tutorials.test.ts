/**
 * Tutorials 01–04 executed headless on the real tslab kernel (nbconvert, as notebook.test.ts runs 00), each within
 * its stated budget: they run with no error and no silently skipped cell, every display is one of our MIME bundles
 * with text/plain and an HTML or PNG fallback, the metrics before and after fine-tuning are numbers in range, and
 * training moved the validation loss down. 04 runs without a checkpoint and must say, cell by cell, what it skipped.
 *
 * Budget: each tutorial's first cell states ~4 min or less on a 2-core machine (WASM, no GPU); a run is killed at
 * 1.5× that (a loaded CI machine), and the measured times land in test/browser/screenshots/tutorial-times.json.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ARTIFACTS, executeNotebook, labEnv, notebookProblems, writeNotebook, type LabEnv, type Notebook, type NbOutput } from "./lab.js";
import { repoRoot } from "../helpers/paths.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { MIME, type ProgressPayload, type TrainingPayload } from "../../src/display/protocol.js";

const BUDGET_S = 240;
const KILL_AFTER_S = 1.5 * BUDGET_S;
const nbDir = join(repoRoot(), "notebooks");
const times: Record<string, number> = {};
let env: LabEnv;

before(async () => {
  env = labEnv();
  await mkdir(ARTIFACTS, { recursive: true });
});

/** Executes `file` in a clean environment (no user checkpoint or COCO folder), saving the result as an artifact. */
async function execute(file: string): Promise<Notebook> {
  const tmp = await makeTmpDir("pgts-tut-");
  try {
    const out = join(tmp.path, file.replace(/\.ipynb$/, ".executed.ipynb"));
    const t0 = performance.now();
    const nb = await executeNotebook(env, join(nbDir, file), out, BUDGET_S, {
      totalS: KILL_AFTER_S,
      env: { PALIGEMMA_CHECKPOINT: join(tmp.path, "no-checkpoint-here"), PALIGEMMA_COCO_DIR: undefined },
    });
    times[file] = Math.round((performance.now() - t0) / 1000);
    await copyFile(out, join(ARTIFACTS, file.replace(/\.ipynb$/, ".executed.ipynb")));
    await writeFile(join(ARTIFACTS, "tutorial-times.json"), JSON.stringify(times, null, 1));
    return nb;
  } finally {
    await tmp.cleanup();
  }
}

const outputs = (nb: Notebook): NbOutput[] => nb.cells.flatMap((c) => c.outputs ?? []);
const text = (nb: Notebook): string => outputs(nb).map((o) => (Array.isArray(o.text) ? o.text.join("") : (o.text ?? ""))).join("");
const displays = (nb: Notebook): NbOutput[] => outputs(nb).filter((o) => o.output_type === "display_data");
const vendor = (o: NbOutput): string | undefined => Object.keys(o.data ?? {}).find((k) => k.startsWith("application/vnd.paligemma-ts."));
const payloads = <T>(nb: Notebook, mime: string): T[] => displays(nb).filter((o) => o.data?.[mime]).map((o) => o.data![mime] as T);

/** The checks every tutorial passes: no error, no cell skipped after a failure, every display ours with fallbacks. */
function ranCleanly(nb: Notebook): void {
  assert.deepEqual(notebookProblems(nb), []);
  // tslab skips the cells queued after a failing one without an error output: the last code cell must have run.
  const code = nb.cells.filter((c) => (c as { cell_type?: string }).cell_type === "code");
  assert.ok((code.at(-1)!.outputs ?? []).length > 0, "the last code cell printed something (no silently skipped cells)");
  for (const o of displays(nb)) {
    assert.ok(vendor(o), `a display without our vendor MIME: ${Object.keys(o.data ?? {})}`);
    assert.equal(typeof o.data!["text/plain"], "string", `${vendor(o)}: text/plain`);
    assert.ok(o.data!["text/html"] || o.data!["image/png"], `${vendor(o)}: an HTML or PNG fallback`);
  }
}

/** The evaluation bars of the notebook, by label prefix ("before:" / "after:"): their final metrics. */
function evaluation(nb: Notebook, when: "before" | "after"): Record<string, number> {
  const bars = payloads<ProgressPayload>(nb, MIME.progress).filter((p) => p.label?.startsWith(`${when}:`));
  assert.equal(bars.length, 1, `one "${when}:" evaluation bar`);
  assert.equal(bars[0].status, "done");
  return bars[0].metrics;
}

/** "eval_loss A before → B after …" as printed by the training cell. */
function evalLosses(nb: Notebook): [number, number] {
  const m = /eval_loss ([\d.]+) before → ([\d.]+) after/.exec(text(nb));
  assert.ok(m, "the training cell prints eval_loss before → after");
  return [Number(m[1]), Number(m[2])];
}

function trainedToTheEnd(nb: Notebook, steps: number): void {
  const dashboards = payloads<TrainingPayload>(nb, MIME.training);
  assert.equal(dashboards.length, 1, "one dashboard output (updated in place)");
  assert.deepEqual([dashboards[0].status, dashboards[0].step], ["done", steps], "the saved notebook keeps the final state");
}

test("01-json-extraction: manifests → LoRA → 3-beam search → parse rate, field F1, TED, BLEU before and after", async () => {
  const nb = await execute("01-json-extraction.ipynb");
  ranCleanly(nb);
  const kinds = new Set(displays(nb).map(vendor));
  for (const v of [MIME.dataset, MIME.progress, MIME.training, MIME.jsonDiff, MIME.report]) assert.ok(kinds.has(v), `a ${v} display`);
  const [b, a] = [evaluation(nb, "before"), evaluation(nb, "after")];
  for (const m of [b, a]) {
    for (const k of ["json_parse_rate", "json_field_f1", "json_ted_accuracy"]) assert.ok(m[k] >= 0 && m[k] <= 1, `${k} = ${m[k]} in [0, 1]`);
    assert.ok(m.bleu >= 0 && m.bleu <= 100, `bleu = ${m.bleu} in [0, 100]`);
  }
  assert.ok(a.json_parse_rate >= b.json_parse_rate, `parse rate after ${a.json_parse_rate} ≥ before ${b.json_parse_rate}`);
  trainedToTheEnd(nb, 8);
  const [lossBefore, lossAfter] = evalLosses(nb);
  assert.ok(lossAfter < lossBefore, `LoRA training lowers the validation loss: ${lossBefore} → ${lossAfter}`);
  assert.match(text(nb), /trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}/, "PEFT's line");
});

test("02-object-detection: COCO → <loc> → LoRA → mAP before and after → boxes inline", async () => {
  const nb = await execute("02-object-detection.ipynb");
  ranCleanly(nb);
  const [b, a] = [evaluation(nb, "before"), evaluation(nb, "after")];
  for (const m of [b, a]) assert.ok(m.map >= 0 && m.map <= 1, `mAP ${m.map} in [0, 1]`);
  trainedToTheEnd(nb, 8);
  const [lossBefore, lossAfter] = evalLosses(nb);
  assert.ok(lossAfter < lossBefore, `validation loss ${lossBefore} → ${lossAfter}`);
  const overlays = displays(nb).filter((o) => vendor(o) === MIME.annotations);
  assert.ok(overlays.length >= 1 + 3 + 1, `the example, one overlay per test image and the Detections view (${overlays.length})`);
  assert.ok(overlays.every((o) => o.data!["image/png"]), "box overlays carry a PNG fallback");
  assert.match(text(nb), /<loc\d{4}>.*→ pixel box/, "the <loc> encoding is shown");
});

test("04-your-checkpoint without a checkpoint: the memory plan runs from the published config, the weight cells say they skipped", async () => {
  const nb = await execute("04-your-checkpoint.ipynb");
  ranCleanly(nb);
  const t = text(nb);
  assert.match(t, /checkpoint: not found at .*no-checkpoint-here/);
  for (const what of ["load the checkpoint", "QLoRA", "QLoRA training"]) assert.match(t, new RegExp(`skipped \\(${what}\\): no checkpoint at`), what);
  assert.match(t, /memory plan: qlora, B=1/, "the QLoRA plan of the 3B config is printed");
  assert.match(t, /backend: \w+/, "the backend report");
  assert.doesNotMatch(t, /loaded \d+ tensors/, "nothing was loaded");
});

test("the pitfall the tutorials avoid is real: a shorthand of an earlier cell's variable throws, and the queued cells are skipped", async () => {
  // If tslab ever fixes this, this test fails: then update kernel/README.md ("tslab pitfalls") and the tutorials' first cells.
  const tmp = await makeTmpDir("pgts-pitfall-");
  try {
    const input = join(tmp.path, "pitfall.ipynb");
    await writeNotebook(input, ["const image = 1;", "console.log({ image });", "console.log('third cell ran');", "console.log({ image: image });"]);
    const nb = await executeNotebook(env, input, join(tmp.path, "pitfall.out.ipynb"), 60);
    assert.deepEqual(notebookProblems(nb), ["cell 1: ReferenceError: image is not defined"], "tslab prints the ReferenceError as a stream");
    assert.deepEqual(nb.cells.slice(2).map((c) => (c.outputs ?? []).length), [0, 0], "the cells queued after it ran silently not at all");
  } finally {
    await tmp.cleanup();
  }
});
