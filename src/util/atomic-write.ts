/**
 * The one way the project writes files and directories: never in place.
 *
 * - {@link writeFileAtomic}: the bytes go to a temporary sibling (`<name>.tmp-<pid>-<random>`), are fsynced, then
 *   renamed over the target. A reader (or a crash, even SIGKILL) sees the old file or the new one, never a torn one.
 * - {@link writeDirAtomic}: a directory is filled under `tmp-<name>-<pid>`, renamed to `ready-<name>-<pid>` once
 *   complete, and then put in place. Replacing an existing `<name>` moves it to `old-<name>-<pid>` first, so at every
 *   moment one complete copy exists under one of the names `<name>`, `old-<name>-*` or `ready-<name>-*`.
 * - {@link recoverDirWrites}: what the next start does with leftovers of a killed writer: a `<name>` that is missing
 *   is restored from `old-<name>-*` (the last complete copy) or else from `ready-<name>-*`; `tmp-*` (incomplete by
 *   construction) and copies made redundant by a present `<name>` are deleted. It never deletes the only complete copy.
 *
 *     await writeFileAtomic("out/annotations.jsonl", text);
 *     await writeDirAtomic("out", "checkpoint-20", async (tmp) => { await writeFileAtomic(join(tmp, "a.json"), "{}"); });
 *     await recoverDirWrites("out", /^checkpoint-\d+$/);
 */
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Prefixes of the sibling names a directory write goes through. */
export const DIR_WRITE_PREFIX = { tmp: "tmp-", ready: "ready-", old: "old-" } as const;

/** An error from writing `path`, with the path and the fix in the message (instead of a bare `ENOTDIR`). */
export class WriteError extends Error {
  readonly code: string | undefined;
  constructor(readonly path: string, cause: unknown, what = "cannot be written") {
    const code = (cause as NodeJS.ErrnoException)?.code;
    const hint =
      code === "ENOTDIR" ? "a parent of it is a file, not a directory; choose another path" :
      code === "EACCES" || code === "EPERM" ? "permission denied; choose a writable path" :
      code === "EISDIR" ? "it is a directory; give a file path" :
      code === "ENOSPC" ? "the disk is full" :
      code === "EROFS" ? "the file system is read-only" : "check the path";
    super(`${path}: ${what} (${code ?? (cause as Error)?.message}); ${hint}`, { cause });
    this.name = "WriteError";
    this.code = code;
  }
}

/** `mkdir -p dir`, with an error that names the directory. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new WriteError(dir, e, "cannot be created as a directory");
  }
}

/** The data of a file: bytes, text, or a function writing through the handle. */
export type FileContents = string | Uint8Array | ((handle: FileHandle) => Promise<void>);

/**
 * Writes `path` atomically: temporary sibling, fsync, rename over `path`. The parent directory is created if needed.
 * On failure the temporary file is removed and `path` is untouched.
 */
export async function writeFileAtomic(path: string, contents: FileContents): Promise<void> {
  await ensureDir(dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let handle: FileHandle;
  try {
    handle = await open(tmp, "wx");
  } catch (e) {
    throw new WriteError(path, e);
  }
  try {
    if (typeof contents === "function") await contents(handle);
    else await handle.writeFile(contents);
    await handle.sync();
    await handle.close();
    await rename(tmp, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw (err as NodeJS.ErrnoException).code ? new WriteError(path, err) : err;
  }
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

/**
 * Writes the directory `parent/name` atomically: `fill(tmpDir)` writes every file, then the directory is put in
 * place, replacing an existing one without a moment where no complete copy exists (see the file header).
 * Returns the final path.
 */
export async function writeDirAtomic(parent: string, name: string, fill: (tmpDir: string) => Promise<void>): Promise<string> {
  await ensureDir(parent);
  const tag = `${name}-${process.pid}`;
  const tmp = join(parent, `${DIR_WRITE_PREFIX.tmp}${tag}`);
  const ready = join(parent, `${DIR_WRITE_PREFIX.ready}${tag}`);
  const old = join(parent, `${DIR_WRITE_PREFIX.old}${tag}`);
  const final = join(parent, name);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await fill(tmp);
    await rename(tmp, ready); // complete from here on
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  if (await exists(final)) {
    await rm(old, { recursive: true, force: true });
    await rename(final, old); // the previous copy, complete, under old-*
    await rename(ready, final);
    await rm(old, { recursive: true, force: true });
  } else {
    await rename(ready, final);
  }
  return final;
}

/** What {@link recoverDirWrites} did. */
export interface Recovery {
  /** `[from, to]` renames that brought back a missing directory. */
  restored: [string, string][];
  /** Leftovers deleted (incomplete, or redundant copies). */
  removed: string[];
}

/**
 * Cleans up after killed {@link writeDirAtomic} calls in `parent`, for final names matching `names`.
 * A missing final directory is restored from its newest complete copy (`old-*` first: it was in place; then `ready-*`).
 */
export async function recoverDirWrites(parent: string, names: RegExp): Promise<Recovery> {
  const out: Recovery = { restored: [], removed: [] };
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return out;
    throw new WriteError(parent, e, "cannot be read as an output directory");
  }
  const leftovers = new Map<string, { tmp: string[]; ready: string[]; old: string[] }>();
  for (const entry of entries) {
    for (const kind of ["tmp", "ready", "old"] as const) {
      const prefix = DIR_WRITE_PREFIX[kind];
      if (!entry.startsWith(prefix)) continue;
      const m = /^(.*)-(\d+)$/.exec(entry.slice(prefix.length));
      if (!m || !names.test(m[1]!)) continue;
      const slot = leftovers.get(m[1]!) ?? { tmp: [], ready: [], old: [] };
      slot[kind].push(entry);
      leftovers.set(m[1]!, slot);
    }
  }
  for (const [name, slot] of leftovers) {
    const final = join(parent, name);
    const complete = [...slot.old, ...slot.ready];
    if (!(await exists(final)) && complete.length > 0) {
      const from = join(parent, complete[0]!);
      await rename(from, final);
      out.restored.push([from, final]);
    }
    for (const entry of [...slot.tmp, ...complete]) {
      const p = join(parent, entry);
      if (!(await exists(p))) continue; // the one just restored
      await rm(p, { recursive: true, force: true });
      out.removed.push(p);
    }
  }
  return out;
}
