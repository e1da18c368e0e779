/**
 * Committed notebooks: stored without outputs (CI executes them: test/browser/tutorials.test.ts), and written
 * without the tslab pitfall of kernel/README.md (an object shorthand naming an earlier cell's variable).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cellText, committedNotebooks, previousCellShorthands } from "./cells.js";

test("committed notebooks have no outputs and no execution counts", () => {
  const notebooks = committedNotebooks();
  for (const want of ["00-quickstart.ipynb", "01-json-extraction.ipynb", "02-object-detection.ipynb", "04-your-checkpoint.ipynb"]) assert.ok(notebooks.some((n) => n.file === want), `${want} in notebooks/`);
  const dirty = notebooks.flatMap(({ file, cells }) =>
    cells.flatMap((c, i) => (c.cell_type === "code" && ((c.outputs ?? []).length > 0 || (c.execution_count ?? null) !== null) ? [`${file} cell ${i}`] : [])));
  assert.deepEqual(dirty, [], "strip them: jupyter nbconvert --clear-output --inplace notebooks/*.ipynb");
});

test("the shorthand scanner finds what tslab trips on, and only that", () => {
  // [cells, expected problems as "cell:name"; why]
  const rows: [string[], string[], string][] = [
    [["const image = 1;", "show({ image });"], ["1:image"], "shorthand of an earlier cell's const"],
    [["let a = 1, { b } = { b: 2 };", "f({ a, b });"], ["1:a", "1:b"], "let and a destructured name"],
    [["import { tf } from 'x';", "g({ tf });"], ["1:tf"], "an import of an earlier cell"],
    [["function f() {}", "g({ f });"], ["1:f"], "a function declaration"],
    [["const image = 1;", "show({ image: image });"], [], "written out: fine"],
    [["const image = 1;", "const image2 = 2; show({ image2 });"], [], "declared in the same cell"],
    [["const x = 1;", "[1].map((x) => ({ x }));"], [], "a parameter of the same name is local"],
    [["show({ nothing });"], [], "an undeclared name is not this pitfall"],
    [["const a = 1;", "const b = 2;", "h({ a }, { b });"], ["2:a", "2:b"], "two earlier cells"],
  ];
  for (const [cells, want, why] of rows) {
    assert.deepEqual(previousCellShorthands(cells).map((p) => `${p.cell}:${p.name}`), want, why);
  }
});

test("tutorials use no object shorthand naming an earlier cell's variable", () => {
  const found = committedNotebooks().flatMap(({ file, cells }) =>
    previousCellShorthands(cells.filter((c) => c.cell_type === "code").map(cellText)).map(
      (p) => `${file}: code cell ${p.cell} line ${p.line}: { ${p.name} } (declared in code cell ${p.declaredIn}); write { ${p.name}: ${p.name} }`,
    ));
  assert.deepEqual(found, []);
});
