/**
 * Checkpoint directories in `outputDir`, HF layout: `checkpoint-<global step>/`. A checkpoint is written through
 * util/atomic-write.ts (`tmp-checkpoint-<step>-<pid>`, renamed into place only when complete), so a crash (even
 * SIGKILL) mid-write never leaves a partial `checkpoint-N` and a re-save never loses the previous copy; the next
 * run restores or removes what a killed writer left. Rotation keeps the newest `saveTotalLimit` checkpoints and never deletes the best one.
 *
 *     const dir = await writeCheckpointAtomically("out", 120, async (tmp) => { await writeFile(join(tmp, "x"), "…"); });
 *     await lastCheckpoint("out");                       // "out/checkpoint-120"
 *     await rotateCheckpoints("out", { limit: 2, keep: bestDir });
 */
import { readdir, rm, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { DIR_WRITE_PREFIX, recoverDirWrites, writeDirAtomic } from "../util/atomic-write.js";

export const CHECKPOINT_PREFIX = "checkpoint";
const CHECKPOINT_RE = /^checkpoint-(\d+)$/;

export interface CheckpointEntry {
  step: number;
  path: string;
}

export function checkpointDir(outputDir: string, step: number): string {
  return join(outputDir, `${CHECKPOINT_PREFIX}-${step}`);
}

/** Complete checkpoints in `outputDir`, oldest (lowest step) first; [] when the directory does not exist. */
export async function listCheckpoints(outputDir: string): Promise<CheckpointEntry[]> {
  let names: string[];
  try {
    names = await readdir(outputDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: CheckpointEntry[] = [];
  for (const name of names) {
    const m = CHECKPOINT_RE.exec(name);
    if (m && (await stat(join(outputDir, name))).isDirectory()) out.push({ step: Number(m[1]), path: join(outputDir, name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The newest checkpoint in `outputDir` (HF `get_last_checkpoint`), or null. */
export async function lastCheckpoint(outputDir: string): Promise<string | null> {
  const all = await listCheckpoints(outputDir);
  return all.length ? all[all.length - 1]!.path : null;
}

/** Names of leftovers of interrupted checkpoint writes in `outputDir` (`tmp-`, `ready-`, `old-checkpoint-N-<pid>`). */
export async function partialCheckpoints(outputDir: string): Promise<string[]> {
  try {
    const prefixes = Object.values(DIR_WRITE_PREFIX).map((p) => `${p}${CHECKPOINT_PREFIX}-`);
    return (await readdir(outputDir)).filter((n) => prefixes.some((p) => n.startsWith(p)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/**
 * Clean up after interrupted checkpoint writes (see util/atomic-write.ts): a `checkpoint-N` lost between the two
 * renames of a re-save is restored from its complete copy; incomplete and redundant copies are deleted. Returns the
 * deleted paths.
 */
export async function removePartialCheckpoints(outputDir: string): Promise<string[]> {
  return (await recoverDirWrites(outputDir, CHECKPOINT_RE)).removed;
}

/**
 * Write `checkpoint-<step>` atomically (util/atomic-write.ts `writeDirAtomic`): `fill(tmpDir)` writes every file,
 * then the directory is put in place; an existing checkpoint of the same step is replaced without a moment where
 * no complete copy of it exists. Returns the final path.
 */
export async function writeCheckpointAtomically(outputDir: string, step: number, fill: (tmpDir: string) => Promise<void>): Promise<string> {
  return writeDirAtomic(outputDir, `${CHECKPOINT_PREFIX}-${step}`, fill);
}

/**
 * Delete the oldest checkpoints beyond `limit` (HF `_rotate_checkpoints`). The checkpoints in `keep` (the best one
 * with loadBestModelAtEnd, the NaN guard's last good one) are never deleted, nor is the newest; the limit grows to
 * hold them, so with limit 1 and a best that is not the newest two are kept, as in HF. Returns the deleted paths.
 */
export async function rotateCheckpoints(outputDir: string, o: { limit: number | null; keep?: string | null | readonly (string | null)[] }): Promise<string[]> {
  if (o.limit === null || o.limit <= 0) return [];
  const all = await listCheckpoints(outputDir);
  if (all.length === 0) return [];
  const keepList = (Array.isArray(o.keep) ? o.keep : [o.keep]) as (string | null | undefined)[];
  const newest = resolve(all[all.length - 1]!.path);
  const kept = new Set(keepList.filter((k): k is string => !!k).map((k) => resolve(k)).filter((k) => all.some((c) => resolve(c.path) === k)));
  kept.add(newest);
  const limit = Math.max(o.limit, kept.size);
  const excess = all.length - limit;
  if (excess <= 0) return [];
  const gone = all.filter((c) => !kept.has(resolve(c.path))).slice(0, excess).map((c) => c.path);
  for (const p of gone) await rm(p, { recursive: true, force: true });
  return gone;
}

/** `checkpoint-120` → 120 (null for other names). */
export function checkpointStep(path: string): number | null {
  const m = CHECKPOINT_RE.exec(basename(path));
  return m ? Number(m[1]) : null;
}
