/** Backend selection: best present by default, overridable by option and env var, always reported. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../src/tf.js";
import { BackendError, initBackend, backendInfo, hasKernel } from "../src/backend/select.js";

test("default picks the best present backend and says which", async () => {
  const info = await initBackend({ force: true });
  const nativePresent = info.name === "tensorflow";
  // without tfjs-node(-gpu) installed (the case wherever npm cannot fetch libtensorflow) WASM must win over pure JS
  if (!nativePresent) {
    assert.equal(info.name, "wasm");
    assert.ok(info.skipped.some((s) => s.name === "@tensorflow/tfjs-node"), "the skipped native package is reported");
  }
  assert.equal(tf.getBackend(), info.name);
  assert.deepEqual(backendInfo(), info);
});

test("an explicit backend is honoured", async () => {
  for (const name of ["cpu", "wasm"] as const) {
    const info = await initBackend({ backend: name, force: true });
    assert.equal(info.name, name);
    assert.equal(tf.getBackend(), name);
  }
});

test("PALIGEMMA_BACKEND overrides the default; an unknown name is a clear error", async () => {
  process.env.PALIGEMMA_BACKEND = "cpu";
  try {
    assert.equal((await initBackend({ force: true })).name, "cpu");
    process.env.PALIGEMMA_BACKEND = "webgpu";
    await assert.rejects(initBackend({ force: true }), (e: Error) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /PALIGEMMA_BACKEND: unknown backend "webgpu"; use one of tensorflow, wasm, cpu/);
      return true;
    });
  } finally {
    delete process.env.PALIGEMMA_BACKEND;
  }
});

test("kernel probe sees what WASM lacks (why gathers and patch convs are done differently)", async () => {
  await initBackend({ backend: "wasm", force: true });
  assert.equal(hasKernel("UnsortedSegmentSum"), false);
  assert.equal(hasKernel("BatchMatMul"), true);
  await initBackend({ backend: "cpu", force: true });
  assert.equal(hasKernel("UnsortedSegmentSum"), true);
});
