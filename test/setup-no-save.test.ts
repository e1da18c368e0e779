/**
 * scripts/no-save-install.mjs: the setup scripts' `npm install --no-save` keeps the optional packages an earlier one
 * added (npm would remove them: setup:native after setup:webgpu used to drop Dawn), leaves package.json and the lock
 * as they were, and fails when npm removed a kept package all the same. npm is a fake on PATH that records its
 * arguments and acts as told.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "./helpers/paths.js";

interface NoSaveModule {
  NO_SAVE_PACKAGES: string[];
  presentNoSave(root: string): string[];
  installNoSave(root: string, specs: string[], log: (s: string) => void): string[];
}
const mod = (await import(pathToFileURL(join(repoRoot(), "scripts", "no-save-install.mjs")).href)) as NoSaveModule;

/** A project folder: a lock holding `locked`, node_modules holding `installed` (name → version). */
function project(locked: string[], installed: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "no-save-"));
  writeFileSync(join(root, "package.json"), '{"name":"p","dependencies":{}}\n');
  const packages = Object.fromEntries(locked.map((n) => [`node_modules/${n}`, { version: "1.0.0" }]));
  writeFileSync(join(root, "package-lock.json"), JSON.stringify({ packages }));
  for (const [name, version] of Object.entries(installed)) {
    mkdirSync(join(root, "node_modules", name), { recursive: true });
    writeFileSync(join(root, "node_modules", name, "package.json"), JSON.stringify({ name, version }));
  }
  return root;
}

/** Run installNoSave with a fake npm: it logs its argv, installs what it was given, then runs `extra` (sh). */
function withFakeNpm(root: string, extra: string, run: () => void): string[] {
  const bin = mkdtempSync(join(tmpdir(), "fake-npm-"));
  const logFile = join(bin, "argv");
  writeFileSync(join(bin, "npm"), `#!/bin/sh
printf '%s\\n' "$@" > "${logFile}"
for spec in "$@"; do case "$spec" in --*|install) ;; *)
  name="\${spec%@*}"; mkdir -p "node_modules/$name"; printf '{"name":"%s","version":"%s"}' "$name" "\${spec##*@}" > "node_modules/$name/package.json";;
esac; done
${extra}
`);
  chmodSync(join(bin, "npm"), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  try {
    run();
    return readFileSync(logFile, "utf8").trim().split("\n");
  } finally {
    process.env.PATH = path;
    rmSync(bin, { recursive: true, force: true });
  }
}

test("the optional packages present (not in the lock) are found with their versions; locked ones are not", () => {
  const root = project(["deasync"], { "@tensorflow/tfjs-node": "4.22.0", deasync: "0.1.32", webgpu: "0.6.2", lodash: "4.0.0" });
  try {
    assert.deepEqual(mod.presentNoSave(root).sort(), ["@tensorflow/tfjs-node@4.22.0", "webgpu@0.6.2"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("an install names again what an earlier --no-save install added, and never touches package.json or the lock", () => {
  const root = project([], { webgpu: "0.6.2", "@tensorflow/tfjs-backend-webgpu": "4.22.0", deasync: "0.1.32" });
  const before = ["package.json", "package-lock.json"].map((f) => readFileSync(join(root, f), "utf8"));
  try {
    const argv = withFakeNpm(root, `echo '{"changed":true}' > package.json`, () => {
      const kept = mod.installNoSave(root, ["@tensorflow/tfjs-node@4.22.0"], () => {});
      assert.deepEqual(kept.sort(), ["@tensorflow/tfjs-backend-webgpu@4.22.0", "deasync@0.1.32", "webgpu@0.6.2"]);
    });
    assert.deepEqual(argv.slice(0, 5), ["install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund"]);
    assert.deepEqual(argv.slice(5).sort(), ["@tensorflow/tfjs-backend-webgpu@4.22.0", "@tensorflow/tfjs-node@4.22.0", "deasync@0.1.32", "webgpu@0.6.2"]);
    assert.deepEqual(["package.json", "package-lock.json"].map((f) => readFileSync(join(root, f), "utf8")), before, "restored");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a package asked for again is installed at the asked version, not kept at the old one", () => {
  const root = project([], { esbuild: "0.24.0" });
  try {
    const argv = withFakeNpm(root, "", () => mod.installNoSave(root, ["esbuild@0.25.0"], () => {}));
    assert.deepEqual(argv.slice(5), ["esbuild@0.25.0"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("npm removing a kept package anyway is an error that names it", () => {
  const root = project([], { webgpu: "0.6.2" });
  try {
    withFakeNpm(root, `rm -rf node_modules/webgpu`, () => {
      assert.throws(() => mod.installNoSave(root, ["@tensorflow/tfjs-node@4.22.0"], () => {}), /npm removed webgpu@0\.6\.2/);
    });
    assert.ok(existsSync(join(root, "node_modules", "@tensorflow", "tfjs-node")));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("every package a setup script installs with --no-save is in the one list", () => {
  for (const script of ["setup-native.mjs", "setup-webgpu.mjs"]) {
    const text = readFileSync(join(repoRoot(), "scripts", script), "utf8");
    assert.match(text, /installNoSave\(ROOT/, `${script} installs through no-save-install.mjs`);
    assert.doesNotMatch(text, /"npm", \["install"/, `${script} runs no npm install of its own`);
  }
  for (const name of ["@tensorflow/tfjs-node", "webgpu", "@tensorflow/tfjs-backend-webgpu", "deasync"]) assert.ok(mod.NO_SAVE_PACKAGES.includes(name), name);
});
