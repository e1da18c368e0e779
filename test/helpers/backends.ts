/**
 * The TF.js backends the tests run on: cpu and wasm always, tensorflow when tfjs-node(-gpu) loads (`npm run
 * setup:native`), webgpu when `npm run setup:webgpu` installed it and a hardware adapter is there (on a software
 * adapter such as llvmpipe only with PALIGEMMA_BACKEND=webgpu). With `PALIGEMMA_BACKEND=NAME` only that backend, and it must start: CI's native pass uses this so
 * a broken native setup fails loudly instead of quietly testing wasm and cpu again.
 */
import { tf } from "../../src/tf.js";
import { initBackend, BACKEND_NAMES, type BackendName } from "../../src/backend/select.js";
import { traitsOf } from "../../src/backend/traits.js";

export async function presentBackends(): Promise<BackendName[]> {
  const only = process.env["PALIGEMMA_BACKEND"];
  if (only) {
    const info = await initBackend({ force: true }); // throws a BackendError naming what was tried when it cannot start
    return [info.name];
  }
  const names: BackendName[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      await initBackend({ backend: name, force: true, probe: true }); // as automatic selection would: webgpu on llvmpipe only when asked
      names.push(name);
    } catch (e) {
      // only a backend whose providers are all optional (the native one) may be absent; the rest ship with us
      if (!traitsOf(name).providers.every((p) => p.optional)) throw e;
    }
  }
  await initBackend({ backend: "cpu", force: true });
  return names;
}

export async function useBackend(name: BackendName): Promise<void> {
  await initBackend({ backend: name, force: true });
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not start`);
}
