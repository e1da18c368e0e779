/** The TF.js backends present on this machine: cpu and wasm always, tensorflow when tfjs-node(-gpu) is installed. */
import { tf } from "../../src/tf.js";
import { initBackend, type BackendName } from "../../src/backend/select.js";

export async function presentBackends(): Promise<BackendName[]> {
  const names: BackendName[] = [];
  try {
    await initBackend({ backend: "tensorflow", force: true });
    names.push("tensorflow");
  } catch {
    // optional native backend not installed: nothing to test there
  }
  names.push("wasm", "cpu");
  await initBackend({ backend: "cpu", force: true });
  return names;
}

export async function useBackend(name: BackendName): Promise<void> {
  await initBackend({ backend: name, force: true });
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not start`);
}
