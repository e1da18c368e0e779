import { test } from "node:test";
import assert from "node:assert/strict";
import { MIME, diffJson, diffJsonMany, jsonDiffBundle, trainingBundle, TrainingProgress, buildReport, reportBundle, buildDatasetSummary, datasetBundle, lineChartSvg, escapeHtml } from "../../src/display/index.js";
import type { MimeBundle } from "../../src/display/bundle.js";

const EVIL = `<img src=x onerror="alert(1)">`;
const image = { data: new Uint8Array(32 * 24 * 3).fill(90), width: 32, height: 24, channels: 3 as const };

function assertSafeHtml(h: string, what: string) {
  assert.doesNotMatch(h, /<script/i, `${what}: no script`);
  for (const tag of h.match(/<[a-z][^>]*>/gi) ?? []) {
    const names = [...tag.matchAll(/\s([a-z-]+)(?:="[^"]*")?/gi)].map((m) => m[1].toLowerCase());
    assert.ok(!names.some((n) => n.startsWith("on")), `${what}: event-handler attribute in ${tag}`);
    assert.doesNotMatch(tag.slice(1).replace(/="[^"]*"/g, ""), /["'<]/, `${what}: attribute values are quoted and escaped in ${tag}`);
  }
  assert.doesNotMatch(h, /<img src=x/i, `${what}: untrusted markup escaped`);
  assert.doesNotMatch(h, /(src|href)\s*=\s*["']?(https?:)?\/\/|url\(\s*["']?(https?:)?\/\/|@import/i, `${what}: no network (CDN) references`);
}

async function bundles(): Promise<[string, MimeBundle][]> {
  const t = new TrainingProgress({ maxSteps: 4, title: EVIL });
  t.onLog({ step: 1, loss: 2, learningRate: 1e-3 });
  t.onEvaluate({ step: 1, metrics: { [EVIL]: 0.5 } });
  const report = await buildReport({ title: EVIL, rows: [{ image, prefix: EVIL, target: `{"${EVIL}": 1}`, prediction: `{"${EVIL}": 2}`, scores: { f1: 0.1 } }], aggregates: { [EVIL]: 1 } });
  const dataset = await buildDatasetSummary([{ image, prefix: EVIL, suffix: `<loc0001><loc0002><loc0500><loc0600> ${EVIL}` }], { title: EVIL });
  return [
    ["jsondiff", jsonDiffBundle(diffJson({ [EVIL]: EVIL, ok: 1 }, { [EVIL]: "x", extra: EVIL }, EVIL))],
    ["jsondiff many", jsonDiffBundle(diffJsonMany([{ expected: { [EVIL]: 1 }, actual: `${EVIL}` }]))],
    ["training", trainingBundle(t.payload())],
    ["report", reportBundle(report)],
    ["dataset", datasetBundle(dataset)],
  ];
}

test("HTML fallbacks are self-contained and escape every untrusted string", async () => {
  for (const [what, b] of await bundles()) {
    const h = b.data["text/html"] as string;
    assertSafeHtml(h, what);
    assert.ok(h.includes(escapeHtml("<img src=x")), `${what}: the label shows literally`);
    assert.equal(typeof b.data["text/plain"], "string");
    assert.ok(Object.keys(b.data).some((k) => k.startsWith("application/vnd.paligemma-ts.") && k.endsWith(".v1+json")), what);
  }
  assertSafeHtml(lineChartSvg([{ name: EVIL, points: [{ step: 0, value: 1 }, { step: 1, value: 2 }] }], { title: EVIL }), "chart");
});

test("the JSON diff fallback marks the changed field and collapses equal subtrees", () => {
  const h = jsonDiffBundle(diffJson({ a: { x: 1, y: 2 }, b: { z: 1 } }, { a: { x: 1, y: 3 }, b: { z: 1 } })).data["text/html"] as string;
  assert.match(h, /<span data-path="\$\.a\.y" data-status="changed">/);
  assert.match(h, /<details data-path="\$\.b" data-status="equal">/, "equal subtree closed");
  assert.match(h, /<details data-path="\$\.a" data-status="changed" open>/, "changed subtree open");
});

test("the training fallback draws the curves as inline SVG", () => {
  const t = new TrainingProgress({ maxSteps: 10 });
  for (let s = 1; s <= 5; s++) t.onLog({ step: s, loss: 1 / s, learningRate: 1e-3 * s });
  const h = trainingBundle(t.payload()).data["text/html"] as string;
  assert.equal((h.match(/<svg /g) ?? []).length, 2, "loss and learning-rate charts");
  assert.equal((h.match(/<polyline /g) ?? []).length, 2);
  assert.match(h, /aria-valuenow="5"/);
  assert.ok(MIME.training.endsWith(".v1+json"));
});

test("a label containing </script> keeps its object (not dropped by the <loc> parser) and shows literally, never as markup", async () => {
  const { sampleBundle } = await import("../../src/display/index.js");
  const label = `cat</script><script>window.__pwned=1</script>`;
  const b = await sampleBundle({ image, prefix: "detect cat", suffix: `<loc0001><loc0002><loc0500><loc0600> ${label} ; <loc0100><loc0100><loc0900><loc0900> dog` });
  const p = b.data[MIME.annotations] as import("../../src/display/protocol.js").AnnotationsPayload;
  assert.deepEqual(p.layers[0].boxes.map((x) => x.className), [label, "dog"], "both objects kept, the label whole");
  assert.ok((b.data["text/plain"] as string).includes(label));
  const dataset = datasetBundle(await buildDatasetSummary([{ image, prefix: "p", suffix: `<loc0001><loc0002><loc0500><loc0600> ${label}` }]));
  assertSafeHtml(dataset.data["text/html"] as string, "dataset with </script>");
});
