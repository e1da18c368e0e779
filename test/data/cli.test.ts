/**
 * `paligemma-ts data ...` as a real child process (`node dist/src/cli/main.js data ...`): help text, synth →
 * validate round trip, one `file:line` per problem and the --strict exit code, never a crash (no stack trace) on
 * any input, files never modified, convert coco/yolo, usage errors.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTmpDir } from "../helpers/tmp.js";
import { cliPath, hashTree, writeImage, writeLines } from "./util.js";
import { runData } from "../../src/cli/data.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath(), "data", ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The same entry point in-process (for the many argument cases; a handful of real processes cover the rest). */
async function inproc(...args: string[]): Promise<Run> {
  const [out, err]: [string[], string[]] = [[], []];
  const code = await runData(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/** No uncaught exception: no stack frames, no Node error banner. */
function noCrash(r: Run, what: string): void {
  assert.ok([0, 1, 2].includes(r.code), `${what}: exit code ${r.code}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .+:\d+:\d+\)?|Uncaught|node:internal/, `${what}: looks like a crash\n${r.stderr}`);
}

let tmp: { path: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await makeTmpDir();
});
after(() => tmp.cleanup());

describe("paligemma-ts data (child process)", () => {
  it("--help prints the usage with every subcommand and exits 0; no subcommand exits 2", async () => {
    const r = await cli("--help");
    assert.equal(r.code, 0);
    for (const word of ["synth manifests|detection|segmentation", "validate PATH [--strict]", "convert coco", "convert yolo", "describe"]) assert.ok(r.stdout.includes(word), word);
    assert.equal((await inproc()).code, 2);
    assert.equal((await inproc("validate", "--help")).code, 0);
  });

  it("synth detection → validate --strict passes; describe prints stats", async () => {
    const out = join(tmp.path, "det");
    const s = await cli("synth", "detection", "--out", out, "--seed", "3", "--train", "4", "--valid", "2", "--test", "0");
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /wrote detection to .*: train 4, valid 2 images/);
    const v = await cli("validate", out, "--strict");
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /train\/annotations\.jsonl: loaded 4 of 4, skipped 0/);
    assert.match(v.stdout, /no problems found/);
    const d = await inproc("describe", out);
    assert.equal(d.code, 0);
    assert.match(d.stdout, /4 examples \(4 lines, 0 skipped\)/);
    assert.match(d.stdout, /image width \(px\): min 320/);
  });

  it("validate prints one file:line line per problem; exits 1 only under --strict; modifies nothing", async () => {
    const root = join(tmp.path, "bad");
    await writeImage(join(root, "train", "a.png"), 12, 10);
    await writeFile(join(root, "train", "broken.jpg"), "nope");
    const file = join(root, "train", "annotations.jsonl");
    await writeLines(file, [
      { image: "a.png", prefix: "p", suffix: "s" },
      "{not json",
      { image: "a.png", prefix: 3, suffix: "s" },
      { image: "../../etc/passwd", prefix: "p", suffix: "s" },
      { image: "a.png", prefix: "p", suffix: "s" },
      { image: "missing.png", prefix: "p", suffix: "s" },
      { image: "broken.jpg", prefix: "p", suffix: "s" },
    ]);
    const hash = await hashTree(root);
    const lax = await cli("validate", root);
    const strict = await cli("validate", root, "--strict");
    assert.equal(lax.code, 0);
    assert.equal(strict.code, 1);
    const problemLines = strict.stdout.split("\n").filter((l) => l.startsWith(`${file}:`) && /^.*:\d+: /.test(l));
    assert.deepEqual(problemLines.map((l) => Number(l.slice(file.length + 1).split(":")[0])), [2, 3, 4, 5, 6, 7]);
    assert.match(problemLines[0], /bad JSON/);
    assert.match(problemLines[1], /field "prefix": expected a string/);
    assert.match(problemLines[2], /outside the dataset root/);
    assert.match(problemLines[3], /duplicate of line 1/);
    assert.match(problemLines[4], /not found/);
    assert.match(problemLines[5], /cannot be read as an image/);
    assert.match(strict.stdout, /loaded 1 of 7, skipped 6/);
    assert.match(strict.stdout, /6 problems found/);
    // a single split folder and the file itself work too
    assert.equal((await inproc("validate", join(root, "train"), "--strict")).code, 1);
    assert.equal((await inproc("validate", file)).code, 0);
    assert.equal(await hashTree(root), hash, "validate must not modify anything");
  });

  it("never crashes on any input (table)", async () => {
    const weird = join(tmp.path, "weird");
    await mkdir(join(weird, "train", "annotations.jsonl"), { recursive: true }); // a folder where the file should be
    await writeFile(join(tmp.path, "binary.jsonl"), Buffer.from([0, 255, 254, 10, 123, 0, 10, 0xc3, 0x28]));
    await writeFile(join(tmp.path, "empty.jsonl"), "");
    await writeFile(join(tmp.path, "huge-line.jsonl"), `{"image": "${"x".repeat(200_000)}", "prefix": "p", "suffix": "s"}\n`);
    // bad inputs reach the real process (crashes would show there)...
    const rows: { args: string[]; code: number }[] = [
      { args: ["validate", join(tmp.path, "does-not-exist"), "--strict"], code: 1 },
      { args: ["validate", weird, "--strict"], code: 1 },
      { args: ["validate", join(tmp.path, "binary.jsonl"), "--strict"], code: 1 },
      { args: ["validate", join(tmp.path, "huge-line.jsonl"), "--strict"], code: 1 },
      { args: ["convert", "coco", "--annotations", join(tmp.path, "binary.jsonl"), "--out", join(tmp.path, "x")], code: 1 },
    ];
    const inProcess: typeof rows = [
      { args: ["validate", join(tmp.path, "empty.jsonl"), "--strict"], code: 1 }, // issue 13.6: an empty file is a problem
      { args: ["synth", "detection", "--out", join(tmp.path, "x"), "--train", "-4"], code: 1 },
      { args: ["convert", "coco", join(tmp.path, "does-not-exist"), "--out", join(tmp.path, "x")], code: 1 },
      { args: ["convert", "yolo", join(tmp.path, "does-not-exist"), "--out", join(tmp.path, "x")], code: 1 },
      { args: ["convert", "yolo", tmp.path, "--out", join(tmp.path, "x")], code: 1 },
    ];
    for (let i = 0; i < rows.length + inProcess.length; i += 3) {
      await Promise.all([...rows, ...inProcess].slice(i, i + 3).map(async (row, k) => {
        const r = i + k < rows.length ? await cli(...row.args) : await inproc(...row.args);
        noCrash(r, row.args.join(" "));
        assert.equal(r.code, row.code, `${row.args.join(" ")}\n${r.stdout}\n${r.stderr}`);
        assert.ok(r.stdout.length + r.stderr.length > 0, "says something");
      }));
    }
    // ...usage errors are argument parsing only: checked in-process through the same entry point
    const usage: string[][] = [
      ["validate"],
      ["validate", "a", "b"],
      ["validate", tmp.path, "--bogus"],
      ["frobnicate"],
      ["synth", "cats", "--out", join(tmp.path, "x")],
      ["synth", "detection"],
      ["synth", "detection", "--out", join(tmp.path, "x"), "--seed", "abc"],
      ["synth", "segmentation", "--out", join(tmp.path, "x"), "--variants", "2"],
      ["synth", "detection", "--out"],
      ["convert", "coco", "--out", join(tmp.path, "x")],
      ["convert", "coco", tmp.path, "--annotations", "a.json", "--out", join(tmp.path, "x")],
      ["convert", "yolo", "--out", join(tmp.path, "x")],
      ["convert", "xml", tmp.path, "--out", join(tmp.path, "x")],
      ["convert", "coco", tmp.path, "--out", join(tmp.path, "x"), "--empty", "maybe"],
      ["convert", "coco", tmp.path, "--out", join(tmp.path, "x"), "--class-order", "random"],
    ];
    for (const args of usage) {
      const lines: string[] = [];
      const code = await runData(args, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
      assert.equal(code, 2, `${args.join(" ")}: ${lines.join("\n")}`);
      assert.match(lines.join("\n"), /^paligemma-ts data: .+\nusage:/, args.join(" "));
    }
  });

  it("convert coco (Roboflow COCO export) and convert yolo produce datasets that validate", async () => {
    const seg = join(tmp.path, "seg");
    assert.equal((await inproc("synth", "segmentation", "--out", seg, "--seed", "1", "--train", "3", "--valid", "1", "--test", "1")).code, 0);
    const hash = await hashTree(seg);
    const c = await cli("convert", "coco", seg, "--out", join(tmp.path, "seg-pg"));
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /train: 3 images/);
    assert.match(c.stdout, /prompt: detect circle ; square ; triangle ; five-point star ; playing card/);
    assert.equal((await inproc("validate", join(tmp.path, "seg-pg"), "--strict")).code, 0);
    // --task segment: our committed VQ-VAE by default; the same lines synth segmentation wrote beside the COCO files
    const segTask = await inproc("convert", "coco", seg, "--out", join(tmp.path, "seg-seg"), "--task", "segment");
    assert.equal(segTask.code, 0, segTask.stderr);
    assert.match(segTask.stdout, /prompt: segment circle ; square/);
    for (const split of ["train", "valid", "test"]) {
      assert.equal(await readFile(join(tmp.path, "seg-seg", split, "annotations.jsonl"), "utf8"), await readFile(join(seg, split, "annotations.jsonl"), "utf8"), split);
    }
    assert.equal((await inproc("validate", join(tmp.path, "seg-seg"), "--strict")).code, 0);
    // --vae with a file that is not a VQ-VAE: exit 1, the file named, nothing written
    await writeFile(join(tmp.path, "bad.npz"), "not an npz");
    for (const args of [["convert", "coco", seg, "--out", join(tmp.path, "seg-bad"), "--task", "segment"], ["synth", "segmentation", "--out", join(tmp.path, "seg-bad")]]) {
      const r = await inproc(...args, "--vae", join(tmp.path, "bad.npz"));
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /bad\.npz: not a zip archive.*A <seg> VQ-VAE is an \.npz with vae-oid's tensor names/);
      assert.equal(await stat(join(tmp.path, "seg-bad")).then(() => true, () => false), false, "nothing written");
    }
    assert.equal((await inproc("convert", "coco", seg, "--out", join(tmp.path, "seg-x"), "--vae", "v.npz")).code, 2, "--vae without --task segment");
    assert.equal(await hashTree(seg), hash);

    const yolo = join(tmp.path, "yolo");
    await writeImage(join(yolo, "images", "a.png"), 30, 20);
    await mkdir(join(yolo, "labels"), { recursive: true });
    await writeFile(join(yolo, "labels", "a.txt"), "1 0.5 0.5 0.5 0.5\n");
    const y = await cli("convert", "yolo", yolo, "--out", join(tmp.path, "yolo-pg"), "--classes", "hard hat, t-shirt");
    assert.equal(y.code, 0, y.stderr);
    assert.match(y.stdout, /prompt: detect hard hat ; t-shirt/);
    assert.equal((await inproc("validate", join(tmp.path, "yolo-pg"), "--strict")).code, 0);
    const noClasses = await inproc("convert", "yolo", yolo, "--out", join(tmp.path, "yolo-pg2"));
    assert.equal(noClasses.code, 1);
    assert.match(noClasses.stderr, /no data\.yaml or classes\.txt/);
  });
});
