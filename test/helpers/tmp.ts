/** Temporary directories for tests: created under the OS temp dir, removed recursively afterwards. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Create a fresh temporary directory; call `cleanup()` (e.g. from `after`) to remove it. */
export async function makeTmpDir(prefix = "paligemma-ts-"): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Run `fn` with a fresh temporary directory that is removed afterwards, even if `fn` throws. */
export async function withTmpDir<T>(fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const { path, cleanup } = await makeTmpDir(prefix);
  try {
    return await fn(path);
  } finally {
    await cleanup();
  }
}
