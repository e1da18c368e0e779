/**
 * The package root: where the committed models (`models/…`) live, found from this file whether it runs from
 * `dist/src/…` in a checkout or from an installed package.
 *
 *     join(packageRoot(), "models", "vqvae-synth-64", "vae.npz")
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The nearest ancestor of this file whose package.json names paligemma-ts. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, "utf-8")) as { name?: string }).name === "paligemma-ts") return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no paligemma-ts package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
