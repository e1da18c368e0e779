/**
 * Imports point one way: no runtime import cycle in src/, not even through a lazy `import(...)`. Walks the
 * compiled ESM in dist/src (what node actually loads; type-only imports are erased by tsc), reads every static
 * `import`/`export … from` and dynamic `import("…")` with TypeScript's own pre-processor (comments and strings
 * are skipped), and reports each strongly connected component of the module graph as one cycle.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { access, readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url)); // dist/src
const TS_SRC = fileURLToPath(new URL("../../../src/", import.meta.url)); // src: a dist file left from a deleted source is not a module

const hasSource = (file: string) => access(join(TS_SRC, relative(SRC, file)).replace(/\.js$/, ".ts")).then(() => true, () => false);

async function jsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await jsFiles(p)));
    else if (e.name.endsWith(".js")) out.push(p);
  }
  return out.sort();
}

/** Module → the modules of src/ it imports at run time (relative specifiers only; packages are not ours). */
export async function importGraph(root: string): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const file of await jsFiles(root)) {
    const info = ts.preProcessFile(await readFile(file, "utf-8"), true, true);
    const deps = info.importedFiles
      .map((f) => f.fileName)
      .filter((s) => s.startsWith("./") || s.startsWith("../"))
      .map((s) => resolve(dirname(file), s))
      .filter((p) => p.startsWith(root));
    graph.set(file, [...new Set(deps)]);
  }
  return graph;
}

/** Tarjan's strongly connected components with more than one module (or a module importing itself). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

test("the cycle finder finds a cycle closed by a dynamic import, and none in a chain", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(cycles(g), [["a", "b", "c"]]);
  assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", []]])), []);
  const lazy = ts.preProcessFile('// import("./x.js") in a comment\nconst m = await import("./y.js");\nexport { z } from "../z.js";', true, true);
  assert.deepEqual(lazy.importedFiles.map((f) => f.fileName), ["./y.js", "../z.js"]);
});

test("no runtime import cycle in src/ (static or dynamic imports)", async () => {
  const graph = await importGraph(SRC);
  for (const f of [...graph.keys()]) if (!(await hasSource(f))) graph.delete(f);
  assert.ok(graph.size > 100, `expected the compiled src/ in ${SRC}, found ${graph.size} modules`);
  const found = cycles(graph).map((c) => c.map((f) => relative(SRC, f)).join(" ↔ "));
  assert.deepEqual(found, [], `import cycles in src/:\n  ${found.join("\n  ")}`);
});
