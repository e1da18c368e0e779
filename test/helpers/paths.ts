/**
 * Where tests find things: the repository root (found from this file, compiled or not) and the shared fixture
 * directory next to it (`<repoRoot>/../shared`, overridable with PALIGEMMA_TS_SHARED).
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
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

/** The shared fixtures directory (golden outputs, benches): `$PALIGEMMA_TS_SHARED` or `<repoRoot>/../shared`. */
export function sharedDir(): string {
  return process.env["PALIGEMMA_TS_SHARED"] ?? resolve(repoRoot(), "..", "shared");
}

/** A golden fixture directory, e.g. `goldenDir("paligemma2-tiny")`. */
export function goldenDir(name: string): string {
  return join(sharedDir(), "golden", name);
}
