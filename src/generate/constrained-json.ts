/**
 * The JSON grammar for constrained decoding (RFC 8259, as codecs/json.ts parses it), optionally restricted by
 * a JSON schema: the subset `{ type, properties, required, items, additionalProperties: false }` that
 * `inferJsonSchema` derives from training suffixes (keys seen in every example are required, only seen keys are
 * allowed, value types are the union of those seen; list items share one schema). Whitespace: at most one space
 * between tokens (`whitespace: false` allows none), so a model cannot loop on blanks.
 *
 * @example
 *   const schema = inferJsonSchema(['{"name":"cake","n":2}', '{"name":"tea","n":1,"tags":["hot"]}']);
 *   // { type: "object", properties: { name: {type:"string"}, n: {type:"integer"}, tags: {type:"array", items: {type:"string"}} },
 *   //   required: ["name", "n"], additionalProperties: false }
 *   const g = jsonGrammar({ schema });  // then constrainedProcessor(g, vocab, { eosTokenId, maxNewTokens })
 */
import { parseJson, type JsonValue } from "../codecs/json.js";
import type { Grammar, GrammarState } from "./constrained.js";

export type JsonType = "object" | "array" | "string" | "number" | "integer" | "boolean" | "null";

export interface JsonSchema {
  type?: JsonType | JsonType[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean;
}

function typeOf(v: JsonValue): JsonType {
  if (v.kind === "bool") return "boolean";
  if (v.kind === "number") return v.isInt ? "integer" : "number";
  return v.kind;
}

function types(s: JsonSchema | undefined): Set<JsonType> | null {
  if (!s || s.type === undefined) return null;
  return new Set(Array.isArray(s.type) ? s.type : [s.type]);
}

function merge(a: JsonSchema | undefined, v: JsonValue): JsonSchema {
  const t = new Set(types(a) ?? []);
  t.add(typeOf(v));
  if (t.has("number")) t.delete("integer");
  const out: JsonSchema = { type: t.size === 1 ? [...t][0] : [...t].sort() };
  if (v.kind === "object" || a?.properties) {
    const props: Record<string, JsonSchema> = { ...(a?.properties ?? {}) };
    let required = a?.required ?? null;
    if (v.kind === "object") {
      for (const [k, x] of v.entries) props[k] = merge(props[k], x);
      const keys = v.entries.map(([k]) => k);
      required = required === null || !a?.properties ? keys : required.filter((k) => keys.includes(k));
    }
    out.properties = props;
    out.required = required ?? [];
    out.additionalProperties = false;
  }
  if (v.kind === "array" || a?.items) {
    let items = a?.items;
    if (v.kind === "array") for (const x of v.items) items = merge(items, x);
    if (items) out.items = items;
  }
  return out;
}

/** A schema that accepts every training suffix (see the module doc). Unparsable suffixes throw with their index. */
export function inferJsonSchema(suffixes: readonly string[]): JsonSchema {
  let s: JsonSchema | undefined;
  suffixes.forEach((x, i) => {
    const p = parseJson(x.trim());
    if (!p.ok) throw new Error(`inferJsonSchema: suffix ${i} is not valid JSON (${p.error} at ${p.at}): ${JSON.stringify(x.slice(0, 60))}`);
    s = merge(s, p.value);
  });
  if (!s) throw new Error(`inferJsonSchema: no suffixes`);
  return s;
}

type Frame =
  | { k: "root" }
  | { k: "value"; s?: JsonSchema }
  | { k: "obj"; s?: JsonSchema; phase: "start" | "key" | "inkey" | "colon" | "comma"; seen: string[]; pending?: string }
  | { k: "arr"; s?: JsonSchema; phase: "start" | "value" | "comma" }
  | { k: "str"; esc: number; key: boolean; text: string; allowed: string[] | null }
  | { k: "num"; phase: "sign" | "zero" | "int" | "dot" | "frac" | "e" | "esign" | "exp"; integer: boolean }
  | { k: "lit"; rest: string };

const isDigit = (c: string) => c >= "0" && c <= "9";
/** Characters that stay inside a JSON string without changing the parser state. */
const JSON_STRING_CHARS = { key: "json-string", test: (c: number) => c >= 0x20 && c !== 0x22 && c !== 0x5c && !(c >= 0xe000 && c < 0xe480) };
const NUM_FINAL = new Set(["zero", "int", "frac", "exp"]);

function minValueLen(s: JsonSchema | undefined): number {
  const t = types(s);
  if (!t) return 1;
  let best = Infinity;
  if (t.has("number") || t.has("integer")) best = Math.min(best, 1);
  if (t.has("string") || t.has("array")) best = Math.min(best, 2);
  if (t.has("null") || t.has("boolean")) best = Math.min(best, 4);
  if (t.has("object")) best = Math.min(best, 2 + requiredCost(s!, [], true));
  return best === Infinity ? 1 : best;
}

/** Characters for the required members not yet written: `"k":v` each, with a comma before each unless `first`. */
function requiredCost(s: JsonSchema, seen: string[], first = false): number {
  const left = (s.required ?? []).filter((k) => !seen.includes(k));
  const commas = first ? Math.max(0, left.length - 1) : left.length;
  return left.reduce((sum, k) => sum + k.length + 3 + minValueLen(s.properties?.[k]), 0) + commas;
}

class JsonState implements GrammarState {
  constructor(
    private stack: Frame[],
    private readonly ws: boolean,
    private lastWs = false,
  ) {}

  clone(): JsonState {
    return new JsonState(
      this.stack.map((f) => (f.k === "obj" ? { ...f, seen: f.seen.slice() } : { ...f })),
      this.ws,
      this.lastWs,
    );
  }

  accepting(): boolean {
    const top = this.stack[this.stack.length - 1];
    return top.k === "root" || (this.stack.length === 2 && top.k === "num" && NUM_FINAL.has(top.phase));
  }

  minToComplete(): number {
    let n = 0;
    for (let i = 0; i < this.stack.length; i++) {
      const f = this.stack[i];
      switch (f.k) {
        case "value":
          n += minValueLen(f.s);
          break;
        case "lit":
          n += f.rest.length;
          break;
        case "num":
          n += NUM_FINAL.has(f.phase) ? 0 : 1;
          break;
        case "str":
          n += 1 + (f.esc === 1 ? 1 : f.esc >= 2 ? 6 - f.esc : 0);
          if (f.key && f.allowed) n += Math.min(...f.allowed.filter((a) => a.startsWith(f.text)).map((a) => a.length - f.text.length));
          break;
        case "arr":
          n += 1 + (f.phase === "value" ? minValueLen(f.s?.items) : 0);
          break;
        case "obj": {
          const s = f.s;
          if (f.phase === "colon") n += 1 + minValueLen(s?.properties?.[f.pending!]) + (s ? requiredCost(s, [...f.seen, f.pending!]) : 0);
          else if (f.phase === "inkey") {
            // a key is being written (the string frame above counts its characters): ':' + its value + the rest
            const key = this.stack[i + 1] as Extract<Frame, { k: "str" }>;
            const cands = s?.properties ? Object.keys(s.properties).filter((k) => !f.seen.includes(k) && k.startsWith(key.text)) : [];
            n += 1 + (cands.length ? Math.min(...cands.map((k) => minValueLen(s!.properties![k]) + requiredCost(s!, [...f.seen, k]))) : 1 + (s ? requiredCost(s, f.seen) : 0));
          }
          else if (f.phase === "key" && s && requiredCost(s, f.seen) === 0) n += 3 + Math.min(...this.freeKeys(f).map((k) => k.length + minValueLen(s.properties?.[k])), 1e9);
          else if (f.phase === "key" && !s) n += 4;
          else n += s ? requiredCost(s, f.seen, f.phase !== "comma") : 0; // after "{" or ",": no comma first
          n += 1; // }
          break;
        }
      }
    }
    return n;
  }

  inertClass() {
    const top = this.stack[this.stack.length - 1];
    return top.k === "str" && top.esc === 0 && !(top.key && top.allowed) ? JSON_STRING_CHARS : null;
  }

  private freeKeys(f: Extract<Frame, { k: "obj" }>): string[] {
    return Object.keys(f.s?.properties ?? {}).filter((k) => !f.seen.includes(k));
  }

  private objectMayClose(f: Extract<Frame, { k: "obj" }>): boolean {
    return !f.s || requiredCost(f.s, f.seen) === 0;
  }

  private objectMayContinue(f: Extract<Frame, { k: "obj" }>): boolean {
    return !f.s?.properties || f.s.additionalProperties !== false || this.freeKeys(f).length > 0;
  }

  /** Start a value of schema `s` with character c (the value frame on top is replaced). */
  private startValue(c: string, s: JsonSchema | undefined): boolean {
    const t = types(s);
    const ok = (x: JsonType) => !t || t.has(x);
    this.stack.pop();
    if (c === "{" && ok("object")) this.stack.push({ k: "obj", s, phase: "start", seen: [] });
    else if (c === "[" && ok("array")) this.stack.push({ k: "arr", s, phase: "start" });
    else if (c === '"' && ok("string")) this.stack.push({ k: "str", esc: 0, key: false, text: "", allowed: null });
    else if ((c === "-" || isDigit(c)) && (ok("number") || ok("integer"))) {
      this.stack.push({ k: "num", phase: "sign", integer: !!t && !t.has("number") });
      return this.feedNum(c);
    } else if (c === "t" && ok("boolean")) this.stack.push({ k: "lit", rest: "rue" });
    else if (c === "f" && ok("boolean")) this.stack.push({ k: "lit", rest: "alse" });
    else if (c === "n" && ok("null")) this.stack.push({ k: "lit", rest: "ull" });
    else return false;
    return true;
  }

  private feedNum(c: string): boolean {
    const f = this.stack[this.stack.length - 1] as Extract<Frame, { k: "num" }>;
    const next = (() => {
      switch (f.phase) {
        case "sign":
          return c === "-" ? "sign-seen" : c === "0" ? "zero" : isDigit(c) ? "int" : null;
        case "zero":
          return c === "." && !f.integer ? "dot" : (c === "e" || c === "E") && !f.integer ? "e" : null;
        case "int":
          return isDigit(c) ? "int" : c === "." && !f.integer ? "dot" : (c === "e" || c === "E") && !f.integer ? "e" : null;
        case "dot":
          return isDigit(c) ? "frac" : null;
        case "frac":
          return isDigit(c) ? "frac" : c === "e" || c === "E" ? "e" : null;
        case "e":
          return c === "+" || c === "-" ? "esign" : isDigit(c) ? "exp" : null;
        case "esign":
        case "exp":
          return isDigit(c) ? "exp" : null;
      }
    })();
    if (next === "sign-seen") {
      // "-" must be followed by a digit: model it as a "sign" phase that no longer accepts "-"
      if ((f as { minus?: boolean }).minus) return false;
      (f as { minus?: boolean }).minus = true;
      return true;
    }
    if (next) {
      f.phase = next as typeof f.phase;
      return true;
    }
    if (!NUM_FINAL.has(f.phase)) return false;
    this.stack.pop(); // the number ended: c belongs to the parent
    return this.feed(c, true);
  }

  feed(c: string, refeed = false): boolean {
    const top = this.stack[this.stack.length - 1];
    const wsAllowed = (c === " " || c === "\n") && this.ws && !this.lastWs;
    const setWs = (b: boolean) => {
      if (!refeed || b) this.lastWs = b;
    };
    switch (top.k) {
      case "root":
        return false;
      case "lit":
        if (c !== top.rest[0]) return false;
        top.rest = top.rest.slice(1);
        if (!top.rest) this.stack.pop();
        setWs(false);
        return true;
      case "num":
        return this.feedNum(c);
      case "str": {
        const code = c.charCodeAt(0);
        if (top.esc === 1) {
          if (top.key && top.allowed) return false;
          if (c === "u") top.esc = 2;
          else if ('"\\/bfnrt'.includes(c)) top.esc = 0;
          else return false;
          return true;
        }
        if (top.esc >= 2) {
          if (!/[0-9a-fA-F]/.test(c)) return false;
          top.esc = top.esc === 5 ? 0 : top.esc + 1;
          return true;
        }
        if (c === '"') {
          if (top.key && top.allowed && !top.allowed.includes(top.text)) return false;
          this.stack.pop();
          if (top.key) {
            const obj = this.stack[this.stack.length - 1] as Extract<Frame, { k: "obj" }>;
            obj.phase = "colon";
            obj.pending = top.text;
          }
          setWs(false);
          return true;
        }
        if (c === "\\") {
          if (top.key && top.allowed) return false; // schema keys are plain text
          top.esc = 1;
          return true;
        }
        if (code < 0x20 || (code >= 0xe000 && code < 0xe480)) return false; // control chars; <loc>/<seg> atoms
        if (top.key) {
          const text = top.text + c;
          if (top.allowed && !top.allowed.some((a) => a.startsWith(text))) return false;
          top.text = text;
        }
        return true;
      }
      case "value":
        if (wsAllowed) return (this.lastWs = true);
        setWs(false);
        return this.startValue(c, top.s);
      case "arr":
        if (wsAllowed) return (this.lastWs = true);
        setWs(false);
        if (top.phase === "comma") {
          if (c === ",") return (top.phase = "value"), true;
          if (c === "]") return this.stack.pop(), true;
          return false;
        }
        if (top.phase === "start" && c === "]") return this.stack.pop(), true;
        top.phase = "comma";
        this.stack.push({ k: "value", s: top.s?.items });
        return this.startValue(c, top.s?.items);
      case "obj": {
        if (wsAllowed) return (this.lastWs = true);
        setWs(false);
        if (top.phase === "colon") {
          if (c !== ":") return false;
          top.seen.push(top.pending!);
          const s = top.s?.properties?.[top.pending!];
          top.pending = undefined;
          top.phase = "comma";
          this.stack.push({ k: "value", s });
          return true;
        }
        if (top.phase === "comma") {
          if (c === "," && this.objectMayContinue(top)) return (top.phase = "key"), true;
          if (c === "}" && this.objectMayClose(top)) return this.stack.pop(), true;
          return false;
        }
        if (top.phase === "start" && c === "}" && this.objectMayClose(top)) return this.stack.pop(), true;
        if (c !== '"') return false;
        const allowed = top.s?.properties && top.s.additionalProperties === false ? this.freeKeys(top) : null;
        if (allowed && !allowed.length) return false;
        top.phase = "inkey";
        this.stack.push({ k: "str", esc: 0, key: true, text: "", allowed });
        return true;
      }
    }
  }
}

export interface JsonGrammarOptions {
  /** Restrict to a schema (e.g. `inferJsonSchema(trainSuffixes)`). */
  schema?: JsonSchema;
  /** Allow single spaces/newlines between tokens. Default true. */
  whitespace?: boolean;
}

/** JSON text (one value, nothing after it), optionally under a schema. */
export function jsonGrammar(options: JsonGrammarOptions = {}): Grammar {
  const ws = options.whitespace ?? true;
  return {
    name: options.schema ? "json-schema" : "json",
    initial: () => new JsonState([{ k: "root" }, { k: "value", s: options.schema }], ws),
  };
}
