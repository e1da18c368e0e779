/**
 * `npm run setup:native` refuses bad input before it downloads or installs anything, with a message that names the
 * problem and the fix (scripts/setup-native.mjs). The happy path (pip, npm, node-gyp) is CI's `npm run setup:native`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./helpers/paths.js";

const SCRIPT = join(repoRoot(), "scripts", "setup-native.mjs");

/** Run the script with a private, empty cache (nothing in ~/.cache is read or written). */
function setup(args: string[], env: Record<string, string> = {}) {
  const cache = mkdtempSync(join(tmpdir(), "setup-native-cache-"));
  try {
    const r = spawnSync(process.execPath, [SCRIPT, ...args], {
      encoding: "utf8",
      env: { ...process.env, PALIGEMMA_TF_SITE_PACKAGES: "", PALIGEMMA_NATIVE_CACHE: cache, ...env },
      timeout: 30_000,
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

const cases: { why: string; args: string[]; env?: (dir: string) => Record<string, string>; prepare?: (dir: string) => void; expect: RegExp }[] = [
  { why: "an unknown flag prints the usage", args: ["--cuda"], expect: /unknown argument "--cuda"[\s\S]*usage: npm run setup:native/ },
  { why: "a flag without its value", args: ["--from-site-packages"], expect: /--from-site-packages needs a value/ },
  {
    why: "a folder without TensorFlow's C API names the missing files and how to find the right folder",
    args: ["--from-site-packages", "DIR"],
    expect: /missing tensorflow\/libtensorflow_cc\.so\.2, tensorflow\/libtensorflow_framework\.so\.2[\s\S]*import os, tensorflow/,
  },
  {
    why: "the env var is the same check",
    args: [],
    env: (dir) => ({ PALIGEMMA_TF_SITE_PACKAGES: dir }),
    expect: /is not a site-packages folder with TensorFlow's C API/,
  },
  {
    why: "a TensorFlow 1.x install is refused (the binding needs the 2.x C API)",
    args: ["--from-site-packages", "DIR"],
    prepare: (dir) => {
      mkdirSync(join(dir, "tensorflow", "include", "tensorflow", "c", "eager"), { recursive: true });
      for (const f of ["libtensorflow_cc.so.2", "libtensorflow_framework.so.2", "include/tensorflow/c/eager/c_api.h"]) {
        writeFileSync(join(dir, "tensorflow", f), "");
      }
      mkdirSync(join(dir, "tensorflow-1.15.5.dist-info"));
    },
    expect: /TensorFlow 1\.15\.5; the binding needs TensorFlow 2\.x/,
  },
  {
    why: "a Python that cannot run pip is named with the ways out",
    args: ["--python", "/nonexistent/python3"],
    expect: /"\/nonexistent\/python3 -m pip" does not run .*apt-get install python3-pip.*--from-site-packages/,
  },
];

for (const c of cases) {
  test(`setup:native: ${c.why}`, () => {
    const dir = mkdtempSync(join(tmpdir(), "setup-native-sp-"));
    try {
      c.prepare?.(dir);
      const r = setup(c.args.map((a) => (a === "DIR" ? dir : a)), c.env?.(dir));
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, c.expect);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
