/**
 * Property: parsers of model output and the metrics built on them never throw on any text, and give finite
 * numbers. 2000 seeded random strings of PaliGemma-ish pieces (loc/seg tokens in and out of range, JSON
 * punctuation, lone surrogates, NULs, …) per parser.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseJson } from "../../src/codecs/json.js";
import { donutTedAccuracy } from "../../src/eval/json/donut.js";
import { evaluate } from "../../src/eval/registry.js";
import { Detections } from "../../src/codecs/detections.js";
import { tokenize13a, rougeTokenize } from "../../src/eval/text.js";
import { mulberry32, randomModelText } from "./random-text.js";

const N = 2000;

test("parseJson, Donut nTED, 13a and ROUGE tokenizers never throw", () => {
  const rand = mulberry32(1);
  for (let i = 0; i < N; i++) {
    const s = randomModelText(rand);
    const p = parseJson(s);
    assert.equal(typeof p.ok, "boolean");
    const acc = donutTedAccuracy(p, parseJson('{"a":"x","b":["1","2"]}'));
    assert.ok(Number.isFinite(acc) && acc >= 0 && acc <= 1, `nTED ${acc} for ${JSON.stringify(s)}`);
    assert.ok(Array.isArray(tokenize13a(s)));
    assert.ok(Array.isArray(rougeTokenize(s)));
  }
});

test("deeply nested JSON is reported, not a stack overflow", () => {
  const p = parseJson("[".repeat(100000));
  assert.equal(p.ok, false);
});

test("Detections.fromPaligemma never throws on text", () => {
  const rand = mulberry32(2);
  for (let i = 0; i < N; i++) {
    const d = Detections.fromPaligemma(randomModelText(rand), { imageWidth: 640, imageHeight: 480, classes: ["cat", "dog"] });
    assert.ok(d.length >= 0);
  }
});

test("every text metric in the registry gives finite numbers on random predictions", () => {
  const rand = mulberry32(3);
  const preds = Array.from({ length: 200 }, () => randomModelText(rand));
  const refs = preds.map((_, i) => (i % 2 ? '{"a":"x","tags":["1","2"]}' : '{"b":{"c":1}}'));
  const r = evaluate(preds, refs, ["exact_match", "edit_distance", "bleu", "rouge_l", "json_parse_rate", "json_exact_match", "json_field_f1", "json_ted_accuracy", "donut_f1"]);
  for (const [name, m] of Object.entries(r)) {
    assert.ok(Number.isFinite(m.value), `${name} = ${m.value}`);
    for (const v of m.perSample ?? []) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `${name} per-sample ${v}`);
  }
  const boxRefs = preds.map(() => "<loc0100><loc0100><loc0500><loc0500> cat ; <loc0000><loc0600><loc0300><loc1023> dog");
  const m = evaluate(preds, boxRefs, ["map"], { classes: ["cat", "dog"] }).map;
  assert.ok(Number.isFinite(m.value) && m.value >= 0);
  for (const v of m.perSample!) assert.ok(Number.isFinite(v));
});
