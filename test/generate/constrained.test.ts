/**
 * Constrained decoding: the JSON (+ schema) and detection grammars as tables of prefixes, the token-level
 * processor (vocabulary walk, eos only when complete, the completion budget) on a scripted random decoder.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { generate } from "../../src/generate/generate.js";
import { constrainedProcessor, locChar, tokenText, TokenTable, type Grammar } from "../../src/generate/constrained.js";
import { inferJsonSchema, jsonGrammar } from "../../src/generate/constrained-json.js";
import { classesFromPrompt, detectionGrammar } from "../../src/generate/constrained-detection.js";
import { parseJson } from "../../src/codecs/json.js";
import { parseLocText } from "../../src/codecs/loc.js";
import { scriptedDecoder } from "./fake-decoder.js";
import { toyVocab } from "./toy-vocab.js";
import { useBackend } from "../helpers/backends.js";
import { mulberry32, randomModelText } from "../eval/random-text.js";

await useBackend("cpu");

/** "prefix" if every char is accepted, "complete" if also accepting, else "reject@i". */
function run(g: Grammar, text: string): string {
  const s = g.initial();
  for (let i = 0; i < text.length; i++) if (!s.feed(text[i])) return `reject@${i}`;
  return s.accepting() ? "complete" : "prefix";
}

describe("JSON grammar", () => {
  const g = jsonGrammar();
  const table: [string, string][] = [
    ['{"a": [1, -2.5e3, true, null, "x\\u00e9\\n"]}', "complete"],
    ["[]", "complete"],
    ["12", "complete"],
    ['"s"', "complete"],
    ['{"a":', "prefix"],
    ["-", "prefix"],
    ["01", "reject@1"],
    ["{,", "reject@1"],
    ['{"a":1,}', "reject@7"],
    ["[1 2]", "reject@3"],
    ['"\u0001"', "reject@1"],
    ["{}  ", "reject@2"],
    ["{  }", "reject@2"],
    ["tru", "prefix"],
    ["trux", "reject@3"],
    ['"' + locChar(5) + '"', "reject@1"],
  ];
  for (const [text, want] of table) test(`${JSON.stringify(text)} → ${want}`, () => assert.equal(run(g, text), want));
  test("agrees with parseJson on random text: complete ⇒ parses", () => {
    const rand = mulberry32(11);
    for (let i = 0; i < 3000; i++) {
      const t = randomModelText(rand, 12);
      if (run(g, t) === "complete") assert.ok(parseJson(t).ok, JSON.stringify(t));
    }
  });
  test("without whitespace, no blanks at all", () => assert.equal(run(jsonGrammar({ whitespace: false }), '{"a": 1}'), "reject@5"));
});

describe("JSON schema inferred from training suffixes", () => {
  const schema = inferJsonSchema(['{"name":"cake","n":2,"tags":["a"]}', '{"name":"tea","n":1}', '{"name":"pie","n":3,"tags":[]}']);
  test("types, properties, required keys", () => {
    assert.deepEqual(schema, {
      type: "object",
      properties: { name: { type: "string" }, n: { type: "integer" }, tags: { type: "array", items: { type: "string" } } },
      required: ["name", "n"],
      additionalProperties: false,
    });
  });
  const g = jsonGrammar({ schema });
  const table: [string, string][] = [
    ['{"name":"x","n":1}', "complete"],
    ['{"n":1,"name":"x","tags":["b","c"]}', "complete"],
    ['{"nam', "prefix"],
    ['{"nope', "reject@3"],
    ['{"name":1', "reject@8"],
    ['{"name":"x"}', "reject@11"], // n is required
    ['{"n":1.5', "reject@6"], // integer
    ['{"name":"x","name"', "reject@14"], // no repeated key ("n" is still free)
    ['{"tags":[1', "reject@9"],
    ["[]", "reject@0"],
  ];
  for (const [text, want] of table) test(`${JSON.stringify(text)} → ${want}`, () => assert.equal(run(g, text), want));
  test("unparsable training suffix names its index", () => assert.throws(() => inferJsonSchema(['{"a":1}', "{oops"]), /suffix 1 is not valid JSON/));
});

describe("detection grammar", () => {
  const L = (...v: number[]) => v.map(locChar).join("");
  const classes = classesFromPrompt("detect cat ; cat toy ; dog\n");
  test("classes from the prompt", () => assert.deepEqual(classes, ["cat", "cat toy", "dog"]));
  const g = detectionGrammar({ classes });
  const table: [string, string, string][] = [
    ["empty output", "", "complete"],
    ["one box", L(1, 2, 3, 4) + " cat", "complete"],
    ["two boxes, a class that extends another", L(1, 2, 3, 4) + " cat toy ; " + L(5, 6, 7, 8) + " dog", "complete"],
    ["partial name", L(1, 2, 3, 4) + " ca", "prefix"],
    ["unknown class", L(1, 2, 3, 4) + " cow", "reject@6"],
    ["inverted box (y2 ≤ y1)", L(5, 2, 5, 4), "reject@2"],
    ["the same box again", L(1, 2, 3, 4) + " cat ; " + L(1, 2, 3, 4), "reject@14"],
    ["text where a box must start", "cat", "reject@0"],
    ["separator without a next box", L(1, 2, 3, 4) + " cat ; ", "prefix"],
  ];
  for (const [what, text, want] of table) test(`${what} → ${want}`, () => assert.equal(run(g, text), want));
  test("segmentation needs 16 segs before the name", () => {
    const s = detectionGrammar({ classes: ["cat"], segmentation: true });
    const segs = Array.from({ length: 16 }, (_, i) => String.fromCharCode(0xe400 + i)).join("");
    assert.equal(run(s, L(1, 2, 3, 4) + segs + " cat"), "complete");
    assert.equal(run(s, L(1, 2, 3, 4) + " cat"), "reject@4");
  });
  test("bad class lists throw", () => assert.throws(() => detectionGrammar({ classes: ["a;b"] }), /classes must be/));
});

describe("token-level processor", () => {
  const vocab = toyVocab();
  test("token texts: ▁ is a space, bytes, loc atoms, specials excluded", () => {
    assert.equal(tokenText("\u2581cat"), " cat");
    assert.equal(tokenText("<0x0A>"), "\n");
    assert.equal(tokenText("<0xC3>"), "\u0080");
    assert.equal(tokenText("<loc0016>"), locChar(16));
    assert.equal(tokenText("<eos>"), null);
    assert.equal(tokenText("<unused3>"), null);
  });
  test("allowed tokens after a prefix are exactly those that keep it valid", () => {
    const table = new TokenTable(vocab);
    const s = jsonGrammar().initial();
    for (const ch of '{"a":') s.feed(ch);
    const allowed = new Set(table.allowed(s).map((id) => table.texts[id]));
    for (const t of ["1", "-", '"', "{", "[", "t", "true", "null", " ", "12", "00"]) assert.ok(allowed.has(t) || t === "00", `${t} should be allowed`);
    for (const t of ["}", ",", ":", "]", "a", "name", "00"]) assert.ok(!allowed.has(t), `${t} should not be allowed`);
  });

  const randomModel = (seed: number) => {
    const rand = mulberry32(seed);
    return scriptedDecoder(300, 1, () => Array.from({ length: 300 }, () => rand() * 8));
  };
  for (const [name, grammar, check] of [
    ["json", jsonGrammar(), (t: string) => parseJson(t).ok],
    ["json + schema", jsonGrammar({ schema: inferJsonSchema(['{"name":"cake","price":12}']) }), (t: string) => parseJson(t).ok && /"name"/.test(t) && /"price"/.test(t)],
    ["detection", detectionGrammar({ classes: ["cat", "dog"] }), (t: string) => t === "" || parseLocText(t).length === t.split(" ; ").length],
  ] as [string, Grammar, (t: string) => boolean][]) {
    test(`${name}: a random model's output always parses, within maxNewTokens (greedy and beam)`, async () => {
      for (let seed = 0; seed < 6; seed++) {
        const inputIds = tf.tensor2d([[2, 10, 108]], [1, 3], "int32");
        const maxNewTokens = 24 + seed * 5; // ≥ the shortest complete output ({"name":"","price":0} is 21 characters)
        const p = constrainedProcessor(grammar, vocab, { eosTokenId: 1, maxNewTokens });
        const out = await generate(randomModel(seed), { inputIds }, { maxNewTokens, numBeams: seed % 2 ? 2 : 1, logitsProcessors: [p] });
        const text = vocab.decode(out.sequences[0].slice(3), { skipSpecialTokens: true });
        assert.ok(check(text), `${name} seed ${seed}: ${JSON.stringify(text)}`);
        inputIds.dispose();
      }
    });
  }
});
