/**
 * Measurement: parse rate and field F1 / mAP with and without constrained decoding, on the golden tiny PaliGemma 2
 * (random weights, vocab 300) with a toy tokenizer, greedy, on two synthetic tasks (JSON extraction with a
 * schema inferred from the "training" suffixes; detection of "cat ; dog"). A random model never produces valid
 * output by chance; under the grammar every output parses. The table is printed as test diagnostics.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { constrainedProcessor, TokenTable, type Grammar } from "../../src/generate/constrained.js";
import { inferJsonSchema, jsonGrammar } from "../../src/generate/constrained-json.js";
import { classesFromPrompt, detectionGrammar } from "../../src/generate/constrained-detection.js";
import { evaluate } from "../../src/eval/registry.js";
import { TINY } from "../helpers/golden.js";
import { useBackend } from "../helpers/backends.js";
import { toyVocab } from "./toy-vocab.js";
import { mulberry32 } from "../eval/random-text.js";

await useBackend("cpu");
const vocab = toyVocab();
const table = new TokenTable(vocab);
let model: PaliGemmaForConditionalGeneration;
before(async () => {
  model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
});

const N = 4;
const MAX_NEW = 32;
const rand = mulberry32(5);
const pixels = Array.from({ length: N }, () => tf.randomUniform([1, 3, 56, 56], -1, 1, "float32", 7));

async function run(prefix: string, grammar: Grammar | null): Promise<string[]> {
  const prompt = [...new Array(16).fill(257), 2, ...vocab.encode(prefix), 108];
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    const inputIds = tf.tensor2d([prompt], [1, prompt.length], "int32");
    const logitsProcessors = grammar ? [constrainedProcessor(grammar, table, { eosTokenId: 1, maxNewTokens: MAX_NEW })] : [];
    const r = await model.generate({ pixelValues: pixels[i], inputIds }, { maxNewTokens: MAX_NEW, logitsProcessors });
    out.push(vocab.decode(r.sequences[0].slice(prompt.length), { skipSpecialTokens: true }).trim());
    inputIds.dispose();
  }
  return out;
}

const names = ["cake", "tea", "pie"];
const train = Array.from({ length: 20 }, (_, i) => JSON.stringify({ name: names[i % 3], price: 10 + i }));
const jsonRefs = Array.from({ length: N }, () => JSON.stringify({ name: names[Math.floor(rand() * 3)], price: Math.floor(rand() * 90) }));
const loc = () => `<loc${String(Math.floor(rand() * 64) * 16).padStart(4, "0")}>`;
const detRefs = Array.from({ length: N }, () => {
  const box = () => {
    const [a, b, c, d] = [0, 0, 0, 0].map(() => Math.floor(rand() * 32));
    return [a, b, a + 1 + c, b + 1 + d].map((v) => `<loc${String(Math.min(63, v) * 16).padStart(4, "0")}>`).join("");
  };
  return `${box()} cat ; ${box()} dog`;
});
void loc;

test("constrained decoding on the tiny model: parse rate 0 → 1, scores reported", async (t) => {
  const rows: string[] = ["task | decoding | parse rate | field F1 / mAP"];
  const jsonRuns: [string, Grammar | null][] = [
    ["unconstrained", null],
    ["JSON grammar", jsonGrammar()],
    ["JSON + inferred schema", jsonGrammar({ schema: inferJsonSchema(train) })],
  ];
  for (const [what, g] of jsonRuns) {
    const preds = await run("extract", g);
    const r = evaluate(preds, jsonRefs, ["json_parse_rate", "json_field_f1"]);
    rows.push(`json | ${what} | ${r.json_parse_rate.value.toFixed(2)} | ${r.json_field_f1.value.toFixed(3)}`);
    if (g) assert.equal(r.json_parse_rate.value, 1, `${what}: ${JSON.stringify(preds)}`);
    else assert.ok(r.json_parse_rate.value < 1, "a random model should not produce JSON by chance");
  }
  const classes = classesFromPrompt("detect cat ; dog");
  const grammarText = /^(?:(?:<loc\d{4}>){4} (?:cat|dog)(?: ; (?:<loc\d{4}>){4} (?:cat|dog))*)?$/;
  for (const [what, g] of [["unconstrained", null], ["detection grammar", detectionGrammar({ classes })]] as [string, Grammar | null][]) {
    const preds = await run("detect cat ; dog", g);
    const parse = preds.filter((p) => grammarText.test(p)).length / N;
    const r = evaluate(preds, detRefs, ["map"], { classes });
    rows.push(`detection | ${what} | ${parse.toFixed(2)} | ${r.map.value.toFixed(3)}`);
    if (g) assert.equal(parse, 1, JSON.stringify(preds));
    else assert.ok(parse < 1);
  }
  for (const row of rows) t.diagnostic(row);
});

test("cleanup", () => {
  tf.dispose(pixels);
});
