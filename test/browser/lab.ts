/**
 * Harness for the notebook/browser tests: the environment made by `.ci/browser.sh` (Debian's Chromium, a venv with
 * JupyterLab + nbconvert + our prebuilt extension, tslab's kernelspec), a throwaway "user project" that resolves
 * `paligemma-ts` like `npm install paligemma-ts` would, notebooks written from cell sources, nbconvert runs, and a
 * real JupyterLab server on a loopback port.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";
import { repoRoot } from "../helpers/paths.js";

const run = promisify(execFile);

export interface LabEnv {
  venv: string;
  python: string;
  jupyter: string;
  chromium: string;
}

/** Screenshots and benchmark numbers of the test run land here (ignored by git). */
export const ARTIFACTS = join(repoRoot(), "test", "browser", "screenshots");

/** The environment from `.ci/browser.sh`, or an error that says how to make it. */
export function labEnv(): LabEnv {
  const file = join(repoRoot(), "node_modules", ".cache", "paligemma-lab", "env.json");
  const fix = "run `npm run setup:browser` (bash .ci/browser.sh: Debian's chromium, a venv with JupyterLab + the built extension, tslab's kernelspec)";
  if (!existsSync(file)) throw new Error(`browser/notebook test environment missing (${file}): ${fix}`);
  const env = JSON.parse(readFileSync(file, "utf8")) as LabEnv;
  for (const p of [env.python, env.jupyter, env.chromium]) if (!existsSync(p)) throw new Error(`browser/notebook test environment incomplete (${p} is gone): ${fix}`);
  return env;
}

/** A directory laid out like a user's project: node_modules/paligemma-ts and @types/node resolve to this repo's. */
export async function makeProject(dir: string): Promise<void> {
  await mkdir(join(dir, "node_modules", "@types"), { recursive: true });
  await symlink(repoRoot(), join(dir, "node_modules", "paligemma-ts"));
  await symlink(join(repoRoot(), "node_modules", "@types", "node"), join(dir, "node_modules", "@types", "node"));
}

/** Writes a tslab notebook with one code cell per source string. */
export async function writeNotebook(path: string, cells: string[]): Promise<void> {
  const nb = {
    cells: cells.map((source, i) => ({ cell_type: "code", id: `c${i}`, execution_count: null, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  await writeFile(path, JSON.stringify(nb, null, 1));
}

export interface NbOutput {
  output_type: string;
  data?: Record<string, unknown>;
  text?: string | string[];
  ename?: string;
  evalue?: string;
}
export interface Notebook {
  cells: { source: string | string[]; outputs?: NbOutput[] }[];
}

/**
 * Problems in an executed notebook: error outputs, tslab's compile errors (printed as `line:col - message`) and
 * its runtime errors, which tslab prints as a stream (a stack through `evalmachine.<anonymous>`), not as an error
 * output; after either, tslab skips the queued cells without a word (kernel/README.md, "tslab pitfalls").
 */
export function notebookProblems(nb: Notebook): string[] {
  const out: string[] = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) {
      if (o.output_type === "error") out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      const text = Array.isArray(o.text) ? o.text.join("") : (o.text ?? "");
      if (o.output_type === "stream" && /^\d+:\d+ - /m.test(text)) out.push(`cell ${i}: ${text.trim()}`);
      if (o.output_type === "stream" && /^\s+at evalmachine\.<anonymous>/m.test(text)) out.push(`cell ${i}: ${text.trim().split("\n").find((l) => /Error\b/.test(l)) ?? text.trim()}`);
    }
  });
  return out;
}

/**
 * `jupyter nbconvert --execute` with the tslab kernel (cwd = the notebook's folder); returns the executed notebook.
 * `timeoutS` bounds each cell; `options.totalS` the whole run (default one cell's bound + 60 s); `options.env`
 * sets (or, with `undefined`, removes) environment variables of the kernel.
 */
export async function executeNotebook(env: LabEnv, input: string, output: string, timeoutS = 240, options: { totalS?: number; env?: Record<string, string | undefined> } = {}): Promise<Notebook> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  await run(env.jupyter, ["nbconvert", "--to", "notebook", "--execute", "--allow-errors", `--ExecutePreprocessor.timeout=${timeoutS}`, input, "--output", output], { timeout: (options.totalS ?? timeoutS + 60) * 1000, maxBuffer: 64 << 20, env: childEnv });
  return JSON.parse(await readFile(output, "utf8")) as Notebook;
}

/** `jupyter nbconvert --to html` of an executed notebook. */
export async function notebookToHtml(env: LabEnv, input: string, output: string): Promise<void> {
  await run(env.jupyter, ["nbconvert", "--to", "html", input, "--output", output], { timeout: 120_000, maxBuffer: 64 << 20 });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface LabServer {
  url: string;
  token: string;
  log: () => string;
  stop(): Promise<void>;
}

/** Starts JupyterLab on 127.0.0.1 serving `root`, with isolated config/settings (windowing off, app exposed). */
export async function startLab(env: LabEnv, root: string, stateDir: string): Promise<LabServer> {
  const port = await freePort();
  const token = `t${Math.random().toString(36).slice(2)}`;
  const settings = join(stateDir, "settings");
  await mkdir(join(settings, "@jupyterlab", "notebook-extension"), { recursive: true });
  // Render every cell (no virtualised windowing), so off-screen outputs exist in the DOM.
  await writeFile(join(settings, "@jupyterlab", "notebook-extension", "tracker.jupyterlab-settings"), JSON.stringify({ windowingMode: "none" }));
  // No news/update toasts over the outputs (and no network calls for them).
  await mkdir(join(settings, "@jupyterlab", "apputils-extension"), { recursive: true });
  await writeFile(join(settings, "@jupyterlab", "apputils-extension", "notification.jupyterlab-settings"), JSON.stringify({ fetchNews: "false", checkForUpdates: false }));
  const args = ["lab", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${root}`,
    "--LabApp.expose_app_in_browser=True", `--LabApp.user_settings_dir=${settings}`, `--LabApp.workspaces_dir=${join(stateDir, "workspaces")}`, "--LabApp.news_url=", "--LabApp.extension_manager=readonly", "--ServerApp.open_browser=False"];
  if (process.getuid?.() === 0) args.push("--allow-root"); // CI and these machines run as root
  let log = "";
  const child: ChildProcess = spawn(env.jupyter, args, {
    env: { ...process.env, JUPYTER_CONFIG_DIR: join(stateDir, "config"), JUPYTER_RUNTIME_DIR: join(stateDir, "runtime"), JUPYTER_DATA_DIR: join(stateDir, "data") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jupyter lab exited (${child.exitCode}):\n${log.slice(-3000)}`);
    try {
      const r = await fetch(`${url}/api/status?token=${token}`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error(`jupyter lab did not answer within 60 s:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    token,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

/** Debian's Chromium through playwright-core (no browser download). */
export async function launchChromium(env: LabEnv): Promise<Browser> {
  return chromium.launch({ executablePath: env.chromium, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
}
