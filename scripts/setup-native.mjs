#!/usr/bin/env node
/**
 * `npm run setup:native`: the native TensorFlow backend from PyPI's TensorFlow wheel, without libtensorflow 2.9.1.
 *
 *     npm run setup:native                                   # tensorflow-cpu 2.21.0 (every CPU core)
 *     npm run setup:native -- --gpu                          # tensorflow 2.21.0 + its CUDA 12 nvidia-* wheels
 *     npm run setup:native -- --from-site-packages DIR       # reuse `pip install tensorflow[and-cuda]`'s DIR
 *     PALIGEMMA_TF_SITE_PACKAGES=DIR npm run setup:native    # the same, for CI
 *
 * Steps, each skipped when already done (a second run only verifies):
 *   1. TensorFlow: `pip install --no-deps --target` of the wheel into the cache (below), or the site-packages given.
 *   2. `@tensorflow/tfjs-node@4.22.0` with `npm install --no-save --ignore-scripts`: its own install script would
 *      download libtensorflow 2.9.1 (CUDA 11.2); package.json and package-lock.json stay untouched, so `npm ci` stays
 *      download-free and never needs any of this; `npm run setup:webgpu`'s packages stay (scripts/no-save-install.mjs).
 *   3. Stage `deps/include` and `deps/lib` in tfjs-node from the wheel: its N-API binding builds unchanged against the
 *      C API that `libtensorflow_cc.so.2` exports. `deps/nvidia` points at the CUDA wheels (TF finds them from there).
 *   4. Build the binding (`npm rebuild`, node-gyp with Node's own headers) unless a cached build for this TF version
 *      and N-API version exists.
 *   5. Load the library on the `tensorflow` backend in a child Node and print its report.
 *
 * Cache: `$PALIGEMMA_NATIVE_CACHE`, else `$XDG_CACHE_HOME/paligemma-ts/native`, else `~/.cache/paligemma-ts/native`.
 * Outside node_modules on purpose: `npm ci` deletes node_modules, and the 1.3 GB wheel (CPU) or ~6 GB with the CUDA
 * libraries should not be fetched again after every clean install; one cache serves every clone on the machine.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InstallError, installNoSave } from "./no-save-install.mjs";

const TF_VERSION = "2.21.0"; // the version whose C API the tfjs-node 4.22 binding was checked against (issue 9)
const TFJS_NODE_VERSION = "4.22.0"; // = @tensorflow/tfjs in package.json: one engine, one version
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TFJS_NODE = join(ROOT, "node_modules", "@tensorflow", "tfjs-node");
const USAGE = `usage: npm run setup:native [-- --gpu] [-- --from-site-packages DIR] [-- --python PYTHON]
  --gpu                       the CUDA 12 build (tensorflow ${TF_VERSION} + nvidia-* wheels, as tensorflow[and-cuda])
  --from-site-packages DIR    use an existing pip install of tensorflow (or tensorflow-cpu): DIR/tensorflow/...
  --python PYTHON             the Python whose pip fetches the wheel (default: $PYTHON or python3; needs 3.10-3.13)
env: PALIGEMMA_TF_SITE_PACKAGES=DIR (as --from-site-packages), PALIGEMMA_NATIVE_CACHE=DIR (the cache folder)`;

class SetupError extends Error {}

function parseArgs(argv) {
  const opts = { gpu: false, sitePackages: process.env.PALIGEMMA_TF_SITE_PACKAGES || null, python: process.env.PYTHON || "python3" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new SetupError(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === "--gpu") opts.gpu = true;
    else if (a === "--from-site-packages") opts.sitePackages = value();
    else if (a === "--python") opts.python = value();
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new SetupError(`unknown argument "${a}"\n${USAGE}`);
  }
  return opts;
}

const t0 = Date.now();
const log = (msg) => console.log(`[setup:native ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (r.error) throw new SetupError(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) throw new SetupError(`${cmd} ${args.join(" ")} exited with ${r.status}`);
}

function cacheRoot() {
  if (process.env.PALIGEMMA_NATIVE_CACHE) return resolve(process.env.PALIGEMMA_NATIVE_CACHE);
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "paligemma-ts", "native");
}

// ------------------------------------------------------------------------------------------ 1. TensorFlow

/** The installed TensorFlow distribution in a site-packages folder: {dist, version} or null. */
function distInfo(sitePackages) {
  if (!fs.existsSync(sitePackages)) return null;
  for (const name of fs.readdirSync(sitePackages)) {
    const m = /^(tensorflow(?:[-_]cpu)?)-(\d[^-]*)\.dist-info$/.exec(name);
    if (m) return { dist: m[1].replace("_", "-"), version: m[2], metadata: join(sitePackages, name, "METADATA") };
  }
  return null;
}

/** Throws unless DIR holds what the binding needs (the C API library, the framework library, the headers). */
function checkTensorFlow(sitePackages) {
  const tfDir = join(sitePackages, "tensorflow");
  const need = ["libtensorflow_cc.so.2", "libtensorflow_framework.so.2", "include/tensorflow/c/eager/c_api.h"];
  const missing = need.filter((f) => !fs.existsSync(join(tfDir, f)));
  if (missing.length) {
    throw new SetupError(
      `${sitePackages} is not a site-packages folder with TensorFlow's C API: missing tensorflow/${missing.join(", tensorflow/")}. ` +
        `Point --from-site-packages (or PALIGEMMA_TF_SITE_PACKAGES) at the folder that contains tensorflow/, e.g. ` +
        `the output of: python3 -c "import os, tensorflow; print(os.path.dirname(os.path.dirname(tensorflow.__file__)))"`,
    );
  }
  const info = distInfo(sitePackages);
  if (!info) throw new SetupError(`${sitePackages}: no tensorflow-*.dist-info, cannot tell the TensorFlow version`);
  return info;
}

function pipInstall(python, target, requirements) {
  run(python, ["-m", "pip", "install", "--no-deps", "--no-compile", "--only-binary=:all:", "--disable-pip-version-check",
    "--target", target, ...requirements]);
}

/** Requirements of TensorFlow's `and-cuda` extra, read from the wheel's own METADATA (what pip would install). */
function andCudaRequirements(metadata) {
  return fs.readFileSync(metadata, "utf8").split("\n")
    .filter((l) => l.startsWith("Requires-Dist:") && /extra\s*==\s*"and-cuda"/.test(l))
    .map((l) => l.slice("Requires-Dist:".length).split(";")[0].trim().replace(/\s+/g, ""));
}

function ensureTensorFlow(opts) {
  if (opts.sitePackages) {
    const sp = resolve(opts.sitePackages);
    const info = checkTensorFlow(sp);
    if (!info.version.startsWith("2.")) throw new SetupError(`${sp}: TensorFlow ${info.version}; the binding needs TensorFlow 2.x`);
    if (!info.version.startsWith(TF_VERSION.replace(/\.\d+$/, "."))) log(`note: ${info.dist} ${info.version} (checked with ${TF_VERSION}); building against it anyway`);
    log(`TensorFlow: ${info.dist} ${info.version} from ${sp} (given)`);
    return { sitePackages: sp, ...info, variant: fs.existsSync(join(sp, "nvidia")) ? "gpu" : "cpu" };
  }
  const dist = opts.gpu ? "tensorflow" : "tensorflow-cpu";
  const dir = join(cacheRoot(), `${dist}-${TF_VERSION}`);
  const sp = join(dir, "site-packages");
  const stamp = join(dir, "complete.json");
  if (fs.existsSync(stamp)) {
    const info = checkTensorFlow(sp);
    log(`TensorFlow: ${info.dist} ${info.version} already in ${sp}`);
    return { sitePackages: sp, ...info, variant: opts.gpu ? "gpu" : "cpu" };
  }
  const py = spawnSync(opts.python, ["-m", "pip", "--version"], { encoding: "utf8" });
  if (py.error || py.status !== 0) {
    throw new SetupError(`"${opts.python} -m pip" does not run (${py.error?.message ?? py.stderr.trim().split("\n").pop()}). ` +
      `Install pip (Debian: apt-get install python3-pip), pass --python PYTHON, or --from-site-packages DIR.`);
  }
  const partial = `${sp}.partial-${process.pid}`; // per process: two clones setting up at once do not collide
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  log(`fetching ${dist}==${TF_VERSION} with ${opts.python} -m pip into ${partial}`);
  let info;
  try {
    try {
      pipInstall(opts.python, partial, [`${dist}==${TF_VERSION}`]);
    } catch (e) {
      throw new SetupError(`${e.message}. TensorFlow ${TF_VERSION} has wheels for CPython 3.10-3.13 on x86-64 and ` +
        `aarch64 Linux with glibc ≥ 2.27; pass --python for another interpreter or --from-site-packages DIR.`);
    }
    info = checkTensorFlow(partial);
    if (opts.gpu) {
      const reqs = andCudaRequirements(info.metadata);
      if (!reqs.length) throw new SetupError(`${info.metadata} lists no "and-cuda" requirements`);
      log(`fetching TensorFlow's and-cuda extra: ${reqs.join(" ")}`);
      pipInstall(opts.python, partial, reqs);
    }
  } catch (e) {
    fs.rmSync(partial, { recursive: true, force: true }); // nothing half-installed stays in the cache
    throw e;
  }
  if (fs.existsSync(stamp)) {
    fs.rmSync(partial, { recursive: true, force: true }); // another run finished first: use its copy
  } else {
    fs.rmSync(sp, { recursive: true, force: true }); // leftovers of an interrupted run
    fs.renameSync(partial, sp);
    fs.writeFileSync(stamp, JSON.stringify({ dist, version: info.version, at: new Date().toISOString() }, null, 2) + "\n");
  }
  log(`TensorFlow: ${info.dist} ${info.version} installed in ${sp}`);
  return { sitePackages: sp, ...checkTensorFlow(sp), variant: opts.gpu ? "gpu" : "cpu" };
}

// ------------------------------------------------------------------------------------------ 2. tfjs-node

function readJson(path) {
  try {
    return JSON.parse(fs.readFileSync(path, "utf8"));
  } catch {
    return null;
  }
}

/** tfjs-node at the pinned version with every runtime dependency resolvable from it. */
function tfjsNodePresent() {
  const pkg = readJson(join(TFJS_NODE, "package.json"));
  if (pkg?.version !== TFJS_NODE_VERSION) return false;
  return Object.keys(pkg.dependencies ?? {}).every((d) =>
    [join(TFJS_NODE, "node_modules", d), join(ROOT, "node_modules", d)].some((p) => fs.existsSync(join(p, "package.json"))));
}

function ensureTfjsNode() {
  if (tfjsNodePresent()) {
    log(`@tensorflow/tfjs-node@${TFJS_NODE_VERSION} already installed`);
    return;
  }
  try {
    installNoSave(ROOT, [`@tensorflow/tfjs-node@${TFJS_NODE_VERSION}`], log); // keeps setup:webgpu's packages
  } catch (e) {
    throw e instanceof InstallError ? new SetupError(e.message) : e;
  }
  if (!tfjsNodePresent()) throw new SetupError(`npm install finished but ${TFJS_NODE} is not usable`);
  const nested = join(TFJS_NODE, "node_modules", "@tensorflow", "tfjs-core");
  if (fs.existsSync(nested)) throw new SetupError(`${nested} exists: tfjs-node got its own tfjs-core, so its backend would register on another engine`);
}

// ------------------------------------------------------------------------------------------ 3. deps/

/** Make `link` a symlink to `target` (replacing whatever is there); true when it changed. */
function symlink(target, link) {
  try {
    if (fs.readlinkSync(link) === target) return false;
  } catch {
    // absent or not a link
  }
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(target, link);
  return true;
}

function stageDeps(tfInstall) {
  const tfDir = join(tfInstall.sitePackages, "tensorflow");
  const deps = join(TFJS_NODE, "deps");
  const lib = join(deps, "lib");
  fs.mkdirSync(lib, { recursive: true });
  let changed = symlink(join(tfDir, "include"), join(deps, "include"));
  // Link-time names (-ltensorflow -ltensorflow_framework), the runtime sonames the binding records, and the
  // 2.9.1 name whose presence makes tfjs-node's install script build instead of download.
  const links = {
    "libtensorflow.so": "libtensorflow_cc.so.2",
    "libtensorflow.so.2.9.1": "libtensorflow_cc.so.2",
    "libtensorflow_cc.so.2": "libtensorflow_cc.so.2",
    "libtensorflow_framework.so": "libtensorflow_framework.so.2",
    "libtensorflow_framework.so.2": "libtensorflow_framework.so.2",
  };
  for (const [name, target] of Object.entries(links)) changed = symlink(join(tfDir, target), join(lib, name)) || changed;
  // The libraries are loaded through deps/lib, so their $ORIGIN is deps/lib: TF looks for CUDA in $ORIGIN/../nvidia.
  const nvidia = join(tfInstall.sitePackages, "nvidia");
  if (fs.existsSync(nvidia)) changed = symlink(nvidia, join(deps, "nvidia")) || changed;
  else if (fs.existsSync(join(deps, "nvidia"))) (fs.rmSync(join(deps, "nvidia"), { force: true }), (changed = true));
  log(`deps/include and deps/lib ${changed ? "staged" : "already staged"} from ${tfDir}`);
}

// ------------------------------------------------------------------------------------------ 4. binding

/** The highest N-API version both tfjs-node and this Node support: the one node-pre-gyp builds and loads. */
function napiVersion() {
  const listed = readJson(join(TFJS_NODE, "package.json")).binary.napi_versions.map(Number);
  const usable = listed.filter((v) => v <= Number(process.versions.napi));
  if (!usable.length) throw new SetupError(`Node's N-API ${process.versions.napi} is below tfjs-node's ${listed.join(", ")}`);
  return Math.max(...usable);
}

function bindingPath() {
  const pkg = readJson(join(TFJS_NODE, "package.json"));
  return resolve(TFJS_NODE, pkg.binary.module_path.replace("{napi_build_version}", String(napiVersion())));
}

/** What the binding was built against; a different key means a rebuild. */
function buildKey(tfInstall) {
  return `tfjs-node-${TFJS_NODE_VERSION}_${tfInstall.dist}-${tfInstall.version}_napi-${napiVersion()}_${process.platform}-${process.arch}`;
}

function nodeHeadersDir() {
  const dir = resolve(dirname(process.execPath), "..");
  return fs.existsSync(join(dir, "include", "node", "node_api.h")) ? dir : null;
}

function ensureBinding(tfInstall) {
  const key = buildKey(tfInstall);
  const out = join(bindingPath(), "tfjs_binding.node");
  const stampPath = join(TFJS_NODE, "deps", "paligemma-build.json");
  if (fs.existsSync(out) && readJson(stampPath)?.key === key) {
    log(`binding already built (${key})`);
    return;
  }
  const cached = join(cacheRoot(), "bindings", key, "tfjs_binding.node");
  if (fs.existsSync(cached)) {
    fs.mkdirSync(dirname(out), { recursive: true });
    fs.copyFileSync(cached, out);
    log(`binding copied from the cache (${cached})`);
  } else {
    const headers = nodeHeadersDir();
    if (!headers) log(`note: no Node headers beside ${process.execPath}; node-gyp will try to fetch them`);
    log(`building the binding against TensorFlow ${tfInstall.version} (node-gyp; well under a minute)`);
    const env = { ...process.env, npm_config_build_from_source: "true" }; // never node-pre-gyp's 2.9.1 prebuilt
    if (headers) env.npm_config_nodedir = headers;
    run("npm", ["rebuild", "@tensorflow/tfjs-node", "--foreground-scripts"], { cwd: ROOT, env });
    if (!fs.existsSync(out)) throw new SetupError(`the build finished without ${out}`);
    fs.mkdirSync(dirname(cached), { recursive: true });
    fs.copyFileSync(out, cached);
  }
  fs.writeFileSync(stampPath, JSON.stringify({ key, sitePackages: tfInstall.sitePackages }, null, 2) + "\n");
}

// ------------------------------------------------------------------------------------------ 5. check

function ensureBuilt() {
  if (fs.existsSync(join(ROOT, "dist", "src", "backend", "report.js"))) return;
  log("building the library (dist/ is missing)");
  run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: ROOT });
}

/** Load the library in a fresh process (what users get), check it picked `tensorflow` by itself, print its report. */
function check() {
  ensureBuilt();
  const select = join(ROOT, "dist", "src", "backend", "select.js");
  const report = join(ROOT, "dist", "src", "backend", "report.js");
  const code = `
    const { initBackend } = await import(${JSON.stringify(select)});
    const { formatBackendReport } = await import(${JSON.stringify(report)});
    const { tf } = await import(${JSON.stringify(join(ROOT, "dist", "src", "tf.js"))});
    const info = await initBackend(); // what the library picks by itself
    if (info.name !== "tensorflow") throw new Error("the library chose " + info.name + ", not tensorflow: " + info.skipped.map((s) => s.name + ": " + s.reason).join("; "));
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]])).dataSync();
    if (y[0] !== 17 || y[1] !== 39) throw new Error("matMul on tensorflow gave " + Array.from(y));
    console.log(formatBackendReport(info));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { stdio: "inherit", cwd: ROOT, env: { ...process.env, PALIGEMMA_BACKEND: "" } });
  if (r.status !== 0) throw new SetupError("the tensorflow backend did not load in a fresh Node (see above)");
}

function du(path) {
  try {
    return execFileSync("du", ["-sh", "--dereference-args", path], { encoding: "utf8" }).split("\t")[0];
  } catch {
    return "?";
  }
}

try {
  const opts = parseArgs(process.argv.slice(2));
  if (process.platform !== "linux") throw new SetupError(`setup:native builds against PyPI's Linux wheels; this is ${process.platform}`);
  const tfInstall = ensureTensorFlow(opts);
  if (opts.gpu && tfInstall.variant !== "gpu") log("note: --gpu with a site-packages that has no nvidia/ folder: TensorFlow will run on CPU");
  ensureTfjsNode();
  stageDeps(tfInstall);
  ensureBinding(tfInstall);
  check();
  log(`done: TensorFlow ${tfInstall.version} (${tfInstall.variant}), ${du(tfInstall.sitePackages)} in ${tfInstall.sitePackages}`);
} catch (e) {
  console.error(`\nsetup:native failed: ${e instanceof SetupError ? e.message : e.stack}`);
  process.exit(1);
}
