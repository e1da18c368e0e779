/**
 * The bundle transport against the real tslab package: tslab's own `display.raw` and our `sendBundle` must go
 * through the same writer (`tslab/dist/jupyter.js` `lastWriteDisplayData`), ours with every MIME type in ONE
 * output. If a tslab upgrade moves that hook, this test fails before any notebook does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { sendBundle, kernelWriter, loadedTslabModules, LiveOutput, setTransport } from "../../kernel/transport.js";

const require = createRequire(import.meta.url);
type Content = { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: { display_id?: string } };

function withWriter(fn: (calls: [Content, boolean][]) => void) {
  const jupyter = require("tslab/dist/jupyter.js") as { lastWriteDisplayData: ((c: Content, u: boolean) => void) | null };
  const calls: [Content, boolean][] = [];
  jupyter.lastWriteDisplayData = (c, u) => calls.push([c, u]);
  try {
    fn(calls);
  } finally {
    jupyter.lastWriteDisplayData = null;
  }
}

test("tslab's public display goes through the hook we use (pins tslab's internals)", () => {
  const tslab = require("tslab") as { display: { html(s: string): void }; newDisplay(): { text(s: string): void } };
  withWriter((calls) => {
    tslab.display.html("<b>x</b>");
    const d = tslab.newDisplay();
    d.text("a");
    d.text("b");
    assert.deepEqual(calls[0][0].data, { "text/html": "<b>x</b>" });
    assert.equal(Boolean(calls[0][1]), false);
    assert.equal(calls[2][0].transient.display_id, calls[1][0].transient.display_id);
    assert.deepEqual([Boolean(calls[1][1]), calls[2][1]], [false, true], "second write of a display is an update");
  });
});

test("sendBundle: one output with every MIME type of the bundle, found in require.cache", () => {
  withWriter((calls) => {
    assert.ok(loadedTslabModules().length >= 1);
    assert.equal(typeof kernelWriter(), "function");
    const bundle = { data: { "application/vnd.paligemma-ts.jsondiff.v1+json": { version: 1 }, "text/html": "<i>x</i>", "text/plain": "x" }, metadata: {} };
    assert.equal(sendBundle(bundle), true);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0][0].data, bundle.data);
    assert.deepEqual(calls[0][0].transient, {});
    const live = new LiveOutput();
    live.update({ data: { "text/plain": "1" }, metadata: {} });
    live.update({ data: { "text/plain": "2" }, metadata: {} });
    assert.deepEqual(calls.slice(1).map(([c, u]) => [c.transient.display_id, u, c.data["text/plain"]]), [[live.id, false, "1"], [live.id, true, "2"]]);
  });
});

test("outside a kernel cell bundles fall back to text on stdout; setTransport overrides", () => {
  assert.equal(kernelWriter(), null, "tslab loaded but no cell running");
  const seen: unknown[] = [];
  setTransport((b, t) => seen.push([b.data["text/plain"], t.update]));
  try {
    assert.equal(sendBundle({ data: { "text/plain": "hello" }, metadata: {} }), false);
  } finally {
    setTransport(null);
  }
  assert.deepEqual(seen, [["hello", false]]);
  assert.throws(() => sendBundle({ data: {}, metadata: {} }, { update: true }), /displayId/);
});
