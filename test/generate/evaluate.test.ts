/**
 * evaluateModel: per-sample rows with scores, worst first, JSON-serialisable aggregates; the prompt is cut from
 * each generation using the attention mask (left padding); memory flat with the real tiny model.
 */
import type { ProgressEvent } from "../../src/events/progress.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { evaluateModel } from "../../src/generate/evaluate.js";
import type { Collator, Example, ExampleDataset, ModelBatch, TextDecoder } from "../../src/data/types.js";
import type { GenerateInputs, GenerateOutput } from "../../src/generate/generate.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { TINY } from "../helpers/golden.js";
import { useBackend } from "../helpers/backends.js";
import { toyVocab } from "./toy-vocab.js";

await useBackend("cpu");
const vocab = toyVocab();

/** A collator on the toy vocabulary: <image>×16 <bos> prefix \n, left-padded with 0. */
const processor: Collator & TextDecoder = {
  decode: vocab.decode,
  async collate(examples: readonly Example[]): Promise<ModelBatch> {
    const rows = examples.map((e) => [...new Array(16).fill(257), 2, ...vocab.encode(e.prefix), 108]);
    const L = Math.max(...rows.map((r) => r.length));
    const ids = rows.map((r) => [...new Array(L - r.length).fill(0), ...r]);
    const mask = rows.map((r) => [...new Array(L - r.length).fill(0), ...new Array(r.length).fill(1)]);
    return {
      pixelValues: tf.randomUniform([examples.length, 3, 56, 56], -1, 1, "float32", 3),
      inputIds: tf.tensor2d(ids, [rows.length, L], "int32"),
      attentionMask: tf.tensor2d(mask, [rows.length, L], "int32"),
      tokenTypeIds: tf.zeros([rows.length, L], "int32"),
    };
  },
};

const data: Example[] = [
  { image: "a.jpg", prefix: "extract", suffix: '{"name":"cake","price":12}', source: "valid.jsonl:1" },
  { image: new Uint8Array(10), prefix: "extract name", suffix: '{"name":"tea","price":3}' },
  { image: "c.jpg", prefix: "extract", suffix: '{"name":"pie","price":5}' },
];
const dataset: ExampleDataset = { length: data.length, get: async (i) => data[i] };
const canned = ['{"name":"cake","price":12}', '{"name":"tea"', '{"name":"pie","price":6}'];

/** A model whose generations are canned texts (prompt rows are returned without padding, like generate). */
const fakeModel = {
  async generate(inputs: GenerateInputs): Promise<GenerateOutput> {
    const ids = (await inputs.inputIds.array()) as number[][];
    const mask = (await inputs.attentionMask!.array()) as number[][];
    return {
      sequences: ids.map((row, b) => {
        const prompt = row.filter((_, l) => mask[b][l] !== 0);
        const which = data.findIndex((d) => vocab.encode(d.prefix).join() === prompt.slice(17, -1).join() && !seen.has(data.indexOf(d)));
        seen.add(which);
        return [...prompt, ...vocab.encode(canned[which]), 1];
      }),
    };
  },
};
const seen = new Set<number>();

test("rows, scores, worst first, aggregates; serialisable", async () => {
  seen.clear();
  const progress: number[] = [];
  const events: ProgressEvent[] = [];
  const r = await evaluateModel(fakeModel, processor, dataset, {
    metrics: ["json_field_f1", "json_parse_rate", "bleu"],
    batchSize: 2,
    onProgress: (e) => void (events.push(e), e.phase === "update" && progress.push(e.done)),
  });
  assert.deepEqual(progress, [2, 3], "one update per batch, counting samples");
  assert.deepEqual(events.map((e) => e.phase), ["begin", "update", "update", "end"]);
  assert.equal(events.at(-1)!.task, "evaluate");
  assert.equal(events.at(-1)!.metrics!["json_field_f1"], r.aggregates["json_field_f1"]!.value, "the end event carries the aggregates");
  assert.equal(r.count, 3);
  assert.equal(r.sortedBy, "json_field_f1");
  assert.deepEqual(r.rows.map((x) => x.index), [1, 2, 0], "worst field F1 first");
  assert.deepEqual(r.rows.map((x) => x.prediction), [canned[1], canned[2], canned[0]]);
  assert.deepEqual(r.rows[0].scores, { json_field_f1: 0, json_parse_rate: 0 });
  assert.equal(r.rows[0].image, "<10 bytes>");
  assert.equal(r.rows[2].source, "valid.jsonl:1");
  assert.equal(r.aggregates.json_parse_rate.value, 2 / 3);
  assert.equal(r.aggregates.json_field_f1.value, (2 * 3) / (4 + 6)); // 3 of 4 predicted fields right, 6 in the targets
  assert.ok(r.aggregates.bleu.value > 0);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r, "plain JSON");
});

test("bad options fail before generating", async () => {
  await assert.rejects(evaluateModel(fakeModel, processor, dataset, { metrics: ["f1"] }), /unknown metric "f1"; valid:/);
  await assert.rejects(evaluateModel(fakeModel, processor, dataset, { metrics: [] }), /at least one metric/);
  await assert.rejects(evaluateModel(fakeModel, processor, dataset, { metrics: ["bleu"], sortBy: "rouge_l" }), /sortBy/);
});

test("with the tiny model: runs end to end, batch tensors disposed (numTensors flat)", async () => {
  const model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
  const opts = { metrics: ["json_parse_rate", "edit_distance"], generation: { maxNewTokens: 4 }, batchSize: 2 };
  await evaluateModel(model, processor, dataset, opts);
  const before = tf.memory().numTensors;
  const r = await evaluateModel(model, processor, dataset, opts);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(r.rows.length, 3);
  for (const row of r.rows) assert.ok(Number.isFinite(row.scores.edit_distance));
});
