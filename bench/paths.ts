/**
 * Where the benchmark finds things, all inside the repository: its root (the nearest ancestor of this file holding
 * `package.json`, so it works from `dist/bench/`), the golden tiny checkpoint (`test/fixtures/golden/paligemma2-tiny`,
 * made by `test/fixtures/golden/gen.py`) and the bench shapes (`bench/configs/`, see its README).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
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

/** The golden tiny checkpoint directory (config.json, model.safetensors, outputs.safetensors). */
export const tinyDir = (): string => join(repoRoot(), "test", "fixtures", "golden", "paligemma2-tiny");

/** The `small` benchmark config (106.6M params, random weights; see bench/configs/README.md). */
export const smallConfigPath = (): string => join(repoRoot(), "bench", "configs", "small", "config.json");

/** Where results are written as JSON: `<repoRoot>/dist/bench-results/` (build output, never committed). */
export const resultsDir = (): string => join(repoRoot(), "dist", "bench-results");
