/**
 * Where the benchmark finds things: the repository root (the nearest ancestor of this file holding
 * `package.json`, so it works from `dist/bench/`) and the shared fixtures next to it (`<repoRoot>/../shared`,
 * overridable with `PALIGEMMA_TS_SHARED`), which hold `golden/paligemma2-tiny` and `bench/small/config.json`.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, found by walking up from this file to the first directory with a `package.json`. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** `$PALIGEMMA_TS_SHARED`, or `<repoRoot>/../shared`. */
export function sharedDir(): string {
  return process.env["PALIGEMMA_TS_SHARED"] ?? resolve(repoRoot(), "..", "shared");
}

/** The golden tiny checkpoint directory (config.json, model.safetensors, outputs.safetensors). */
export const tinyDir = (): string => join(sharedDir(), "golden", "paligemma2-tiny");

/** The `small` benchmark config (106.6M params, random weights; see ../shared/bench/README.md). */
export const smallConfigPath = (): string => join(sharedDir(), "bench", "small", "config.json");

/** Where results are written as JSON: `<repoRoot>/dist/bench-results/` (build output, never committed). */
export const resultsDir = (): string => join(repoRoot(), "dist", "bench-results");
