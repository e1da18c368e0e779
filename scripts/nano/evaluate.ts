/**
 * Zero-shot scores of a PaliGemma checkpoint on held-out pretraining renders (reading and detection), as reported
 * in the nano model card.
 *
 *   node dist/scripts/nano/evaluate.js [MODEL_DIR=models/paligemma2-nano-pt-224] [--samples 30] [--json OUT.json]
 *     [--processor DIR]   (tokenizer + preprocessor; default MODEL_DIR, e.g. models/… for a run's state/)
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { scriptArgs } from "../../src/cli/script-args.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { NANO_NAME } from "../../src/nano/checkpoint.js";
import { DEFAULT_OCR_SETS, zeroShotScores } from "../../src/nano/evaluate.js";

const USAGE = `
Zero-shot scores of a PaliGemma checkpoint on held-out pretraining renders (reading and detection).

usage: node dist/scripts/nano/evaluate.js [MODEL_DIR] [options]

  MODEL_DIR            checkpoint (default models/paligemma2-nano-pt-224), or a run's state/ with --processor
  --samples N          held-out samples per set (default 30)
  --json OUT.json      also write the scores and every example as JSON
  --processor DIR      tokenizer + preprocessor (default MODEL_DIR)
  --grid-only          only the grid-text sets and the grid manifests (no free-layout sets, no detection)
  -h, --help           this text

Example: node dist/scripts/nano/evaluate.js runs/nano-pretrain/state --processor models/paligemma2-nano-pt-224 --samples 20
`;
const args = scriptArgs(USAGE, { samples: "number", json: "string", processor: "string", gridOnly: "boolean" }, { maxPositional: 1 });
const samples = (args.values.get("samples") as number | undefined) ?? 30;
const jsonOut = args.values.get("json") as string | undefined;
const processorDir = args.values.get("processor") as string | undefined;
const dir = args.positional[0] ?? join("models", NANO_NAME);
const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir);
const processor = await PaliGemmaProcessor.fromPretrained(processorDir ?? dir);
const t0 = Date.now();
const gridOnly = args.values.get("gridOnly") === true;
const s = await zeroShotScores(model, processor, { samples, ...(gridOnly ? { ocrSets: DEFAULT_OCR_SETS.filter((o) => o.layout === "grid"), detection: false } : {}) });
for (const o of s.ocr) {
  console.log(`ocr${o.layout === "grid" ? " grid" : ""} level ${o.level}${o.maxChars === undefined ? "" : ` (≤ ${o.maxChars} glyphs)`}${o.alphabet === undefined ? "" : ` of ${o.alphabet}`}: character accuracy ${(100 * o.charAccuracy).toFixed(1)}%, exact ${(100 * o.exactMatch).toFixed(1)}%`);
  for (const e of o.examples.slice(0, 3)) console.log(`  ${JSON.stringify(e.reference)} → ${JSON.stringify(e.prediction)}`);
}
if (s.manifests) {
  console.log(`ocr on grid manifests: character accuracy ${(100 * s.manifests.charAccuracy).toFixed(1)}%, exact ${(100 * s.manifests.exactMatch).toFixed(1)}%`);
  for (const e of s.manifests.examples.slice(0, 3)) console.log(`  ${JSON.stringify(e.reference)} → ${JSON.stringify(e.prediction)}`);
}
if (s.detection) {
  console.log(`detection level ${s.detection.level}: mAP@50 ${s.detection.map50.toFixed(3)}, mAP@[.5:.95] ${s.detection.map.toFixed(3)}`);
  for (const e of s.detection.examples.slice(0, 3)) console.log(`  ${JSON.stringify(e.reference)} → ${JSON.stringify(e.prediction)}`);
}
console.log(`${samples} samples per set, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
if (jsonOut) await writeFile(jsonOut, JSON.stringify({ model: dir, samples, ...s }, null, 2) + "\n");
model.dispose();
