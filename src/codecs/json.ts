/**
 * A total JSON parser for model output that keeps what `JSON.parse` loses and the Python references rely on:
 * key order with Python `dict` semantics (a duplicate key keeps its first position and takes the last value;
 * JS objects would move integer-like keys first) and whether a number was written as an int or a float (Python's
 * `str(2)` is "2", `str(2.0)` is "2.0"). Grammar: RFC 8259, as Python's `json.loads(s)` with NaN/Infinity
 * rejected. Never throws on text: unparsable input gives `{ ok: false, error, at }`.
 *
 * @example
 *   parseJson('{"b": 1, "2": [2.0, "x"]}')  // ok; entries in order b, 2; 2.0 keeps isInt false
 *   parseJson('{"a": ')                       // { ok: false, error: "unexpected end of input", at: 6 }
 */

export type JsonValue =
  | { kind: "null" }
  | { kind: "bool"; value: boolean }
  | { kind: "number"; value: number; isInt: boolean; text: string }
  | { kind: "string"; value: string }
  | { kind: "array"; items: JsonValue[] }
  | { kind: "object"; entries: [string, JsonValue][] };

export type JsonParse = { ok: true; value: JsonValue } | { ok: false; error: string; at: number };

const WS = new Set([" ", "\t", "\n", "\r"]);

class Fail {
  constructor(readonly error: string, readonly at: number) {}
}

/** Parse `text` (surrounding JSON whitespace allowed). Deeply nested input (> 512 levels) is reported, not thrown. */
export function parseJson(text: string): JsonParse {
  if (typeof text !== "string") return { ok: false, error: "not a string", at: 0 };
  let i = 0;
  const fail = (msg: string): never => {
    throw new Fail(i >= text.length ? "unexpected end of input" : msg, i);
  };
  const ws = () => {
    while (i < text.length && WS.has(text[i])) i++;
  };
  const value = (depth: number): JsonValue => {
    if (depth > 512) fail("nesting deeper than 512");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: [string, JsonValue][] = [];
      const index = new Map<string, number>();
      ws();
      if (text[i] === "}") {
        i++;
        return { kind: "object", entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a string key at ${i}`);
        const key = string();
        ws();
        if (text[i] !== ":") fail(`expected ':' at ${i}`);
        i++;
        const v = value(depth + 1);
        const at = index.get(key);
        if (at === undefined) {
          index.set(key, entries.length);
          entries.push([key, v]);
        } else entries[at] = [key, v];
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { kind: "object", entries };
        }
        fail(`expected ',' or '}' at ${i}`);
      }
    }
    if (c === "[") {
      i++;
      const items: JsonValue[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { kind: "array", items };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return { kind: "array", items };
        }
        fail(`expected ',' or ']' at ${i}`);
      }
    }
    if (c === '"') return { kind: "string", value: string() };
    if (text.startsWith("true", i)) return (i += 4), { kind: "bool", value: true };
    if (text.startsWith("false", i)) return (i += 5), { kind: "bool", value: false };
    if (text.startsWith("null", i)) return (i += 4), { kind: "null" };
    return number();
  };
  const number = (): JsonValue => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === "" || m[0] === "-") fail(`unexpected character ${JSON.stringify(text[i])} at ${i}`);
    i += m![0].length;
    const isInt = m![2] === undefined && m![3] === undefined;
    const v = Number(m![0]);
    return { kind: "number", value: v, isInt, text: m![0] };
  };
  const string = (): string => {
    i++; // opening quote
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const ch = text[i];
      if (ch === '"') {
        i++;
        return out;
      }
      if (ch === "\\") {
        const e = text[i + 1];
        const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e !== undefined && e in simple) {
          out += simple[e];
          i += 2;
        } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else fail(`invalid escape at ${i}`);
        continue;
      }
      if (ch.charCodeAt(0) < 0x20) fail(`control character in string at ${i}`);
      out += ch;
      i++;
    }
  };
  try {
    const v = value(0);
    ws();
    if (i < text.length) fail(`extra data at ${i}`);
    return { ok: true, value: v };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, error: e.error, at: e.at };
    if (e instanceof RangeError) return { ok: false, error: "input too deeply nested", at: i };
    throw e;
  }
}

/** Python's `str(x)` of a parsed scalar: ints as written, floats as Python's repr, True/False/None. */
export function pythonStr(v: JsonValue): string {
  switch (v.kind) {
    case "null":
      return "None";
    case "bool":
      return v.value ? "True" : "False";
    case "string":
      return v.value;
    case "number":
      return v.isInt ? pythonIntText(v.text) : pythonFloatRepr(v.value);
    default:
      return JSON.stringify(toPlain(v));
  }
}

function pythonIntText(text: string): string {
  return text === "-0" ? "0" : text;
}

/** Python `repr(float)`: shortest round-trip digits; scientific when the exponent is < −4 or ≥ 16. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expText] = x.toExponential().split("e"); // shortest digits, like repr
  const exp = Number(expText);
  const neg = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : `${Math.abs(exp)}`;
    return `${neg ? "-" : ""}${m}e${exp < 0 ? "-" : "+"}${e}`;
  }
  let s: string;
  if (exp < 0) s = `0.${"0".repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) s = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
  else s = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return (neg ? "-" : "") + s;
}

/** Plain JS value (objects lose the int/float distinction and Python key order; for display). */
export function toPlain(v: JsonValue): unknown {
  switch (v.kind) {
    case "null":
      return null;
    case "bool":
    case "number":
    case "string":
      return v.value;
    case "array":
      return v.items.map(toPlain);
    case "object":
      return Object.fromEntries(v.entries.map(([k, x]) => [k, toPlain(x)]));
  }
}
