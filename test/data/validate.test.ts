/**
 * Validation of PaliGemma JSONL files, one table row per case, each row a line of the same file: the row's
 * expected problem kind (or none) must be reported at exactly that line. Also: policy "skip" (warnings with
 * file:line and the "loaded N of M, skipped K" summary), policy "error" (DatasetError naming file:line), and that
 * the dataset files are byte-identical afterwards.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { makeTmpDir } from "../helpers/tmp.js";
import { loadJsonlDataset } from "../../src/data/dataset.js";
import { DatasetError, formatProblem, validateJsonlFile, type ProblemKind } from "../../src/data/validate.js";
import { parseExampleLine, readJsonlLines } from "../../src/data/jsonl.js";
import { hashTree, writeImage, writeLines } from "./util.js";

const ok = (image: string, prefix = "caption en", suffix = "a cat") => ({ image, prefix, suffix });

describe("validateJsonlFile: one problem per bad line, at its line", () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let outside: string;
  const rows: { name: string; line: string | object; kind: ProblemKind | null }[] = [];

  before(async () => {
    tmp = await makeTmpDir();
    root = join(tmp.path, "ds");
    outside = join(tmp.path, "outside.png");
    await writeImage(join(root, "a.png"), 37, 21);
    await writeImage(join(root, "sub", "b.jpg"), 64, 48, "jpeg");
    await writeImage(join(root, "c.webp"), 16, 9, "webp");
    await writeImage(outside, 8, 8);
    await writeFile(join(root, "fake.jpg"), "this is not an image");
    await writeFile(join(root, "empty.png"), "");
    await mkdir(join(root, "folder.png"));
    await symlink(join(root, "a.png"), join(root, "link.png"));
    rows.push(
      { name: "valid png", line: ok("a.png"), kind: null },
      { name: "valid jpeg in a subfolder", line: ok("sub/b.jpg"), kind: null },
      { name: "valid webp, empty suffix allowed", line: ok("c.webp", "detect cat", ""), kind: null },
      { name: "absolute path inside the root", line: ok(join(root, "a.png"), "other prompt"), kind: null },
      { name: "symlink inside the root", line: ok("link.png"), kind: null },
      { name: "extra keys are ignored", line: { ...ok("a.png", "p2"), extra: 1 }, kind: null },
      { name: "bad JSON", line: '{"image": "a.png", "prefix": ', kind: "json" },
      { name: "JSON array", line: "[1, 2]", kind: "json" },
      { name: "JSON string", line: '"just text"', kind: "json" },
      { name: "JSON null", line: "null", kind: "json" },
      { name: "missing image", line: { prefix: "p", suffix: "s" }, kind: "field" },
      { name: "missing prefix", line: { image: "a.png", suffix: "s" }, kind: "field" },
      { name: "missing suffix", line: { image: "a.png", prefix: "p" }, kind: "field" },
      { name: "non-string image", line: { image: 5, prefix: "p", suffix: "s" }, kind: "field" },
      { name: "non-string prefix", line: { image: "a.png", prefix: ["p"], suffix: "s" }, kind: "field" },
      { name: "non-string suffix (null)", line: { image: "a.png", prefix: "p", suffix: null }, kind: "field" },
      { name: "empty image", line: ok("  "), kind: "field" },
      { name: "../ escape", line: ok("../outside.png"), kind: "path" },
      { name: "deep ../ escape", line: ok("sub/../../outside.png"), kind: "path" },
      { name: "absolute path outside", line: ok(outside), kind: "path" },
      { name: "duplicate of the first line", line: ok("a.png"), kind: "duplicate" },
      { name: "duplicate spelled differently (./a.png)", line: ok("./a.png"), kind: "duplicate" },
      { name: "missing image file", line: ok("nope.png"), kind: "image-missing" },
      { name: "a folder named like an image", line: ok("folder.png"), kind: "image-missing" },
      { name: "the root itself", line: ok("."), kind: "image-missing" },
      { name: "NUL in the name", line: ok("a\u0000.png"), kind: "image-missing" },
      { name: "name too long for the filesystem", line: ok(`${"x".repeat(5000)}.png`), kind: "image-missing" },
      { name: "text file named .jpg", line: ok("fake.jpg"), kind: "image-undecodable" },
      { name: "empty file", line: ok("empty.png"), kind: "image-undecodable" },
      { name: "same image, different prefix is fine", line: ok("a.png", "detect cat"), kind: null },
    );
    // blank lines in between are skipped but keep the numbering
    await writeLines(join(root, "annotations.jsonl"), rows.flatMap((r, i) => (i === 3 ? ["", r.line] : [r.line])));
  });
  after(() => tmp.cleanup());

  const lineOf = (i: number) => (i >= 3 ? i + 2 : i + 1);

  it("reports exactly the expected kind at each row's line, and accepts the rest", async () => {
    const before = await hashTree(root);
    const r = await validateJsonlFile(join(root, "annotations.jsonl"));
    assert.equal(r.total, rows.length);
    const byLine = new Map(r.problems.map((p) => [p.line, p]));
    rows.forEach((row, i) => {
      const p = byLine.get(lineOf(i));
      assert.equal(p?.kind ?? null, row.kind, `${row.name} (line ${lineOf(i)}): ${p?.message}`);
    });
    assert.equal(r.problems.length, rows.filter((x) => x.kind).length);
    assert.equal(r.entries.length, rows.filter((x) => !x.kind).length);
    assert.deepEqual(r.problems.map((p) => p.line), [...r.problems.map((p) => p.line)].sort((a, b) => a - b), "line order");
    const png = r.entries.find((e) => e.line === 1)!;
    assert.deepEqual([png.width, png.height, png.format], [37, 21, "png"]);
    assert.equal(r.entries.find((e) => e.line === 3)!.format, "webp");
    assert.equal(await hashTree(root), before, "validation must not modify the dataset");
  });

  it('policy "skip" warns file:line for each problem, then "loaded N of M, skipped K"', async () => {
    const warnings: string[] = [];
    const file = join(root, "annotations.jsonl");
    const ds = await loadJsonlDataset(file, { onWarning: (w) => warnings.push(w) });
    const bad = rows.filter((x) => x.kind).length;
    assert.equal(ds.length, rows.length - bad);
    assert.equal(warnings.length, bad + 1);
    rows.forEach((row, i) => {
      if (row.kind) assert.ok(warnings.some((w) => w.startsWith(`${file}:${lineOf(i)}: `)), `no warning for line ${lineOf(i)}`);
    });
    assert.equal(warnings.at(-1), `${file}: loaded ${rows.length - bad} of ${rows.length}, skipped ${bad}`);
    assert.equal(ds.summary, warnings.at(-1));
  });

  it('policy "error" throws a DatasetError naming file:line of the first problem', async () => {
    const file = join(root, "annotations.jsonl");
    const first = rows.findIndex((x) => x.kind);
    await assert.rejects(loadJsonlDataset(file, { policy: "error" }), (e: unknown) => {
      assert.ok(e instanceof DatasetError);
      assert.equal(e.line, lineOf(first));
      assert.equal(e.kind, rows[first].kind);
      assert.ok(e.message.startsWith(`${file}:${lineOf(first)}: bad JSON`), e.message);
      return true;
    });
  });

  it("file-level problems: missing file, a folder, bad policy", async () => {
    await assert.rejects(loadJsonlDataset(join(root, "missing.jsonl")), (e: unknown) => e instanceof DatasetError && e.line === 0 && /cannot read/.test(e.message));
    await assert.rejects(loadJsonlDataset(root), (e: unknown) => e instanceof DatasetError && /directory/.test(e.message));
    await assert.rejects(loadJsonlDataset(join(root, "annotations.jsonl"), { policy: "ignore" as never }), RangeError);
    const r = await validateJsonlFile(join(root, "missing.jsonl"));
    assert.deepEqual(r.problems.map((p) => [p.line, p.kind]), [[0, "file"]]);
    assert.match(formatProblem(r.problems[0]), /missing\.jsonl: cannot read/);
  });

  it("an explicit imageDir resolves images elsewhere and bounds them", async () => {
    const file = join(tmp.path, "elsewhere.jsonl");
    await writeLines(file, [ok("a.png"), ok("../outside.png")]);
    const r = await validateJsonlFile(file, { imageDir: root });
    assert.equal(r.entries.length, 1);
    assert.equal(r.problems[0].kind, "path");
  });
});

describe("JSONL reading", () => {
  it("streams lines with 1-based numbers, skipping blank lines, removing BOM and CR", async () => {
    const { path, cleanup } = await makeTmpDir();
    try {
      const f = join(path, "x.jsonl");
      await writeFile(f, "\ufeff{\"a\":1}\r\n\r\n   \n{\"b\":2}\n{\"c\":3}");
      const got = [];
      for await (const l of readJsonlLines(f)) got.push(l);
      assert.deepEqual(got, [{ line: 1, text: '{"a":1}' }, { line: 4, text: '{"b":2}' }, { line: 5, text: '{"c":3}' }]);
    } finally {
      await cleanup();
    }
  });

  it("parseExampleLine never throws (table)", () => {
    const rows: [string, boolean][] = [
      ['{"image":"a","prefix":"b","suffix":"c"}', true],
      ['{"image":"a","prefix":"","suffix":""}', true],
      ["", false],
      ["{", false],
      ["1", false],
      ["true", false],
      ['{"image":"","prefix":"b","suffix":"c"}', false],
      ['{"image":{},"prefix":"b","suffix":"c"}', false],
      ["\u0000\uffff", false],
    ];
    for (const [text, good] of rows) assert.equal(parseExampleLine(text).ok, good, text);
  });
});
