/**
 * Zero-shot scores of a (nano) PaliGemma on held-out pretraining renders: what its model card reports.
 *
 * - reading: `ocr` on random-string renders: level 0 capped at 2 glyphs (the reading onset: single-glyph
 *   classification), levels 0 (one large line), 0.5 and 1 (blocks of small text); character accuracy = 1 − normalised
 *   edit distance, averaged over samples; exact match too;
 * - grid text (`layout: "grid"`, one glyph per patch cell) at levels 0, 0.5, 1, and held-out "grid" pallet
 *   manifests read with `ocr` (the transfer task's documents in the layout the model reads);
 * - detection: `detect a ; b` on held-out shape scenes (level 0.5); COCO mAP@50 and mAP@[.5:.95].
 *
 * Greedy decoding, one row at a time. Held-out seeds are far from the training seeds (training uses `seed` and the
 * gap batch `seed + 1000003`; evaluation `2_000_000 + k`; the reading probe `3_000_000`).
 *
 * {@link readingProbe} is the cheap onset signal logged during pretraining: greedy answers on a few held-out
 * renders; a model that does not read gives one string for every image (distinct = 1).
 */
import { tf } from "../tf.js";
import type { PaliGemmaForConditionalGeneration } from "../model/paligemma.js";
import type { PaliGemmaProcessor } from "../data/processor.js";
import { pretrainSample, type PretrainSample, type PretrainTask, type TextLayoutKind } from "../data/synth/pretrain.js";
import { SHAPE_CLASSES } from "../data/synth/shapes.js";
import { Random, itemSeed } from "../data/synth/common.js";
import { makeCompactManifest } from "../data/synth/manifests.js";
import { gridManifestLines, renderGridManifest } from "../data/synth/manifests-grid.js";
import { normalizedEditDistance } from "../eval/text.js";
import { evaluate } from "../eval/registry.js";
import { ProgressEmitter, type ProgressCallback } from "../events/progress.js";

/** A held-out OCR set: a curriculum level, optionally with at most `maxChars` glyphs per line. */
export interface OcrSet {
  level: number;
  maxChars?: number;
  alphabet?: string;
  /** "free" (default) or "grid" (one glyph per patch cell: the fourth sitting's layout). */
  layout?: TextLayoutKind;
}
export const DEFAULT_OCR_SETS: readonly OcrSet[] = [
  { level: 0, maxChars: 2, alphabet: "0123456789" }, { level: 0, maxChars: 2 }, { level: 0 }, { level: 0.5 }, { level: 1 },
  { level: 0, layout: "grid" }, { level: 0.5, layout: "grid" }, { level: 1, layout: "grid" },
];

export interface ZeroShotOptions {
  /** Samples per OCR set and for detection. Default 30. */
  samples?: number;
  ocrSets?: readonly OcrSet[];
  detectLevel?: number;
  /** Score detection (default true). */
  detection?: boolean;
  /** Held-out "grid" pallet manifests read with `ocr` (the transfer task's layout; default: `samples`; 0: none). */
  manifests?: number;
  seed?: number;
  onProgress?: ProgressCallback;
}

export interface ZeroShotScores {
  ocr: { level: number; maxChars?: number; alphabet?: string; layout?: TextLayoutKind; charAccuracy: number; exactMatch: number; examples: { reference: string; prediction: string }[] }[];
  detection?: { level: number; map50: number; map: number; examples: { reference: string; prediction: string }[] };
  /** `ocr` on held-out grid manifests: the reference is the rows of text (title, route, date, city, items). */
  manifests?: { charAccuracy: number; exactMatch: number; examples: { reference: string; prediction: string }[] };
}

/** Held-out grid manifest k as an `ocr` sample (documents of seed `seed`, as `synthManifests` draws them). */
async function gridManifestSample(seed: number, k: number): Promise<PretrainSample> {
  const docRng = new Random(itemSeed(seed, "manifest", "test", k));
  const doc = makeCompactManifest(docRng);
  const rgb = await renderGridManifest(doc, docRng, new Random(itemSeed(seed, "photo", "test", k, 0)));
  return { task: "ocr", prefix: "ocr", suffix: gridManifestLines(doc).join("\n"), rgb, patchLabels: new Uint8Array(0), orderLabels: new Uint8Array(0) };
}

/** Greedy answer of the model to one sample's prompt (special tokens dropped). */
export async function answer(model: PaliGemmaForConditionalGeneration, processor: PaliGemmaProcessor, s: PretrainSample, maxNewTokens: number): Promise<string> {
  const text = processor.encodeText([s.prefix]);
  const { height: H, width: W } = processor.config;
  const pix = new Float32Array(3 * H * W);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) pix[c * H * W + i] = s.rgb[i * 3 + c]! / 127.5 - 1;
  const pixelValues = tf.tensor4d(pix, [1, 3, H, W]);
  const inputIds = tf.tensor2d(text.inputIds, [1, text.seqLength], "int32");
  try {
    const { sequences } = await model.generate({ pixelValues, inputIds }, { maxNewTokens });
    return processor.decode(sequences[0]!.slice(text.seqLength), { skipSpecialTokens: true });
  } finally {
    tf.dispose([pixelValues, inputIds]);
  }
}

const held = (seed: number, k: number, level: number, task: PretrainTask, maxChars?: number, alphabet?: string, layout?: TextLayoutKind): Promise<PretrainSample> =>
  pretrainSample({ seed, index: k, level, maxChars, alphabet, layout, mixture: { ocr: 0, caption: 0, detect: 0, refer: 0, vqa: 0, [task]: 1 } });

/** Character accuracy of one answer: 1 − normalised edit distance. */
const charAccuracy = (e: { reference: string; prediction: string }): number => 1 - normalizedEditDistance(e.prediction, e.reference);

/**
 * The reading-onset probe: greedy `ocr` answers on `samples` held-out renders (seed 3 000 000) at `level` (and
 * `maxChars`); returns how many distinct answers came out and their mean character accuracy.
 */
export async function readingProbe(model: PaliGemmaForConditionalGeneration, processor: PaliGemmaProcessor,
  o: { level: number; maxChars?: number; alphabet?: string; layout?: TextLayoutKind; samples?: number }): Promise<{ distinct: number; charAccuracy: number; examples: { reference: string; prediction: string }[] }> {
  const examples: { reference: string; prediction: string }[] = [];
  for (let k = 0; k < (o.samples ?? 8); k++) {
    const s = await held(3_000_000, k, o.level, "ocr", o.maxChars, o.alphabet, o.layout);
    examples.push({ reference: s.suffix, prediction: await answer(model, processor, s, processor.tokenizer.encode(s.suffix, { addSpecialTokens: false }).length + 4) });
  }
  return { distinct: new Set(examples.map((e) => e.prediction)).size, charAccuracy: examples.reduce((a, e) => a + charAccuracy(e), 0) / examples.length, examples };
}

export async function zeroShotScores(model: PaliGemmaForConditionalGeneration, processor: PaliGemmaProcessor, o: ZeroShotOptions = {}): Promise<ZeroShotScores> {
  const n = o.samples ?? 30;
  const sets = o.ocrSets ?? DEFAULT_OCR_SETS;
  const detectLevel = o.detectLevel ?? 0.5;
  const seed = o.seed ?? 2_000_000;
  const withDetection = o.detection ?? true;
  const nManifests = o.manifests ?? n;
  const progress = new ProgressEmitter(o.onProgress, { task: "evaluate", total: n * (sets.length + (withDetection ? 1 : 0)) + nManifests, unit: "sample", label: "nano zero-shot" });
  let done = 0;
  // the reference's own token count plus room to overshoot (a fixed guess would cut long answers)
  const budget = (s: PretrainSample) => processor.tokenizer.encode(s.suffix, { addSpecialTokens: false }).length + 16;
  const ocr: ZeroShotScores["ocr"] = [];
  for (const [li, { level, maxChars, alphabet, layout }] of sets.entries()) {
    const examples: { reference: string; prediction: string }[] = [];
    for (let k = 0; k < n; k++) {
      // the uncapped free sets keep the seeds they had before the other sets existed (comparable scores across cards)
      const setSeed = layout === "grid" ? seed + 300 + li
        : maxChars === undefined ? seed + li - sets.slice(0, li).filter((x) => x.maxChars !== undefined).length : seed + 200 + li;
      const s = await held(setSeed, k, level, "ocr", maxChars, alphabet, layout);
      examples.push({ reference: s.suffix, prediction: await answer(model, processor, s, budget(s)) });
      progress.update(++done);
    }
    const acc = examples.map(charAccuracy);
    ocr.push({ level, ...(maxChars === undefined ? {} : { maxChars }), ...(alphabet === undefined ? {} : { alphabet }), ...(layout === undefined ? {} : { layout }), charAccuracy: acc.reduce((a, b) => a + b, 0) / n,
      exactMatch: examples.filter((e) => e.prediction.trim() === e.reference.trim()).length / n, examples });
  }
  const score = (examples: { reference: string; prediction: string }[]) => ({
    charAccuracy: examples.map(charAccuracy).reduce((a, b) => a + b, 0) / Math.max(1, examples.length),
    exactMatch: examples.filter((e) => e.prediction.trim() === e.reference.trim()).length / Math.max(1, examples.length), examples });
  const man: { reference: string; prediction: string }[] = [];
  for (let k = 0; k < nManifests; k++) {
    const s = await gridManifestSample(seed + 400, k);
    man.push({ reference: s.suffix, prediction: await answer(model, processor, s, budget(s)) });
    progress.update(++done);
  }
  const out: ZeroShotScores = { ocr, ...(nManifests > 0 ? { manifests: score(man) } : {}) };
  if (withDetection) {
    const det: { reference: string; prediction: string }[] = [];
    for (let k = 0; k < n; k++) {
      const s = await held(seed + 100, k, detectLevel, "detect");
      det.push({ reference: s.suffix, prediction: await answer(model, processor, s, budget(s)) });
      progress.update(++done);
    }
    const m = evaluate(det.map((e) => e.prediction), det.map((e) => e.reference), ["map"],
      { imageSizes: { imageWidth: 224, imageHeight: 224 }, classes: [...SHAPE_CLASSES] })["map"]!;
    out.detection = { level: detectLevel, map50: m.details["map50"] as number, map: m.value, examples: det };
  }
  progress.end(done);
  return out;
}
