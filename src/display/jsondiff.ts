/**
 * Field-by-field JSON diff of a prediction against its target: a tree whose nodes are equal / changed / missing
 * (in the target only) / extra (in the prediction only), leaf counts per kind, and per-field accuracy over many
 * samples (array indices generalised to `[]`). Arrays of objects that share an id-like key (`id`, `sku`, `name`,
 * `…_id`: present in every element, unique, a string or number) are matched by that key, others by position;
 * changed strings carry a character-level edit. Invalid JSON text is reported, never thrown.
 *
 * @example
 * const d = diffJson({ id: 7, name: "a" }, '{"id": 8, "name": "a", "x": 1}');
 * d.counts; // { equal: 1, changed: 1, missing: 0, extra: 1 }
 */
import type { DiffCounts, DiffNode, DiffStatus, FieldAccuracy, JsonDiffPayload, JsonValue } from "./protocol.js";
import { DisplayError, describeValue } from "./errors.js";

function isObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kindOf(v: JsonValue | undefined): DiffNode["kind"] {
  return Array.isArray(v) ? "array" : isObject(v) ? "object" : "value";
}

/** Path of an array element matched by key: `$.items[sku="A1"]`. */
function keyedPath(path: string, key: string, value: string | number): string {
  return `${path}[${key}=${JSON.stringify(value)}]`;
}

const ID_KEYS = ["id", "key", "uid", "uuid", "sku", "code", "name", "title", "label"];

/**
 * The id-like key arrays `e` and `a` can be matched by: every element of both an object holding it as a string or
 * number, unique within each array. Preference: `ID_KEYS` order, then keys ending in `id`/`_id`/`Id`.
 */
export function arrayMatchKey(e: readonly JsonValue[], a: readonly JsonValue[]): string | null {
  const all = [...e, ...a];
  if (e.length === 0 || a.length === 0 || !all.every(isObject)) return null;
  const objs = all as { [key: string]: JsonValue }[];
  const candidates = [...new Set(objs.flatMap((o) => Object.keys(o)))].filter((k) => ID_KEYS.includes(k.toLowerCase()) || /(^|_)id$|[a-z]Id$/.test(k));
  candidates.sort((x, y) => rank(x) - rank(y));
  for (const k of candidates) {
    const ok = (arr: readonly JsonValue[]) => {
      const vals = arr.map((o) => (o as { [key: string]: JsonValue })[k]);
      return vals.every((v) => typeof v === "string" || typeof v === "number") && new Set(vals).size === vals.length;
    };
    if (ok(e) && ok(a)) return k;
  }
  return null;
}
function rank(k: string): number {
  const i = ID_KEYS.indexOf(k.toLowerCase());
  return i >= 0 ? i : ID_KEYS.length;
}

/**
 * Character-level edit script of `a` → `b` (LCS over characters; the common prefix and suffix are split off first,
 * and past 4M cells the middle is one removal + one addition). Adjacent ops of one kind are merged.
 */
export function textDiff(a: string, b: string): { op: "=" | "-" | "+"; text: string }[] {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let q = 0;
  while (q < a.length - p && q < b.length - p && a[a.length - 1 - q] === b[b.length - 1 - q]) q++;
  const am = a.slice(p, a.length - q);
  const bm = b.slice(p, b.length - q);
  const ops: { op: "=" | "-" | "+"; text: string }[] = [];
  const push = (op: "=" | "-" | "+", text: string) => {
    if (!text) return;
    const last = ops.at(-1);
    if (last && last.op === op) last.text += text;
    else ops.push({ op, text });
  };
  push("=", a.slice(0, p));
  if (am.length * bm.length > 4_000_000) {
    push("-", am);
    push("+", bm);
  } else {
    const n = am.length;
    const m = bm.length;
    const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1)); // L[i][j] = LCS of am[i:], bm[j:]
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = am[i] === bm[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) (push("=", am[i]), i++, j++);
      else if (j < m && (i === n || L[i][j + 1] >= L[i + 1][j])) (push("+", bm[j]), j++);
      else (push("-", am[i]), i++);
    }
  }
  push("=", a.slice(a.length - q));
  return ops;
}

function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Leaves of a value (an empty container counts as one leaf). */
export function countLeaves(v: JsonValue): number {
  if (Array.isArray(v)) return v.length === 0 ? 1 : v.reduce<number>((a, x) => a + countLeaves(x), 0);
  if (isObject(v)) {
    const vals = Object.values(v);
    return vals.length === 0 ? 1 : vals.reduce<number>((a, x) => a + countLeaves(x), 0);
  }
  return 1;
}

function sameLeaf(a: JsonValue, b: JsonValue): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return a === b;
}

function diffNode(key: string | number | null, path: string, e: JsonValue | undefined, a: JsonValue | undefined, counts: DiffCounts): DiffNode {
  if (a === undefined) {
    counts.missing += countLeaves(e!);
    return { key, path, status: "missing", kind: kindOf(e), expected: e };
  }
  if (e === undefined) {
    counts.extra += countLeaves(a);
    return { key, path, status: "extra", kind: kindOf(a), actual: a };
  }
  const ke = kindOf(e);
  if (ke !== kindOf(a)) {
    counts.changed++; // a type change (object vs value, array vs object) is one changed field
    return { key, path, status: "changed", kind: "value", expected: e, actual: a };
  }
  if (ke === "value") {
    const equal = sameLeaf(e, a);
    counts[equal ? "equal" : "changed"]++;
    const node: DiffNode = { key, path, status: equal ? "equal" : "changed", kind: ke, expected: e, actual: a };
    if (!equal && typeof e === "string" && typeof a === "string") node.textDiff = textDiff(e, a);
    return node;
  }
  const children: DiffNode[] = [];
  let matchedBy: string | null = null;
  if (Array.isArray(e) && Array.isArray(a)) {
    matchedBy = arrayMatchKey(e, a);
    if (matchedBy !== null) {
      const k = matchedBy;
      const idOf = (o: JsonValue) => (o as { [key: string]: JsonValue })[k] as string | number;
      const byId = new Map(a.map((o) => [idOf(o), o]));
      const seen = new Set<string | number>();
      e.forEach((o, i) => {
        const id = idOf(o);
        seen.add(id);
        children.push(diffNode(i, keyedPath(path, k, id), o, byId.get(id), counts));
      });
      a.forEach((o, i) => {
        if (!seen.has(idOf(o))) children.push(diffNode(i, keyedPath(path, k, idOf(o)), undefined, o, counts));
      });
    } else {
      for (let i = 0; i < Math.max(e.length, a.length); i++) children.push(diffNode(i, childPath(path, i), e[i], a[i], counts));
    }
  } else {
    const eo = e as { [key: string]: JsonValue };
    const ao = a as { [key: string]: JsonValue };
    const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
    for (const k of Object.keys(eo)) children.push(diffNode(k, childPath(path, k), eo[k], has(ao, k) ? ao[k] : undefined, counts));
    for (const k of Object.keys(ao)) if (!has(eo, k)) children.push(diffNode(k, childPath(path, k), undefined, ao[k], counts));
  }
  if (children.length === 0) {
    counts.equal++;
    return { key, path, status: "equal", kind: ke, expected: e, actual: a };
  }
  const status: DiffStatus = children.every((c) => c.status === "equal") ? "equal" : "changed";
  return { key, path, status, kind: ke, ...(matchedBy !== null ? { matchedBy } : {}), children };
}

/** A JSON value, or JSON text parsed; `error` set when the text is not JSON (never throws on text). */
export function parseJsonSide(v: unknown, side: "expected" | "actual"): { value?: JsonValue; error?: { side: "expected" | "actual"; message: string; text: string } } {
  if (typeof v === "string") {
    try {
      return { value: JSON.parse(v) as JsonValue };
    } catch (e) {
      return { error: { side, message: (e as Error).message, text: v.length > 2000 ? v.slice(0, 2000) + "…" : v } };
    }
  }
  if (v === undefined) throw new DisplayError(side, "is required (a JSON value or JSON text)");
  try {
    return { value: JSON.parse(JSON.stringify(v)) as JsonValue };
  } catch (e) {
    throw new DisplayError(side, `is not JSON-serialisable (${(e as Error).message}); got ${describeValue(v)}`);
  }
}

/** Diff of `actual` (the prediction) against `expected` (the target); strings are parsed as JSON text. */
export function diffJson(expected: unknown, actual: unknown, title?: string): JsonDiffPayload {
  const e = parseJsonSide(expected, "expected");
  const a = parseJsonSide(actual, "actual");
  const counts: DiffCounts = { equal: 0, changed: 0, missing: 0, extra: 0 };
  const parseErrors = [e.error, a.error].filter((x): x is NonNullable<typeof x> => x !== undefined);
  let root: DiffNode | null = null;
  if (e.value !== undefined) root = diffNode(null, "$", e.value, a.value, counts);
  else if (a.value !== undefined) root = diffNode(null, "$", undefined, a.value, counts);
  return { version: 1, view: "jsonDiff", ...(title !== undefined ? { title } : {}), ...(parseErrors.length ? { parseErrors } : {}), root, counts };
}

/** `$.products[3].qty` and `$.products[sku="A1"].qty` → `$.products[].qty`. */
export function generalizePath(path: string): string {
  return path.replace(/\[(?:\d+|[^\]=["]+=(?:"(?:[^"\\]|\\.)*"|-?[\d.eE+-]+))\]/g, "[]");
}

/** Generalised leaf paths with "correct?" (missing/extra subtrees expand to their leaves, all wrong). */
function leafStatuses(n: DiffNode, out: [string, boolean][]): void {
  if (n.children && n.children.length > 0) {
    for (const c of n.children) leafStatuses(c, out);
  } else if (n.status === "missing" || n.status === "extra") {
    expandLeaves(n.path, (n.status === "missing" ? n.expected : n.actual)!, out);
  } else {
    out.push([generalizePath(n.path), n.status === "equal"]);
  }
}

function expandLeaves(path: string, v: JsonValue, out: [string, boolean][]): void {
  if (Array.isArray(v) && v.length > 0) v.forEach((x, i) => expandLeaves(childPath(path, i), x, out));
  else if (isObject(v) && Object.keys(v).length > 0) for (const [k, x] of Object.entries(v)) expandLeaves(childPath(path, k), x, out);
  else out.push([generalizePath(path), false]);
}

/** Per-field accuracy over many (expected, actual) pairs, worst field first; counts summed. */
export function diffJsonMany(pairs: readonly { expected: unknown; actual: unknown }[], title?: string): JsonDiffPayload {
  if (!Array.isArray(pairs)) throw new DisplayError("pairs", `expected an array of { expected, actual }; got ${describeValue(pairs)}`);
  const counts: DiffCounts = { equal: 0, changed: 0, missing: 0, extra: 0 };
  const fields = new Map<string, FieldAccuracy>();
  let parseFailures = 0;
  for (const [i, p] of pairs.entries()) {
    if (typeof p !== "object" || p === null || !("expected" in p)) throw new DisplayError(`pairs[${i}]`, `expected { expected, actual }; got ${describeValue(p)}`);
    const d = diffJson(p.expected, p.actual);
    if (d.parseErrors?.some((x) => x.side === "actual")) parseFailures++;
    for (const k of ["equal", "changed", "missing", "extra"] as const) counts[k] += d.counts[k];
    if (!d.root) continue;
    const leaves: [string, boolean][] = [];
    leafStatuses(d.root, leaves);
    for (const [path, ok] of leaves) {
      const f = fields.get(path) ?? { path, correct: 0, total: 0 };
      f.total++;
      if (ok) f.correct++;
      fields.set(path, f);
    }
  }
  const fieldAccuracy = [...fields.values()].sort((a, b) => a.correct / a.total - b.correct / b.total || a.path.localeCompare(b.path));
  const payload: JsonDiffPayload = { version: 1, view: "jsonDiff", ...(title !== undefined ? { title } : {}), root: null, counts, fieldAccuracy, samples: pairs.length };
  if (parseFailures > 0) payload.parseErrors = [{ side: "actual", message: `${parseFailures} of ${pairs.length} predictions are not valid JSON`, text: "" }];
  return payload;
}
