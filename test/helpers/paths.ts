/**
 * Where tests find things, all inside the repository: its root (found from this file, compiled or not) and the
 * committed fixtures under `test/fixtures/` (the golden tiny PaliGemma 2 is made by `test/fixtures/golden/gen.py`).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest ancestor of this file holding `package.json` (works from `dist/test/helpers`). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** A golden fixture directory in the repository, e.g. `goldenDir("paligemma2-tiny")` (see test/fixtures/golden/). */
export function goldenDir(name: string): string {
  return join(repoRoot(), "test", "fixtures", "golden", name);
}

/** A benchmark shape's config.json in the repository, e.g. `benchConfigPath("small")` (see bench/configs/README.md). */
export function benchConfigPath(name: string): string {
  return join(repoRoot(), "bench", "configs", name, "config.json");
}
