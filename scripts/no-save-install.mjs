/**
 * `npm install --no-save` of optional packages (the native and WebGPU backends, the GPU check's bundler), shared by
 * `scripts/setup-native.mjs` and `scripts/setup-webgpu.mjs`: one list of what such installs add, one install.
 *
 * Why it is needed: npm removes the packages that an earlier `--no-save` install added whenever it installs again,
 * so `npm run setup:webgpu` after `npm run setup:native` would drop tfjs-node and the reverse would drop Dawn. Each
 * install therefore names again every optional package already present (at its installed version), runs with
 * `--ignore-scripts` (tfjs-node's own script would download libtensorflow 2.9.1), leaves package.json and
 * package-lock.json as they were (an optional backend is not recorded for everyone), and fails if npm removed
 * anything all the same.
 *
 *     import { installNoSave } from "./no-save-install.mjs";
 *     installNoSave(ROOT, ["webgpu@0.6.2", "deasync@0.1.32"], log);
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { join } from "node:path";

/** Every package the setup scripts install with --no-save (the lock never holds them). */
export const NO_SAVE_PACKAGES = [
  "@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu", // setup:native
  "webgpu", "@tensorflow/tfjs-backend-webgpu", "deasync", // setup:webgpu
  "esbuild", // bench/gpu/pack.sh (setup:webgpu --also)
];

export class InstallError extends Error {}

const readJson = (p) => {
  try {
    return JSON.parse(fs.readFileSync(p, "utf8"));
  } catch {
    return null;
  }
};

/** The installed version of a package in ROOT/node_modules, or undefined. */
export const installedVersion = (root, name) => readJson(join(root, "node_modules", name, "package.json"))?.version;

const nameOf = (spec) => spec.slice(0, spec.lastIndexOf("@"));

/** Optional packages present now that the lock does not hold (an earlier --no-save install): `name@version`. */
export function presentNoSave(root) {
  const locked = readJson(join(root, "package-lock.json"))?.packages ?? {};
  return NO_SAVE_PACKAGES.filter((n) => installedVersion(root, n) && !locked[`node_modules/${n}`]).map((n) => `${n}@${installedVersion(root, n)}`);
}

/**
 * Install `specs` (name@version) with --no-save --ignore-scripts, keeping the optional packages already present.
 * Returns what was kept. Throws an InstallError when npm fails or removes a kept package.
 */
export function installNoSave(root, specs, log) {
  const asked = new Set(specs.map(nameOf));
  const kept = presentNoSave(root).filter((k) => !asked.has(nameOf(k)));
  const guarded = ["package.json", "package-lock.json"].map((f) => [join(root, f), fs.existsSync(join(root, f)) ? fs.readFileSync(join(root, f)) : null]);
  log(`installing ${specs.join(" ")} (--no-save --ignore-scripts${kept.length ? `; keeping ${kept.join(", ")}` : ""})`);
  try {
    const r = spawnSync("npm", ["install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund", ...specs, ...kept], { cwd: root, stdio: "inherit" });
    if (r.status !== 0) throw new InstallError(`npm install exited with ${r.status ?? r.error?.message}`);
  } finally {
    for (const [path, bytes] of guarded) {
      if (bytes && !bytes.equals(fs.readFileSync(path))) {
        fs.writeFileSync(path, bytes);
        log(`restored ${path} (npm had changed it)`);
      }
    }
  }
  const lost = kept.filter((k) => !installedVersion(root, nameOf(k)));
  if (lost.length) throw new InstallError(`npm removed ${lost.join(", ")} while installing ${specs.join(" ")}`);
  return kept;
}
