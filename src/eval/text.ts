/**
 * Text metrics, each equal to its Python reference (fixtures in test/fixtures/eval, made by gen_eval_fixtures.py):
 *   - `normalizedEditDistance`: Levenshtein over code points ÷ max(len) (nltk `edit_distance`), 0 = identical;
 *   - `corpusBleu`: sacrebleu 2.x `corpus_bleu` defaults: 13a tokenisation, 4-grams, `exp` smoothing, case-sensitive,
 *     one reference per prediction; on sacrebleu's 0–100 scale;
 *   - `rougeL`: Google `rouge-score` `RougeScorer(["rougeL"], use_stemmer=False)` (its default tokenizer: lower-case,
 *     runs of non-[a-z0-9] are separators; sentence-level LCS, not rougeLsum); corpus value = mean F-measure.
 * METEOR is not provided: nltk's `meteor_score` needs the WordNet corpus (synonym stage), which is not on PyPI and
 * cannot be fetched here, so a faithful port could not be checked; exact+stem-only METEOR would be another metric.
 *
 * @example
 *   corpusBleu(["the cat sat on the mat"], ["the cat sat on a mat"]).score  // ≈ 53.7 (sacrebleu)
 *   rougeL(["a b c"], ["a c"]).fmeasure                                     // 0.8
 */
import { editDistance } from "../util/edit-distance.js";

/** Levenshtein distance over Unicode code points (nltk `edit_distance`: substitution cost 1, no transpositions). */
export function codePointLevenshtein(a: string, b: string): number {
  return editDistance(Array.from(a), Array.from(b));
}

/** Levenshtein(pred, ref) / max(len(pred), len(ref)) over code points; 0 when both are empty. */
export function normalizedEditDistance(prediction: string, reference: string): number {
  const n = Math.max(Array.from(prediction).length, Array.from(reference).length);
  return n ? codePointLevenshtein(prediction, reference) / n : 0;
}

// Python's str.isspace set (Unicode White_Space plus \x1c–\x1f), without \ufeff which JS's \s includes
const PY_WS = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;
const pySplit = (s: string) => s.split(PY_WS).filter((t) => t.length > 0);
const pyRstrip = (s: string) => s.replace(/[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u, "");

/** sacrebleu's `Tokenizer13a` (mteval-v13a): returns the tokens. */
export function tokenize13a(line: string): string[] {
  let s = line.split("<skipped>").join("").split("-\n").join("").split("\n").join(" ");
  if (s.includes("&")) s = s.split("&quot;").join('"').split("&amp;").join("&").split("&lt;").join("<").split("&gt;").join(">");
  s = ` ${s} `;
  s = s.replace(/([{-~[-` -&(-+:-@/])/gu, " $1 ");
  s = s.replace(/([^0-9])([.,])/gu, "$1 $2 ");
  s = s.replace(/([.,])([^0-9])/gu, " $1 $2");
  s = s.replace(/([0-9])(-)/gu, "$1 $2 ");
  return pySplit(s);
}

export interface BleuScore {
  /** 0–100, like sacrebleu. */
  score: number;
  /** n-gram precisions (0–100) for n = 1..4. */
  precisions: number[];
  brevityPenalty: number;
  sysLen: number;
  refLen: number;
}

function ngramCounts(tokens: string[], maxN: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let n = 1; n <= maxN; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const k = `${n}\u0000${tokens.slice(i, i + n).join("\u0001")}`;
      m.set(k, (m.get(k) ?? 0) + 1);
    }
  }
  return m;
}

/** sacrebleu `corpus_bleu(predictions, [references])` with its defaults. */
export function corpusBleu(predictions: readonly string[], references: readonly string[]): BleuScore {
  if (predictions.length !== references.length) throw new Error(`corpusBleu: ${predictions.length} predictions but ${references.length} references`);
  const N = 4;
  const correct = new Array<number>(N).fill(0);
  const total = new Array<number>(N).fill(0);
  let sysLen = 0;
  let refLen = 0;
  predictions.forEach((p, i) => {
    const hyp = tokenize13a(pyRstrip(p));
    const ref = tokenize13a(pyRstrip(references[i]));
    sysLen += hyp.length;
    refLen += ref.length;
    const refNgrams = ngramCounts(ref, N);
    for (const [k, c] of ngramCounts(hyp, N)) {
      const n = Number(k.slice(0, k.indexOf("\u0000"))) - 1;
      total[n] += c;
      correct[n] += Math.min(c, refNgrams.get(k) ?? 0);
    }
  });
  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  const precisions = new Array<number>(N).fill(0);
  if (!correct.some((c) => c > 0)) return { score: 0, precisions, brevityPenalty: bp, sysLen, refLen };
  let smooth = 1;
  for (let n = 0; n < N; n++) {
    if (total[n] === 0) break;
    if (correct[n] === 0) {
      smooth *= 2;
      precisions[n] = 100 / (smooth * total[n]);
    } else precisions[n] = (100 * correct[n]) / total[n];
  }
  const logSum = precisions.reduce((s, p) => s + (p === 0 ? -9999999999 : Math.log(p)), 0);
  return { score: bp * Math.exp(logSum / N), precisions, brevityPenalty: bp, sysLen, refLen };
}

/** rouge-score's default tokenizer (no stemming). */
export function rougeTokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .split(/\s+/)
    .filter((t) => /^[a-z0-9]+$/.test(t));
}

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

function lcsLength(a: string[], b: string[]): number {
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** rouge-score `rougeL` for one pair (target = reference). */
export function rougeLPair(prediction: string, reference: string): RougeScore {
  const t = rougeTokenize(reference);
  const p = rougeTokenize(prediction);
  if (!t.length || !p.length) return { precision: 0, recall: 0, fmeasure: 0 };
  const l = lcsLength(t, p);
  const precision = l / p.length;
  const recall = l / t.length;
  return { precision, recall, fmeasure: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}

/** Mean rougeL precision/recall/F over the corpus (0 for an empty corpus) and the per-sample F-measures. */
export function rougeL(predictions: readonly string[], references: readonly string[]): RougeScore & { perSample: number[] } {
  if (predictions.length !== references.length) throw new Error(`rougeL: ${predictions.length} predictions but ${references.length} references`);
  const s = predictions.map((p, i) => rougeLPair(p, references[i]));
  const mean = (k: keyof RougeScore) => (s.length ? s.reduce((a, x) => a + x[k], 0) / s.length : 0);
  return { precision: mean("precision"), recall: mean("recall"), fmeasure: mean("fmeasure"), perSample: s.map((x) => x.fmeasure) };
}
