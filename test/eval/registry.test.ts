/** The metrics registry: names, unknown-name errors, results on hand-checkable inputs, box metrics from text. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluate, getMetric, METRICS, registerMetric } from "../../src/eval/registry.js";

test("unknown metric names list the valid ones", () => {
  assert.throws(() => evaluate([], [], ["mAP"]), (e: unknown) => /unknown metric "mAP"; valid: .*bleu.*json_field_f1.*map/.test(String(e)));
});

test("every registered metric has a description and runs on an empty corpus without NaN", () => {
  for (const name of METRICS.keys()) {
    assert.ok(getMetric(name).description.length > 10);
    if (name === "mask_map" || name === "miou") continue; // need a segmentation parser
    const r = evaluate([], [], [name]);
    assert.ok(!Number.isNaN(r[name].value), name);
  }
});

test("mask metrics without a segmentation parser say what to pass", () => {
  assert.throws(() => evaluate(["x"], ["y"], ["mask_map"]), /context\.parseSegmentation/);
});

test("JSON metrics on a small table", () => {
  const preds = ['{"name":"cake","price":"2"}', '{"name":"tea"', '{"name":"pie","price":"3"}', '{"name":"x"}'];
  const refs = ['{"name":"cake","price":"2"}', '{"name":"tea","price":"1"}', '{"price":"3","name":"pie"}', '{"name":"x","price":"5"}'];
  const r = evaluate(preds, refs, ["json_parse_rate", "json_exact_match", "json_field_f1"]);
  assert.equal(r.json_parse_rate.value, 3 / 4);
  assert.equal(r.json_exact_match.value, 2 / 4);
  assert.equal(r.json_field_f1.value, (2 * 5) / (5 + 8)); // 5 fields predicted and all right, 8 in the references
  assert.deepEqual(r.json_field_f1.perSample, [1, 0, 1, 2 / 3]);
  const table = r.json_field_f1.details.perField as { field: string; recall: number }[];
  assert.equal(table[0].field, "price", "the field missed most comes first");
});

test("box mAP from <loc> text: a perfect and a missing detection", () => {
  const classes = ["cat", "dog"];
  const ref = "<loc0100><loc0100><loc0500><loc0500> cat ; <loc0000><loc0600><loc0300><loc1023> dog";
  const r = evaluate([ref, "<loc0100><loc0100><loc0500><loc0500> cat", "garbage"], [ref, ref, ref], ["map"], { classes, imageSizes: { imageWidth: 640, imageHeight: 480 } });
  const d = r.map.details as Record<string, number>;
  assert.equal(d.recall50, 3 / 6);
  assert.equal(d.precision50, 3 / 3);
  assert.deepEqual(r.map.perSample, [1, 2 / 3, 0]);
  assert.ok(r.map.value > 0 && r.map.value < 1);
});

test("registerMetric adds a metric and refuses duplicates", () => {
  registerMetric({ name: "length_ratio_test", description: "prediction length / reference length", higherIsBetter: true, compute: (p, r) => ({ value: p.join("").length / Math.max(1, r.join("").length), details: {} }) });
  assert.equal(evaluate(["ab"], ["abcd"], ["length_ratio_test"]).length_ratio_test.value, 0.5);
  assert.throws(() => registerMetric(getMetric("bleu")), /already registered/);
});

test("without a class list, both sides share one (labels of the references first)", () => {
  const ref = "<loc0100><loc0100><loc0500><loc0500> cat ; <loc0000><loc0600><loc0300><loc1023> dog";
  const pred = "<loc0000><loc0600><loc0300><loc1023> dog ; <loc0100><loc0100><loc0500><loc0500> cat";
  const r = evaluate([pred], [ref], ["map"]);
  assert.ok(r.map.value > 0.99, `mAP ${r.map.value}`);
  assert.deepEqual(Object.keys(r.map.details.perClass as object), ["cat", "dog"]);
});
