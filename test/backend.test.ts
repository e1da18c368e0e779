/** Backend selection: best present by default, overridable by option and env var, always reported. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../src/tf.js";
import { BackendError, initBackend, backendInfo, hasKernel, formatBackendReport } from "../src/backend/select.js";
import { BACKEND_NAMES, BACKEND_TRAITS, activeTraits, lacksKernel } from "../src/backend/traits.js";
import { presentBackends } from "./helpers/backends.js";

const present = await presentBackends();

test("default picks the best present backend and says which", async () => {
  const info = await initBackend({ force: true });
  const nativePresent = info.name === "tensorflow";
  // without tfjs-node(-gpu) installed (the case wherever npm cannot fetch libtensorflow) WASM must win over pure JS
  if (!nativePresent && !process.env.PALIGEMMA_BACKEND) {
    assert.equal(info.name, "wasm");
    const skipped = info.skipped.find((s) => s.name === "@tensorflow/tfjs-node");
    assert.match(skipped?.reason ?? "(not reported)", /setup:native/, "the skipped native package is reported with the way to get it");
  }
  // tfjs-node-gpu, when absent or unloadable, is reported with its CUDA 11.2 requirement and the better route
  const gpu = info.skipped.find((s) => s.name === "@tensorflow/tfjs-node-gpu");
  if (gpu) assert.match(gpu.reason, /CUDA 11\.2.*setup:native -- --gpu/);
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
  const before = process.env.PALIGEMMA_BACKEND;
  process.env.PALIGEMMA_BACKEND = "cpu";
  try {
    assert.equal((await initBackend({ force: true })).name, "cpu");
    process.env.PALIGEMMA_BACKEND = "webgl";
    await assert.rejects(initBackend({ force: true }), (e: Error) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /PALIGEMMA_BACKEND: unknown backend "webgl"; use one of tensorflow, webgpu, wasm, cpu/);
      return true;
    });
  } finally {
    if (before === undefined) delete process.env.PALIGEMMA_BACKEND;
    else process.env.PALIGEMMA_BACKEND = before;
  }
});

test("kernel probe sees what WASM lacks (why gathers and patch convs are done differently)", async () => {
  await initBackend({ backend: "wasm", force: true });
  assert.equal(hasKernel("UnsortedSegmentSum"), false);
  assert.equal(hasKernel("BatchMatMul"), true);
  await initBackend({ backend: "cpu", force: true });
  assert.equal(hasKernel("UnsortedSegmentSum"), true);
});

// Kernels the library's ops depend on; a backend's traits must say exactly which of them it lacks.
const KERNELS_USED = ["UnsortedSegmentSum", "BatchMatMul", "GatherV2", "Identity", "Conv2D", "Softmax", "BitwiseAnd", "Erf", "Tanh"];

for (const name of present) {
  test(`traits of ${name} match its registered kernels (ops read traits, so a wrong entry would break them)`, async () => {
    await initBackend({ backend: name, force: true });
    assert.equal(activeTraits(), BACKEND_TRAITS[name]);
    for (const k of BACKEND_TRAITS[name].missingKernels) assert.equal(hasKernel(k), false, `${name} lists ${k} as missing but has it`);
    for (const k of BACKEND_TRAITS[name].unreliableKernels) assert.equal(hasKernel(k), true, `${name} lists ${k} as unreliable but lacks it`);
    for (const k of KERNELS_USED) {
      assert.equal(lacksKernel(k), !hasKernel(k), `${name}: traits and registry disagree on ${k}`);
    }
  });

  test(`the load report of ${name} names its version, threads, devices and why it was chosen`, async () => {
    const info = await initBackend({ backend: name, force: true });
    assert.match(info.version, name === "tensorflow" ? /^TensorFlow 2\.\d+\.\d+/ : /^tfjs-backend-\w+ 4\.\d+\.\d+$/);
    assert.ok(info.threads.intraOp >= 1 && info.threads.interOp >= 1, JSON.stringify(info.threads));
    assert.ok(info.devices.some((d) => d.kind === "cpu" && (d.memoryBytes ?? 0) > 0), JSON.stringify(info.devices));
    assert.match(info.reason, /asked for .*"\w+"/);
    const text = formatBackendReport(info);
    for (const part of [`backend: ${name}`, info.version, info.source, "why: ", `intra-op ${info.threads.intraOp}`]) {
      assert.ok(text.includes(part), `report lacks "${part}":\n${text}`);
    }
  });
}

if (present.includes("webgpu")) {
  // Without the handler Dawn prints the error and the kernel's output is silently garbage (src/backend/dawn.ts).
  test("webgpu: a device error is thrown at the next read (sync and async), then reads work again", async () => {
    await initBackend({ backend: "webgpu", force: true });
    const device = (tf.backend() as unknown as { device: { createShaderModule(d: { code: string }): unknown } }).device;
    const invalidShader = () => device.createShaderModule({ code: "fn main( { this is not WGSL" });
    // 4096 elements: tfjs-backend-webgpu computes small ops on the host, which would never read the GPU
    const onGpu = (v: number) => tf.add(tf.fill([4096], v), 1);
    invalidShader();
    assert.throws(() => onGpu(1).dataSync(), /WebGPU device error.*cannot be trusted.*WGSL/s);
    assert.equal(onGpu(1).dataSync()[4095], 2, "the errors are thrown once");
    invalidShader();
    await assert.rejects(onGpu(2).data(), /WebGPU device error.*WGSL/s);
    assert.equal((await onGpu(2).data())[0], 3);
    await initBackend({ backend: "cpu", force: true });
  });
}

test("every backend name has one traits record with at least one provider", () => {
  assert.deepEqual(Object.keys(BACKEND_TRAITS).sort(), [...BACKEND_NAMES].sort());
  for (const name of BACKEND_NAMES) assert.ok(BACKEND_TRAITS[name].providers.length > 0, name);
});
