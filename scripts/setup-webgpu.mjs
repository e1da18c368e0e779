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
 * The optional packages already present (the native backend's `@tensorflow/tfjs-node(-gpu)`, esbuild) are kept
 * (`scripts/no-save-install.mjs`: npm would otherwise remove them).
 * `--also SPEC` adds another package to keep (bench/gpu/pack.sh: `--also esbuild@0.25`).
 * Then it loads the library in a fresh Node with PALIGEMMA_BACKEND=webgpu, runs a product and prints the backend
 * report (adapter, Dawn backend, feature level, buffer limits). Debian packages Dawn needs at run time: a Vulkan
 * loader and driver (`libvulkan1` + the GPU's ICD), or Mesa's EGL (`libegl1 libegl-mesa0 libgl1-mesa-dri`).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InstallError, installNoSave, installedVersion } from "./no-save-install.mjs";

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

const versionOf = (name) => installedVersion(ROOT, name);

function present(also) {
  const wanted = [...Object.entries(WEBGPU_PACKAGES), ...also.map((spec) => [spec.slice(0, spec.lastIndexOf("@")), spec.slice(spec.lastIndexOf("@") + 1)])];
  return wanted.every(([name, v]) => versionOf(name) !== undefined && (versionOf(name) === v || !/^\d+\.\d+\.\d+$/.test(v)));
}

function install(also) {
  if (present(also)) {
    log(`${Object.entries(WEBGPU_PACKAGES).map(([n, v]) => `${n}@${v}`).concat(also).join(", ")} already installed`);
    return;
  }
  try {
    installNoSave(ROOT, [...Object.entries(WEBGPU_PACKAGES).map(([n, v]) => `${n}@${v}`), ...also], log);
  } catch (e) {
    throw e instanceof InstallError ? new SetupError(e.message) : e;
  }
  if (!present(also)) throw new SetupError("npm install finished but the packages are not all there");
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
    const args = process.argv.slice(2);
    const also = [];
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "--also" && args[i + 1] && /^@?[\w./-]+@[\w.^~-]+$/.test(args[i + 1])) also.push(args[++i]);
      else throw new SetupError(`usage: npm run setup:webgpu [-- --also NAME@VERSION ...] (got ${args.join(" ")})`);
    }
    install(also);
    check();
    log("done");
  } catch (e) {
    console.error(`\nsetup:webgpu failed: ${e instanceof SetupError ? e.message : e.stack}`);
    process.exit(1);
  }
}
