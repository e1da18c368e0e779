/**
 * Donut's JSON evaluation (clovaai/donut `donut/util.py`, `JSONParseEvaluator`), ported to our parsed JSON values:
 *   - `normalizeDonut`: `normalize_dict` (keys sorted by (length, key), falsy values dropped, scalars as stripped
 *     Python `str`, lists of dicts vs lists of scalars);
 *   - `donutTedAccuracy`: nTED accuracy = max(0, 1 − TED(pred, gt) / TED(∅, gt)) with Donut's costs (leaf relabel =
 *     string edit distance; leaf ↔ inner = 1 + len; inner relabel 0/1; insert/remove = len for leaves, 1 otherwise);
 *   - `donutF1`: `cal_f1`, the micro field F1 over flattened (key, value) pairs, multiset-matched.
 * An empty ground truth gets nTED accuracy 0 whatever the prediction (Donut's own result: its zss distances are
 * numpy floats, so d/0 is NaN or inf and max(0, 1 − ·) is 0). Where Donut's F1 raises ZeroDivisionError (no fields
 * in the whole corpus) we return 1. Results are never NaN.
 *
 * @example
 *   donutTedAccuracy(parseJson('{"a": "x"}'), parseJson('{"a": "y"}'))  // 0.5: one relabel of cost 1 / tree cost 2
 */
import { treeEditDistance, type TreeNode } from "../ted.js";
import { codePointLevenshtein } from "../text.js";
import { pythonStr, type JsonParse, type JsonValue } from "../../codecs/json.js";

/** Donut's normalised form: a dict of key → list, a list of strings, or a list of dicts. */
export type DonutNorm = { kind: "dict"; entries: [string, DonutNorm][] } | { kind: "strs"; items: string[] } | { kind: "dicts"; items: DonutNorm[] };

const EMPTY: DonutNorm = { kind: "dict", entries: [] };

/** Python `str.strip()` (Unicode whitespace, which includes \x1c–\x1f and \x85 and excludes \ufeff). */
export function pyStrip(s: string): string {
  return stripExact(s);
}
function isPySpace(ch: string): boolean {
  return ch !== "\ufeff" && (/\s/u.test(ch) || /[\x1c-\x1f\x85]/.test(ch));
}
function stripExact(s: string): string {
  const cps = Array.from(s);
  let a = 0;
  let b = cps.length;
  while (a < b && isPySpace(cps[a])) a++;
  while (b > a && isPySpace(cps[b - 1])) b--;
  return cps.slice(a, b).join("");
}

function truthy(v: JsonValue): boolean {
  switch (v.kind) {
    case "null":
      return false;
    case "bool":
      return v.value;
    case "number":
      return v.value !== 0;
    case "string":
      return v.value.length > 0;
    case "array":
      return v.items.length > 0;
    case "object":
      return v.entries.length > 0;
  }
}

function normTruthy(n: DonutNorm): boolean {
  return n.kind === "dict" ? n.entries.length > 0 : n.items.length > 0;
}

/** Python's ordering of (len(k), k) with code-point comparison. */
function keyOrder(a: string, b: string): number {
  const la = Array.from(a).length;
  const lb = Array.from(b).length;
  if (la !== lb) return la - lb;
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** Donut `normalize_dict`. */
export function normalizeDonut(v: JsonValue): DonutNorm {
  if (!truthy(v)) return EMPTY;
  if (v.kind === "object") {
    const entries: [string, DonutNorm][] = [];
    for (const [k, x] of [...v.entries].sort((a, b) => keyOrder(a[0], b[0]))) {
      const n = normalizeDonut(x);
      if (normTruthy(n)) entries.push([k, n.kind === "dict" ? { kind: "dicts", items: [n] } : n]);
    }
    return { kind: "dict", entries };
  }
  if (v.kind === "array") {
    if (v.items.every((x) => x.kind === "object")) {
      return { kind: "dicts", items: v.items.map(normalizeDonut).filter(normTruthy) };
    }
    const items: string[] = [];
    for (const x of v.items) {
      if (x.kind !== "string" && x.kind !== "number") continue; // Python: type(item) in {str, int, float}
      const s = pyStrip(pythonStr(x));
      if (s) items.push(s);
    }
    return { kind: "strs", items };
  }
  return { kind: "strs", items: [pyStrip(pythonStr(v))] };
}

/** Donut `construct_tree_from_dict`. */
export function donutTree(n: DonutNorm, name = "<root>"): TreeNode {
  const node: TreeNode = { label: name, children: [] };
  if (n.kind === "dict") for (const [k, x] of n.entries) node.children.push(donutTree(x, k));
  else if (n.kind === "dicts") for (const x of n.items) node.children.push(donutTree(x, "<subtree>"));
  else for (const s of n.items) node.children.push({ label: `<leaf>${s}`, children: [] });
  return node;
}

const isLeaf = (label: string) => label.includes("<leaf>");
const stripLeaf = (label: string) => label.split("<leaf>").join("");
const len = (s: string) => Array.from(s).length;

const DONUT_COSTS = {
  insert: (n: TreeNode) => (isLeaf(n.label) ? len(stripLeaf(n.label)) : 1),
  remove: (n: TreeNode) => (isLeaf(n.label) ? len(stripLeaf(n.label)) : 1),
  update: (a: TreeNode, b: TreeNode) => {
    const la = isLeaf(a.label);
    const lb = isLeaf(b.label);
    if (la && lb) return codePointLevenshtein(stripLeaf(a.label), stripLeaf(b.label));
    if (!la && lb) return 1 + len(stripLeaf(b.label));
    if (la && !lb) return 1 + len(stripLeaf(a.label));
    return a.label !== b.label ? 1 : 0;
  },
};

const asValue = (p: JsonParse | JsonValue): JsonValue => ("kind" in p ? p : p.ok ? p.value : { kind: "object", entries: [] });

/** Donut `cal_acc` for one sample; an unparsable prediction counts as `{}`. */
export function donutTedAccuracy(prediction: JsonParse | JsonValue, reference: JsonParse | JsonValue): number {
  const pred = donutTree(normalizeDonut(asValue(prediction)));
  const gt = donutTree(normalizeDonut(asValue(reference)));
  const denom = treeEditDistance(donutTree(EMPTY), gt, DONUT_COSTS);
  const dist = treeEditDistance(pred, gt, DONUT_COSTS);
  if (denom === 0) return 0; // Donut: zss returns numpy floats, so x/0 is NaN or inf and max(0, 1 − ·) is 0
  return Math.max(0, 1 - dist / denom);
}

/** Donut `flatten` of a normalised value: (dotted key, leaf string) pairs, list items flattened in order. */
export function donutFlatten(n: DonutNorm, key = "", out: [string, string][] = []): [string, string][] {
  if (n.kind === "dict") for (const [k, x] of n.entries) donutFlatten(x, key ? `${key}.${k}` : k, out);
  else if (n.kind === "dicts") for (const x of n.items) donutFlatten(x, key, out);
  else for (const s of n.items) out.push([key, s]);
  return out;
}

/** Donut `cal_f1` over a corpus (micro-averaged); unparsable predictions count as `{}`. */
export function donutF1(predictions: readonly (JsonParse | JsonValue)[], references: readonly (JsonParse | JsonValue)[]): number {
  let tp = 0;
  let fnFp = 0;
  for (let i = 0; i < Math.min(predictions.length, references.length); i++) {
    const pred = donutFlatten(normalizeDonut(asValue(predictions[i])));
    const answer = donutFlatten(normalizeDonut(asValue(references[i]))).map(([k, v]) => `${k}\u0000${v}`);
    for (const [k, v] of pred) {
      const at = answer.indexOf(`${k}\u0000${v}`);
      if (at >= 0) {
        tp++;
        answer.splice(at, 1);
      } else fnFp++;
    }
    fnFp += answer.length;
  }
  if (tp + fnFp / 2 === 0) return 1; // no fields at all on either side (Donut divides by zero)
  return tp / (tp + fnFp / 2);
}
