#!/usr/bin/env node
/**
 * `npm run setup:webgpu`: the optional WebGPU backend, through Dawn.
 *
 *     npm run setup:webgpu              # install (idempotent), then load the library on webgpu and print its report
 *
 * Installs with `npm install --no-save` (package.json and package-lock.json stay untouched, so `npm ci` stays as it
 * is and never needs any of this):
 *   - `webgpu` (Dawn's prebuilt `dawn.node`, ~21 MB per platform): WebGPU for Node on Vulkan (NVIDIA, AMD, Intel,
 *     lavapipe) or, where that is all there is, OpenGL ES through EGL in compatibility mode (Mesa llvmpipe);
 *   - `@tensorflow/tfjs-backend-webgpu` at the version of `@tensorflow/tfjs` (one engine, one version);
 *   - `deasync` (prebuilt N-API addon): lets `dataSync` read GPU data in Node (`src/backend/webgpu-readback.ts`).
 * Then it loads the library in a fresh Node with PALIGEMMA_BACKEND=webgpu, runs a product and prints the backend
 * report (adapter, Dawn backend, feature level, buffer limits). Debian packages Dawn needs at run time: a Vulkan
 * loader and driver (`libvulkan1` + the GPU's ICD), or Mesa's EGL (`libegl1 libegl-mesa0 libgl1-mesa-dri`).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const readJson = (p) => {
  try {
    return JSON.parse(fs.readFileSync(p, "utf8"));
  } catch {
    return null;
  }
};
const TFJS_VERSION = readJson(join(ROOT, "package.json")).dependencies["@tensorflow/tfjs"];
/** Pinned: the versions checked here (Dawn in `webgpu` 0.6.2, deasync's prebuilt addon for Node 20-26). */
export const WEBGPU_PACKAGES = { webgpu: "0.6.2", "@tensorflow/tfjs-backend-webgpu": TFJS_VERSION, deasync: "0.1.32" };

const t0 = Date.now();
const log = (msg) => console.log(`[setup:webgpu ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);

class SetupError extends Error {}

function present() {
  return Object.entries(WEBGPU_PACKAGES).every(([name, v]) => readJson(join(ROOT, "node_modules", name, "package.json"))?.version === v);
}

function install() {
  if (present()) {
    log(`${Object.entries(WEBGPU_PACKAGES).map(([n, v]) => `${n}@${v}`).join(", ")} already installed`);
    return;
  }
  const guarded = ["package.json", "package-lock.json"].map((f) => [join(ROOT, f), fs.existsSync(join(ROOT, f)) ? fs.readFileSync(join(ROOT, f)) : null]);
  const specs = Object.entries(WEBGPU_PACKAGES).map(([n, v]) => `${n}@${v}`);
  log(`installing ${specs.join(" ")} (--no-save)`);
  try {
    const r = spawnSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", ...specs], { cwd: ROOT, stdio: "inherit" });
    if (r.status !== 0) throw new SetupError(`npm install exited with ${r.status ?? r.error?.message}`);
  } finally {
    for (const [path, bytes] of guarded) {
      if (bytes && !bytes.equals(fs.readFileSync(path))) {
        fs.writeFileSync(path, bytes); // an optional backend is not recorded for everyone
        log(`restored ${path} (npm had changed it)`);
      }
    }
  }
  if (!present()) throw new SetupError("npm install finished but the packages are not all there");
  const nested = join(ROOT, "node_modules", "@tensorflow", "tfjs-backend-webgpu", "node_modules", "@tensorflow", "tfjs-core");
  if (fs.existsSync(nested)) throw new SetupError(`${nested} exists: the backend would register on another engine`);
}

/** Load the library on webgpu in a fresh Node (what users get), check a product, print the report. */
function check() {
  if (!fs.existsSync(join(ROOT, "dist", "src", "backend", "select.js"))) {
    log("building the library (dist/ is missing)");
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: ROOT, stdio: "inherit" });
    if (r.status !== 0) throw new SetupError("the build failed");
  }
  const dist = (p) => JSON.stringify(join(ROOT, "dist", "src", p));
  const code = `
    const { initBackend, formatBackendReport } = await import(${dist("backend/select.js")});
    const { tf } = await import(${dist("tf.js")});
    const info = await initBackend();
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).dataSync();
    if (y[0] !== 17 || y[1] !== 39) throw new Error("matMul on webgpu gave " + Array.from(y));
    console.log(formatBackendReport(info));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: ROOT, stdio: "inherit", env: { ...process.env, PALIGEMMA_BACKEND: "webgpu" } });
  if (r.status !== 0) throw new SetupError("the webgpu backend did not start in a fresh Node (see above)");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    if (process.argv.length > 2) throw new SetupError(`setup:webgpu takes no arguments (got ${process.argv.slice(2).join(" ")})`);
    install();
    check();
    log("done");
  } catch (e) {
    console.error(`\nsetup:webgpu failed: ${e instanceof SetupError ? e.message : e.stack}`);
    process.exit(1);
  }
}
