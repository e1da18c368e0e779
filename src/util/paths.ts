/**
 * The one rule for paths that come from user data or a checkpoint index (a JSONL `image`, a shard name in
 * `model.safetensors.index.json`, a converter's file name): resolve it on the **real** path (`realpath`, symlinks
 * followed) and require it to stay inside its root, also resolved with `realpath`. A lexical check
 * (`path.resolve`) is not enough: a symlink inside the root (file or directory) may point anywhere.
 *
 *     const r = await resolveInside("/data/ds", "train/a.jpg", { base: "/data/ds/train" });
 *     if (!r.inside) throw new Error(`${r.lexical} resolves to ${r.real}, outside ${r.root}`);
 *
 * A path that does not exist yet is resolved through its deepest existing ancestor, so the check is the same
 * for files about to be written and for missing files (which the caller then reports as missing).
 */
import { realpathSync } from "node:fs";
import { realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";

/** Whether `path` lies inside `root`, comparing the two strings after `path.resolve` (no file system access). */
export function isInsideLexically(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === "" || (!isAbsolute(rel) && !/^\.\.($|[\\/])/.test(rel)); // "..x" is a name inside, "../x" is not
}

/** `realpath(path)`; for a path that does not exist, the realpath of its deepest existing ancestor + the rest. */
export async function realpathLoose(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const parent = dirname(abs);
    if ((code !== "ENOENT" && code !== "ENOTDIR") || parent === abs) return abs;
    return join(await realpathLoose(parent), basename(abs));
  }
}

/** Synchronous {@link realpathLoose}. */
export function realpathLooseSync(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const parent = dirname(abs);
    if ((code !== "ENOENT" && code !== "ENOTDIR") || parent === abs) return abs;
    return join(realpathLooseSync(parent), basename(abs));
  }
}

/** Where a path resolves: `lexical` (`resolve(base, path)`), `real` (symlinks followed), and whether it stays inside. */
export interface ResolvedPath {
  lexical: string;
  real: string;
  /** The root's real path. */
  root: string;
  inside: boolean;
}

/**
 * Resolves `path` (relative to `options.base`, default `root`) and checks that both its lexical and its real
 * path stay inside `root`'s real path.
 */
export async function resolveInside(root: string, path: string, options: { base?: string } = {}): Promise<ResolvedPath> {
  const realRoot = await realpathLoose(root);
  const lexical = resolve(options.base ?? root, path);
  const real = await realpathLoose(lexical);
  return { lexical, real, root: realRoot, inside: isInsideLexically(resolve(root), lexical) && isInsideLexically(realRoot, real) };
}

/** Synchronous {@link resolveInside}. */
export function resolveInsideSync(root: string, path: string, options: { base?: string } = {}): ResolvedPath {
  const realRoot = realpathLooseSync(root);
  const lexical = resolve(options.base ?? root, path);
  const real = realpathLooseSync(lexical);
  return { lexical, real, root: realRoot, inside: isInsideLexically(resolve(root), lexical) && isInsideLexically(realRoot, real) };
}
