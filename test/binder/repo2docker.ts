/**
 * repo2docker's build of `binder/`, repeated from scratch on this machine (no Docker, no repo2docker here).
 *
 * The same files, in the same order, with the same commands as repo2docker's Dockerfile template
 * (jupyterhub/repo2docker `buildpacks/base.py`, `buildpacks/conda/__init__.py`, `buildpacks/python/__init__.py`):
 *
 *   1. `binder/apt.txt`: `apt-get install --yes --no-install-recommends <packages>` as root
 *      (here: packages dpkg already has are left alone; missing ones are installed when we are root)
 *   2. `pip install -r binder/requirements.txt` into the notebook environment, before the repository is copied
 *      (here: a fresh `python3 -m venv` stands in for `$NB_PYTHON_PREFIX`; repo2docker adds `--no-cache-dir`,
 *      we let pip use this machine's download cache so CI does not fetch the same wheels on every run)
 *   3. the repository copied to `$REPO_DIR` = `$HOME` (here: the files a commit of this checkout would hold,
 *      `git ls-files --cached --others --exclude-standard`, so no node_modules, dist or venv comes along)
 *   4. `chmod +x binder/postBuild && ./binder/postBuild`, from `$REPO_DIR`, as the notebook user
 *   5. at container start, `binder/start` (when present) wraps the server's command: `commandEnv()` does the same
 *
 * PATH is repo2docker's: `$HOME/.local/bin:$REPO_DIR/.local/bin:$NB_PYTHON_PREFIX/bin:<system>`. Where the real
 * image has conda's own `node` (in `$NB_PYTHON_PREFIX/bin`), we put a `node`/`npm`/`npx` that fails loudly, so the
 * build passes only when postBuild puts the pinned Node first, as it must on Binder. The rest of the environment is
 * this machine's (certificates, proxies, pip's machine config) minus anything of the developer's own npm, Jupyter,
 * Python environment or backend choice; npm's download cache is this machine's (content-addressed, verified against
 * package-lock.json's integrity hashes), never its node_modules.
 */
import { spawn } from "node:child_process";
import { chmod, copyFile, mkdir, readFile, writeFile, appendFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** The built "image": where it lives and the environment its server and kernels run with. */
export interface BinderImage {
  /** `$HOME` = `$REPO_DIR`: the repository copy, built in place. */
  home: string;
  /** `$NB_PYTHON_PREFIX`: the notebook environment (a fresh virtualenv). */
  venv: string;
  /** The environment of the running container (PATH, HOME, ...). */
  env: NodeJS.ProcessEnv;
  /** Everything the steps printed. */
  logFile: string;
  /** Seconds per step, in order. */
  seconds: Record<string, number>;
}

/** Environment variables that belong to the developer's setup, not to a fresh container: never passed on. */
const DEVELOPER_ENV = /^(npm_|npm_config_|JUPYTER|PALIGEMMA_|CONDA|VIRTUAL_ENV$|PYTHONPATH$|PYTHONHOME$|NODE_OPTIONS$|NODE_PATH$|INIT_CWD$|PATH$|HOME$)/i;

/** Runs `script` with bash (as a Dockerfile RUN line does), appending its output to `logFile`; throws with its tail. */
export async function sh(script: string, opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; timeoutS: number }): Promise<void> {
  await appendFile(opts.logFile, `\n$ ${script}\n`);
  const child = spawn("bash", ["-c", script], { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-6000);
    void appendFile(opts.logFile, d);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutS * 1000);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`binder step failed (exit ${code ?? `killed after ${opts.timeoutS} s`}): ${script}\n--- last output (full log: ${opts.logFile}) ---\n${tail}`);
}

/** Package names of `binder/apt.txt`, parsed as repo2docker does (comments after `#`, one package a line). */
export function aptPackages(text: string): string[] {
  return text.split("\n").map((l) => l.split("#")[0].trim()).filter((p) => p.length > 0);
}

/** The files a commit of `root` would hold (tracked plus untracked-but-not-ignored), relative paths. */
async function repoFiles(root: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const out: string[] = [];
  const child = spawn("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, env });
  child.stdout.on("data", (d: Buffer) => out.push(d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`git ls-files failed in ${root}`);
  return out.join("").split("\0").filter((p) => p && existsSync(join(root, p))); // deleted-but-tracked files drop out
}

/** A `node`/`npm`/`npx` that fails: stands where the real image has conda's node, so only postBuild's Node is used. */
async function writeNodeGuard(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of ["node", "npm", "npx"]) {
    const p = join(dir, name);
    await writeFile(p, `#!/bin/sh\necho "test/binder: '${name}' resolved to a Node that is not the one binder/postBuild set up (it must link the wheel's Node into ~/.local/bin)" >&2\nexit 97\n`);
    await chmod(p, 0o755);
  }
}

/**
 * Builds the Binder image of the checkout at `root` inside `dir` (which must be empty), step by step as repo2docker.
 * Throws with the failing step's command and output tail.
 */
export async function buildBinderImage(root: string, dir: string): Promise<BinderImage> {
  const home = join(dir, "home");
  const venv = join(dir, "venv");
  const guard = join(dir, "conda-node-stand-in");
  const logFile = join(dir, "build.log");
  await mkdir(home, { recursive: true });
  await writeFile(logFile, "");
  await writeNodeGuard(guard);
  const machine = Object.fromEntries(Object.entries(process.env).filter(([k]) => !DEVELOPER_ENV.test(k)));
  const env: NodeJS.ProcessEnv = {
    ...machine,
    HOME: home,
    REPO_DIR: home,
    NB_PYTHON_PREFIX: venv,
    PATH: [join(home, ".local", "bin"), join(home, ".local", "bin"), join(venv, "bin"), guard, process.env.PATH ?? "/usr/bin:/bin"].join(":"),
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), ".npm"), // the machine's download cache (see above)
    PIP_CACHE_DIR: process.env.PIP_CACHE_DIR ?? join(homedir(), ".cache", "pip"),
  };
  const seconds: Record<string, number> = {};
  const timed = async (name: string, fn: () => Promise<void>) => {
    const t0 = Date.now();
    await fn();
    seconds[name] = Math.round((Date.now() - t0) / 100) / 10;
  };
  const run = (script: string, timeoutS: number) => sh(script, { cwd: home, env, logFile, timeoutS });

  // 1. apt.txt (repo2docker: root, `apt-get install --yes --no-install-recommends`).
  await timed("apt.txt", async () => {
    const pkgs = aptPackages(await readFile(join(root, "binder", "apt.txt"), "utf8"));
    const missing: string[] = [];
    for (const p of pkgs) {
      try {
        await sh(`dpkg -s ${p} >/dev/null 2>&1`, { cwd: home, env, logFile, timeoutS: 30 });
      } catch {
        missing.push(p);
      }
    }
    if (missing.length === 0) return;
    if (process.getuid?.() !== 0) throw new Error(`binder/apt.txt: ${missing.join(", ")} not installed and this test is not root: apt-get install ${missing.join(" ")}`);
    await run(`apt-get -qq update && apt-get install --yes --no-install-recommends ${missing.sort().join(" ")}`, 600);
  });

  // 2. The notebook environment and requirements.txt, before the repository is copied (only the file is there).
  await timed("venv + pip install -r binder/requirements.txt", async () => {
    await mkdir(join(home, "binder"), { recursive: true });
    await copyFile(join(root, "binder", "requirements.txt"), join(home, "binder", "requirements.txt"));
    await run(`python3 -m venv "${venv}"`, 120);
    await run(`"${venv}/bin/pip" install -r "binder/requirements.txt"`, 900);
  });

  // 3. The repository, as a commit of this checkout holds it.
  await timed("copy the repository", async () => {
    for (const f of await repoFiles(root, machine)) {
      await mkdir(dirname(join(home, f)), { recursive: true });
      await copyFile(join(root, f), join(home, f));
    }
  });

  // 4. postBuild, executable, from the repository root.
  await timed("binder/postBuild", () => run("chmod +x binder/postBuild && ./binder/postBuild", 1800));

  return { home, venv, env, logFile, seconds };
}

/** The command line a container runs for `argv`: through `binder/start` when the repository has one. */
export function containerCommand(image: BinderImage, argv: string[]): string[] {
  const start = join(image.home, "binder", "start");
  return existsSync(start) ? [start, ...argv] : argv;
}
