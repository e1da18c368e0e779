import { test } from "node:test";
import assert from "node:assert/strict";
import { diffJson, diffJsonMany, generalizePath } from "../../src/display/jsondiff.js";
import type { DiffNode } from "../../src/display/protocol.js";

function find(n: DiffNode | null, path: string): DiffNode | undefined {
  if (!n) return undefined;
  if (n.path === path) return n;
  for (const c of n.children ?? []) {
    const f = find(c, path);
    if (f) return f;
  }
  return undefined;
}

// [what, expected, actual, counts {equal, changed, missing, extra}, [path, status] checks]
const CASES: [string, unknown, unknown, [number, number, number, number], [string, string][]][] = [
  ["identical objects", { a: 1, b: "x" }, { a: 1, b: "x" }, [2, 0, 0, 0], [["$", "equal"], ["$.a", "equal"]]],
  ["one changed leaf", { a: 1, b: "x" }, { a: 2, b: "x" }, [1, 1, 0, 0], [["$", "changed"], ["$.a", "changed"], ["$.b", "equal"]]],
  ["missing and extra keys", { a: 1, b: 2 }, { a: 1, c: 3 }, [1, 0, 1, 1], [["$.b", "missing"], ["$.c", "extra"]]],
  ["missing subtree counts its leaves", { p: { q: 1, r: [1, 2] } }, {}, [0, 0, 3, 0], [["$.p", "missing"]]],
  ["arrays by position", [1, 2, 3], [1, 5], [1, 1, 1, 0], [["$[1]", "changed"], ["$[2]", "missing"]]],
  ["type change is one changed field", { a: { x: 1 } }, { a: "x" }, [0, 1, 0, 0], [["$.a", "changed"]]],
  ["number vs numeric string differ", { n: 1 }, { n: "1" }, [0, 1, 0, 0], [["$.n", "changed"]]],
  ["empty containers are leaves", { a: [], b: {} }, { a: [], b: {} }, [2, 0, 0, 0], [["$.a", "equal"]]],
  ["keys that are not identifiers are quoted", { "ship to": 1 }, { "ship to": 2 }, [0, 1, 0, 0], [['$["ship to"]', "changed"]]],
  ["JSON text is parsed", '{"route": "R1", "items": [{"qty": 2}]}', '{"route": "R1", "items": [{"qty": 3}]}', [1, 1, 0, 0], [["$.items[0].qty", "changed"]]],
];

for (const [what, e, a, counts, checks] of CASES) {
  test(`diffJson: ${what}`, () => {
    const d = diffJson(e, a);
    assert.deepEqual([d.counts.equal, d.counts.changed, d.counts.missing, d.counts.extra], counts);
    for (const [path, status] of checks) assert.equal(find(d.root, path)?.status, status, path);
  });
}

test("diffJson never throws on model text: invalid JSON is reported and everything expected is missing", () => {
  for (const garbage of ['{"a": 1', "", "<loc0001>", "null null", "{\"a\": NaN}"]) {
    const d = diffJson({ a: 1, b: [1, 2] }, garbage);
    assert.equal(d.parseErrors?.[0].side, "actual", garbage);
    assert.equal(d.counts.missing, 3);
  }
  assert.throws(() => diffJson({ a: 1 }, undefined), /actual/);
});

test("diffJsonMany: per-field accuracy over samples with array indices generalised, worst field first", () => {
  const target = { id: 1, items: [{ sku: "a", qty: 1 }, { sku: "b", qty: 2 }] };
  const d = diffJsonMany([
    { expected: target, actual: { id: 1, items: [{ sku: "a", qty: 9 }, { sku: "b", qty: 2 }] } },
    { expected: target, actual: { id: 2, items: [{ sku: "a", qty: 1 }] } },
    { expected: target, actual: "not json" },
  ]);
  const acc = Object.fromEntries(d.fieldAccuracy!.map((f) => [f.path, [f.correct, f.total]]));
  assert.deepEqual(acc["$.id"], [1, 3]);
  assert.deepEqual(acc["$.items[].qty"], [2, 6]);
  assert.deepEqual(acc["$.items[].sku"], [3, 6]);
  assert.equal(d.fieldAccuracy![0].path, "$.id", "worst first");
  assert.equal(d.samples, 3);
  assert.match(d.parseErrors![0].message, /1 of 3/);
  assert.equal(generalizePath("$.a[12].b[0]"), "$.a[].b[]");
});

test("diffJson: character-level edits in changed strings; arrays with an id-like key matched by key; text form without dangling arrows", async () => {
  const { textDiff, jsonDiffText, jsonDiffHtml, generalizePath } = await import("../../src/display/index.js");
  assert.deepEqual(textDiff("R-17 North", "R-71 North"), [{ op: "=", text: "R-" }, { op: "+", text: "7" }, { op: "=", text: "1" }, { op: "-", text: "7" }, { op: "=", text: " North" }]);
  const d = diffJson(
    { route: "R-17", items: [{ sku: "A1", qty: 2 }, { sku: "B2", qty: 1 }], note: "x" },
    { route: "R-71", items: [{ sku: "B2", qty: 1 }, { sku: "A1", qty: 3 }, { sku: "C3", qty: 5 }] },
  );
  const items = d.root!.children!.find((c) => c.key === "items")!;
  assert.equal(items.matchedBy, "sku", "matched by the id-like key, not by position");
  assert.deepEqual(items.children!.map((c) => [c.path, c.status]), [['$.items[sku="A1"]', "changed"], ['$.items[sku="B2"]', "equal"], ['$.items[sku="C3"]', "extra"]]);
  assert.deepEqual(d.counts, { equal: 3, changed: 2, missing: 1, extra: 2 }, "B2 equal despite moving; A1.qty changed; C3 extra (2 leaves); note missing");
  assert.equal(generalizePath('$.items[sku="A1"].qty'), "$.items[].qty");
  const route = d.root!.children!.find((c) => c.key === "route")!;
  assert.ok(route.textDiff!.some((o) => o.op === "+") && route.textDiff!.some((o) => o.op === "-"));
  const h = jsonDiffHtml(d);
  assert.match(h, /<ins data-op="\+"[^>]*>7<\/ins>/, "added characters highlighted inside the string");
  assert.match(h, /leaf values/, "the header says what it counts");
  const t = jsonDiffText(d);
  assert.match(t, /^− \$\.note: "x" \(missing\)$/m);
  assert.match(t, /^\+ \$\.items\[sku="C3"\]: \{"sku":"C3","qty":5\} \(extra\)$/m);
  assert.doesNotMatch(t, /→ *$/m, "no dangling arrow");
  // No common id-like key (or duplicates): by position as before.
  assert.equal(diffJson({ a: [{ id: 1 }, { id: 1 }] }, { a: [{ id: 1 }, { id: 1 }] }).root!.children![0].matchedBy, undefined);
});
