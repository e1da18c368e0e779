/**
 * Inference extras on the generation hooks: HF repetition penalty (table + greedy/beam behaviour), stop strings
 * (HF StopStringCriteria behaviour: spans tokens, ends inside the last token), the repeated-<loc>-group guard
 * (roboflow/notebooks#358) and streaming, on a scripted decoder whose choices are derived by hand.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { generate } from "../../src/generate/generate.js";
import { repetitionPenalty } from "../../src/generate/penalties.js";
import { generationHooks, stopOnRepeatedLocGroup, stopStrings } from "../../src/generate/stopping.js";
import type { TextDecoder } from "../../src/data/types.js";
import { scriptedDecoder } from "./fake-decoder.js";
import { useBackend } from "../helpers/backends.js";

await useBackend("cpu");

describe("repetitionPenalty (HF RepetitionPenaltyLogitsProcessor)", () => {
  test("table: negative scores × p, positive ÷ p, each distinct id once, prompt included", () => {
    // HF: score = gather(scores, input_ids); where(score < 0, score * p, score / p); scatter back
    const scores = Float32Array.from([2, -1, 0.5, -3, 4, 1, 1, 1]); // 2 rows × V=4
    repetitionPenalty(2)([[0, 1, 1], [3]], scores, 4, 1);
    assert.deepEqual(Array.from(scores), [1, -2, 0.5, -3, 4, 1, 1, 1 / 2]);
  });
  test("generatedOnly skips the prompt; 1.0 is a no-op; penalty < 1 encourages", () => {
    const s = Float32Array.from([2, 2, 2]);
    repetitionPenalty(2, { generatedOnly: true })([[0, 1]], s, 3, 1);
    assert.deepEqual(Array.from(s), [2, 1, 2]);
    const t = Float32Array.from([2, -2, 2]);
    repetitionPenalty(1)([[0, 1]], t, 3, 0);
    assert.deepEqual(Array.from(t), [2, -2, 2]);
    repetitionPenalty(0.5)([[0, 1]], t, 3, 0);
    assert.deepEqual(Array.from(t), [4, -1, 2]);
  });
  test("float32 arithmetic like torch (the scalar is cast to float32)", () => {
    const s = Float32Array.from([-0.3]);
    repetitionPenalty(1.1)([[0]], s, 1, 0);
    assert.equal(s[0], Math.fround(Math.fround(-0.3) * Math.fround(1.1)));
  });
  test("bad penalties throw with the value", () => {
    for (const p of [0, -1, NaN, Infinity]) assert.throws(() => repetitionPenalty(p), new RegExp(`got ${p}`));
  });

  test("greedy: a penalty breaks a loop the model would repeat", async () => {
    // V=5, eos=1. The model always prefers token 3 (logit 2.0), then 4 (1.5). With p=2 a used 3 scores 1.0 < 1.5.
    const model = scriptedDecoder(5, 1, () => [0, -9, 0, 2, 1.5]);
    const inputIds = tf.tensor2d([[2]], [1, 1], "int32");
    const plain = await generate(model, { inputIds }, { maxNewTokens: 4 });
    assert.deepEqual(plain.sequences[0], [2, 3, 3, 3, 3]);
    const pen = await generate(model, { inputIds }, { maxNewTokens: 4, logitsProcessors: [repetitionPenalty(2)] });
    // step 1: 3 (2.0); step 2: 3→1.0, 4 (1.5); step 3: both used: 3→1.0, 4→0.75, 0 and 2 are 0 (not in history
    // except 2, the prompt: 0/2 = 0) → 3; and so on
    assert.deepEqual(pen.sequences[0], [2, 3, 4, 3, 3]);
    inputIds.dispose();
  });

  test("beam search applies it to log-probabilities (all negative: × p)", async () => {
    // 2 beams; logits fixed. log-softmax makes every score negative, so a repeated token is multiplied by p
    const model = scriptedDecoder(4, 1, () => [0, -20, 0.1, 1]);
    const inputIds = tf.tensor2d([[0]], [1, 1], "int32");
    const plain = await generate(model, { inputIds }, { maxNewTokens: 3, numBeams: 2 });
    assert.deepEqual(plain.sequences[0], [0, 3, 3, 3]);
    const pen = await generate(model, { inputIds }, { maxNewTokens: 3, numBeams: 2, logitsProcessors: [repetitionPenalty(3)] });
    assert.notDeepEqual(pen.sequences[0], [0, 3, 3, 3]);
    assert.ok(pen.sequences[0].filter((t) => t === 3).length < 3);
    inputIds.dispose();
  });
});

/** A toy tokenizer: id → text piece; special ids 0..2 decode to "" with skipSpecialTokens. */
function toyDecoder(pieces: string[]): TextDecoder {
  return { decode: (ids, o) => ids.map((i) => (o?.skipSpecialTokens && i < 3 ? "" : pieces[i] ?? "")).join("") };
}

describe("stopStrings (HF StopStringCriteria behaviour)", () => {
  const pieces = ["<pad>", "<eos>", "<bos>", "a", "b", "\n", " ;", "x\ny", "en", "d"];
  const dec = toyDecoder(pieces);
  const table: [string, number[], string[], boolean][] = [
    ["single-token stop string", [2, 3, 5], ["\n"], true],
    ["not yet", [2, 3, 4], ["\n"], false],
    ["spans two tokens (\"end\" = en + d)", [2, 3, 8, 9], ["end"], true],
    ["ends inside the last token (x\\ny contains \\n)", [2, 3, 7], ["\n"], true],
    ["only in the prompt: ignored", [5, 2, 3], ["\n"], false],
    ["occurred earlier, not new with this token", [2, 5, 3], ["\n"], false],
    ["several strings", [2, 3, 6], ["\n", " ;"], true],
  ];
  for (const [what, tokens, strings, want] of table) {
    test(what, () => assert.equal(stopStrings(strings, dec)(tokens, 1), want));
  }
  test("in generate: the row stops after the token that completes the string", async () => {
    // model emits a, en, d, a, a …; stop at "end"
    const script = [3, 8, 9, 3, 3, 3];
    const model = scriptedDecoder(pieces.length, 1, (t) => pieces.map((_, i) => (i === script[t.length - 1] ? 5 : 0)));
    const inputIds = tf.tensor2d([[2]], [1, 1], "int32");
    const out = await generate(model, { inputIds }, { maxNewTokens: 6, ...generationHooks({ stopStrings: ["end"], decoder: dec }) });
    assert.deepEqual(out.sequences[0], [2, 3, 8, 9]);
    inputIds.dispose();
  });
  test("bad arguments throw", () => {
    assert.throws(() => stopStrings([""], dec), /non-empty/);
    assert.throws(() => generationHooks({ stopStrings: ["x"] }), /need a decoder/);
  });
});

describe("stopOnRepeatedLocGroup (roboflow/notebooks#358)", () => {
  // loc ids 10..13 stand for <loc0000>..<loc0003>; 5 = " cat", 6 = " ;"
  const guard = stopOnRepeatedLocGroup({ firstLocId: 10, numLocs: 4 });
  const table: [string, number[], boolean][] = [
    ["first box", [0, 10, 11, 12, 13], false],
    ["second different box", [0, 10, 11, 12, 13, 5, 6, 11, 11, 12, 13], false],
    ["exact repeat of the first box", [0, 10, 11, 12, 13, 5, 6, 10, 11, 12, 13], true],
    ["repeat not yet complete", [0, 10, 11, 12, 13, 5, 6, 10, 11, 12], false],
    ["not group-aligned: 8 locs in one run are two groups, the window at 1..4 is not a group", [0, 10, 11, 12, 13, 10, 11, 12, 13], true],
    ["an equal but misaligned window is not a group", [0, 13, 11, 12, 13, 10, 12, 12, 12, 5, 11, 12, 13, 10], false],
    ["repeat inside the prompt does not count", [10, 11, 12, 13, 10, 11, 12, 13], false],
  ];
  for (const [what, tokens, want] of table) {
    test(what, () => assert.equal(guard(tokens, what.includes("prompt") ? 4 : 1), want));
  }
  test("maxOccurrences 2 allows one repeat", () => {
    const g2 = stopOnRepeatedLocGroup({ firstLocId: 10, numLocs: 4, maxOccurrences: 2 });
    const box = [10, 11, 12, 13, 5, 6];
    assert.equal(g2([0, ...box, ...box.slice(0, 4)], 1), false);
    assert.equal(g2([0, ...box, ...box, ...box.slice(0, 4)], 1), true);
  });
  test("in generate: a looping detector stops at the first repeated box instead of maxNewTokens", async () => {
    const cycle = [10, 11, 12, 13, 5, 6];
    const model = scriptedDecoder(14, 1, (t) => Array.from({ length: 14 }, (_, i) => (i === cycle[(t.length - 1) % 6] ? 5 : 0)));
    const inputIds = tf.tensor2d([[2]], [1, 1], "int32");
    const streamed: number[] = [];
    const out = await generate(model, { inputIds }, {
      maxNewTokens: 60,
      onToken: (t) => streamed.push(t),
      ...generationHooks({ stopOnRepeatedLoc: { firstLocId: 10, numLocs: 4 } }),
    });
    assert.deepEqual(out.sequences[0], [2, ...cycle, 10, 11, 12, 13]);
    assert.deepEqual(streamed, out.sequences[0].slice(1), "streaming saw every new token");
    inputIds.dispose();
  });
  test("bad options throw", () => {
    assert.throws(() => stopOnRepeatedLocGroup({ maxOccurrences: 0 }), /maxOccurrences/);
  });
});
