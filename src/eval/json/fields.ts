/**
 * JSON extraction metrics over flattened key paths: parse rate, exact match, field-level precision/recall/F1 and a
 * per-field table (which fields fail most).
 *
 * Flattening: `{"a": {"b": 1}, "tags": ["x", "y"]}` → `a.b = 1`, `tags[] = "x"`, `tags[] = "y"`. A field is a
 * (path, value) pair; fields are matched as multisets, so list items match in any order: list order is ignored
 * unless "the schema says so", i.e. the list's path is in `orderedLists` (then items are `steps[0]`, `steps[1]`…
 * and must be at the same index). Paths write unordered list levels as `[]` (`items[].name`). Values compare by
 * JSON value (1 equals 1.0; "1" does not), strings exactly unless `normalizeStrings` (trim + lower-case).
 * An empty object or list is a field of its own (`tags = []`). Unparsable predictions have no fields.
 *
 * @example
 *   jsonFieldScores(['{"name":"cake","tags":["b","a"]}'], ['{"name":"cake","tags":["a","b"]}']).f1 // 1
 */
import { parseJson, type JsonParse, type JsonValue } from "../../codecs/json.js";

export interface JsonFieldOptions {
  /** Paths of lists whose order matters (`"steps"`, `"pages[].lines"`); all other lists are unordered. */
  orderedLists?: readonly string[];
  /** Compare strings after trimming and lower-casing. Default false. */
  normalizeStrings?: boolean;
}

export interface Field {
  path: string; // with indices for ordered lists: steps[0].text
  field: string; // the path with every index replaced by []: for per-field tables
  value: string; // canonical value
}

function canonicalScalar(v: JsonValue, o: JsonFieldOptions): string {
  switch (v.kind) {
    case "null":
      return "null";
    case "bool":
      return String(v.value);
    case "number":
      return `n:${v.value}`;
    case "string":
      return `s:${o.normalizeStrings ? v.value.trim().toLowerCase() : v.value}`;
    case "array":
      return "[]";
    case "object":
      return "{}";
  }
}

/** Flatten a parsed value into fields (see the module doc). */
export function flattenJson(v: JsonValue, o: JsonFieldOptions = {}): Field[] {
  const ordered = new Set(o.orderedLists ?? []);
  const out: Field[] = [];
  const walk = (x: JsonValue, path: string, field: string) => {
    if (x.kind === "object" && x.entries.length) {
      for (const [k, y] of x.entries) walk(y, path ? `${path}.${k}` : k, field ? `${field}.${k}` : k);
    } else if (x.kind === "array" && x.items.length) {
      const isOrdered = ordered.has(field);
      x.items.forEach((y, i) => walk(y, `${path}[${isOrdered ? i : ""}]`, `${field}[]`));
    } else out.push({ path, field, value: canonicalScalar(x, o) });
  };
  walk(v, "", "");
  return out;
}

export interface FieldCounts {
  tp: number;
  predicted: number;
  reference: number;
}

export interface PrecisionRecallF1 {
  precision: number;
  recall: number;
  f1: number;
}

/** P/R/F1 from counts; with nothing on either side the score is 1 (nothing was missed or invented), never NaN. */
export function prf(c: FieldCounts): PrecisionRecallF1 {
  const precision = c.predicted ? c.tp / c.predicted : c.reference ? 0 : 1;
  const recall = c.reference ? c.tp / c.reference : c.predicted ? 0 : 1;
  const f1 = c.predicted + c.reference ? (2 * c.tp) / (c.predicted + c.reference) : 1;
  return { precision, recall, f1 };
}

/** Multiset match of two samples' fields, also per field name. */
export function matchFields(pred: Field[], ref: Field[], perField?: Map<string, FieldCounts>): FieldCounts {
  const pool = new Map<string, number>();
  for (const f of ref) pool.set(`${f.path}\u0000${f.value}`, (pool.get(`${f.path}\u0000${f.value}`) ?? 0) + 1);
  const bump = (field: string, k: keyof FieldCounts) => {
    if (!perField) return;
    const c = perField.get(field) ?? { tp: 0, predicted: 0, reference: 0 };
    c[k]++;
    perField.set(field, c);
  };
  let tp = 0;
  for (const f of pred) {
    const key = `${f.path}\u0000${f.value}`;
    const left = pool.get(key) ?? 0;
    bump(f.field, "predicted");
    if (left > 0) {
      pool.set(key, left - 1);
      tp++;
      bump(f.field, "tp");
    }
  }
  for (const f of ref) bump(f.field, "reference");
  return { tp, predicted: pred.length, reference: ref.length };
}

const toParse = (x: string | JsonParse): JsonParse => (typeof x === "string" ? parseJson(x.trim()) : x);

export interface FieldRow extends FieldCounts, PrecisionRecallF1 {
  field: string;
}

export interface JsonFieldScores extends PrecisionRecallF1 {
  /** Fraction of predictions that parse as JSON. */
  parseRate: number;
  /** Fraction of predictions equal to the reference (key order ignored, list order as in the options). */
  exactMatch: number;
  /** Micro counts over the corpus. */
  counts: FieldCounts;
  /** Per-sample field F1 (same order as the inputs). */
  perSample: number[];
  /** Per field name: worst F1 first, then most frequent. */
  perField: FieldRow[];
}

/** Canonical text of a value for exact match (objects by sorted keys; unordered lists as sorted multisets). */
export function canonicalJson(v: JsonValue, o: JsonFieldOptions = {}): string {
  return flattenJson(v, o)
    .map((f) => `${f.path}\u0000${f.value}`)
    .sort()
    .join("\u0001");
}

/**
 * Field-level scores of JSON predictions against JSON references (strings, trimmed, or parses).
 * A reference that does not parse is a caller error and throws with its index.
 */
export function jsonFieldScores(predictions: readonly (string | JsonParse)[], references: readonly (string | JsonParse)[], o: JsonFieldOptions = {}): JsonFieldScores {
  if (predictions.length !== references.length) {
    throw new Error(`jsonFieldScores: ${predictions.length} predictions but ${references.length} references`);
  }
  const perField = new Map<string, FieldCounts>();
  const total: FieldCounts = { tp: 0, predicted: 0, reference: 0 };
  const perSample: number[] = [];
  let parsed = 0;
  let exact = 0;
  predictions.forEach((p, i) => {
    const pr = toParse(p);
    const rr = toParse(references[i]);
    if (!rr.ok) throw new Error(`jsonFieldScores: reference ${i} is not valid JSON (${rr.error} at ${rr.at})`);
    const refFields = flattenJson(rr.value, o);
    const predFields = pr.ok ? flattenJson(pr.value, o) : [];
    if (pr.ok) parsed++;
    if (pr.ok && canonicalJson(pr.value, o) === canonicalJson(rr.value, o)) exact++;
    const c = matchFields(predFields, refFields, perField);
    total.tp += c.tp;
    total.predicted += c.predicted;
    total.reference += c.reference;
    perSample.push(prf(c).f1);
  });
  const n = predictions.length;
  const rows: FieldRow[] = [...perField].map(([field, c]) => ({ field, ...c, ...prf(c) }));
  rows.sort((a, b) => a.f1 - b.f1 || b.reference - a.reference || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  return {
    ...prf(total),
    parseRate: n ? parsed / n : 0,
    exactMatch: n ? exact / n : 0,
    counts: total,
    perSample,
    perField: rows,
  };
}
