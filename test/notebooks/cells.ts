/**
 * Reading committed notebooks for the lint tests: the `.ipynb` files of `notebooks/`, their code cells, and the
 * tslab pitfall the kernel README describes: an object shorthand (`show({ image })`) naming a top-level variable
 * of an earlier cell throws `ReferenceError` in tslab and the kernel then skips the queued cells silently.
 * Parsed with the project's TypeScript (never tslab's copy).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { repoRoot } from "../helpers/paths.js";

export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
}

export const NOTEBOOK_DIR = join(repoRoot(), "notebooks");

/** The committed notebooks, by file name (sorted). */
export function committedNotebooks(): { file: string; cells: NotebookCell[] }[] {
  return readdirSync(NOTEBOOK_DIR)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((file) => ({ file, cells: (JSON.parse(readFileSync(join(NOTEBOOK_DIR, file), "utf8")) as { cells: NotebookCell[] }).cells }));
}

export const cellText = (c: NotebookCell): string => (Array.isArray(c.source) ? c.source.join("") : c.source);

/** Names a cell declares at its top level (variables, destructured names, functions, classes, enums, imports). */
export function topLevelNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const bind = (n: ts.BindingName) => {
    if (ts.isIdentifier(n)) names.add(n.text);
    else for (const e of n.elements) if (!ts.isOmittedExpression(e)) bind(e.name);
  };
  for (const st of source.statements) {
    if (ts.isVariableStatement(st)) st.declarationList.declarations.forEach((d) => bind(d.name));
    else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st)) && st.name) names.add(st.name.text);
    else if (ts.isImportDeclaration(st) && st.importClause) {
      const c = st.importClause;
      if (c.name) names.add(c.name.text);
      const b = c.namedBindings;
      if (b && ts.isNamespaceImport(b)) names.add(b.name.text);
      if (b && ts.isNamedImports(b)) b.elements.forEach((e) => names.add(e.name.text));
    }
  }
  return names;
}

/** Every name a cell binds anywhere (parameters and block-scoped names too): a shorthand of one of these is local. */
function allBoundNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const bind = (n: ts.BindingName) => {
    if (ts.isIdentifier(n)) names.add(n.text);
    else for (const e of n.elements) if (!ts.isOmittedExpression(e)) bind(e.name);
  };
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) || ts.isParameter(node)) bind(node.name);
    if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && node.name) names.add(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  topLevelNames(source).forEach((n) => names.add(n));
  return names;
}

export interface ShorthandProblem {
  cell: number;
  line: number;
  name: string;
  declaredIn: number;
}

/**
 * Object shorthands (`{ image }`) in code cell sources that name a top-level variable of an earlier cell and are
 * not bound in their own cell. `cells` are the notebook's code cell sources in order; `cell` numbers index them.
 */
export function previousCellShorthands(cells: readonly string[]): ShorthandProblem[] {
  const declared = new Map<string, number>();
  const problems: ShorthandProblem[] = [];
  cells.forEach((text, i) => {
    const source = ts.createSourceFile(`cell${i}.ts`, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const local = allBoundNames(source);
    const visit = (node: ts.Node) => {
      if (ts.isShorthandPropertyAssignment(node)) {
        const name = node.name.text;
        const from = declared.get(name);
        if (from !== undefined && !local.has(name)) {
          problems.push({ cell: i, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, name, declaredIn: from });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    for (const n of topLevelNames(source)) declared.set(n, i);
  });
  return problems;
}
