/**
 * `--config FILE.json|.yaml` for `train`: the same fields as the flags, as data. JSON always works; YAML is read by
 * a small built-in reader for the subset configs need (nested maps by indentation, `- item` and `[a, b]` lists,
 * numbers, booleans, null, quoted strings, `#` comments) so no YAML dependency is added. Anything else (anchors,
 * multi-line strings, flow maps) is an error naming the line.
 *
 *     # train.yaml
 *     model: nano
 *     strategy: lora
 *     trainingArguments: { ... }   ← not supported (flow map); write it as a block:
 *     trainingArguments:
 *       learningRate: 0.002
 *       maxSteps: 40
 *     lora:
 *       r: 8
 *       targetModules: [q_proj, v_proj]
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";

export interface TrainConfigFile {
  model?: string;
  strategy?: string;
  numBeams?: number;
  task?: string;
  trainingArguments?: Record<string, unknown>;
  lora?: Record<string, unknown>;
}

const TOP_KEYS = ["model", "strategy", "numBeams", "task", "trainingArguments", "lora"];

function scalar(s: string, where: string): unknown {
  const t = s.trim();
  if (t === "" || t === "~" || t === "null") return null;
  if (t === "true") return true;
  if (t === "false") return false;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.startsWith('"') ? JSON.parse(t) : t.slice(1, -1);
  if (t.startsWith("[")) {
    if (!t.endsWith("]")) throw new Error(`${where}: unterminated list ${t}`);
    const body = t.slice(1, -1).trim();
    return body === "" ? [] : body.split(",").map((x) => scalar(x, where));
  }
  if (t.startsWith("{") || t.startsWith("&") || t.startsWith("*") || t.startsWith("|") || t.startsWith(">")) {
    throw new Error(`${where}: ${t[0]} (flow maps, anchors, block strings) is not supported here; write nested keys on their own lines, or use JSON`);
  }
  return t;
}

/** Parse the YAML subset described above. */
export function parseYamlSubset(text: string, file = "config.yaml"): unknown {
  const lines = text.split(/\r?\n/).map((raw, i) => ({ raw: raw.replace(/\s+#.*$/, "").replace(/^#.*$/, ""), n: i + 1 })).filter((l) => l.raw.trim() !== "" && l.raw.trim() !== "---");
  let pos = 0;
  const indentOf = (s: string) => s.length - s.trimStart().length;
  function block(indent: number): unknown {
    const first = lines[pos];
    if (!first) return null;
    if (first.raw.trimStart().startsWith("- ") || first.raw.trim() === "-") {
      const list: unknown[] = [];
      while (pos < lines.length && indentOf(lines[pos]!.raw) === indent && lines[pos]!.raw.trimStart().startsWith("-")) {
        const l = lines[pos++]!;
        list.push(scalar(l.raw.trimStart().slice(1), `${file}:${l.n}`));
      }
      return list;
    }
    const map: Record<string, unknown> = {};
    while (pos < lines.length) {
      const l = lines[pos]!;
      const ind = indentOf(l.raw);
      if (ind < indent) break;
      if (ind > indent) throw new Error(`${file}:${l.n}: unexpected indentation`);
      const m = /^\s*([A-Za-z_][\w.-]*)\s*:(.*)$/.exec(l.raw);
      if (!m) throw new Error(`${file}:${l.n}: expected "key: value"; got ${JSON.stringify(l.raw.trim())}`);
      pos++;
      const rest = m[2]!.trim();
      if (rest !== "") map[m[1]!] = scalar(rest, `${file}:${l.n}`);
      else if (pos < lines.length && indentOf(lines[pos]!.raw) > ind) map[m[1]!] = block(indentOf(lines[pos]!.raw));
      else if (pos < lines.length && indentOf(lines[pos]!.raw) === ind && lines[pos]!.raw.trimStart().startsWith("-")) map[m[1]!] = block(ind);
      else map[m[1]!] = null;
    }
    return map;
  }
  const out = block(0);
  if (pos < lines.length) throw new Error(`${file}:${lines[pos]!.n}: unexpected indentation`);
  return out;
}

/** Read and shape-check a train config file; errors name the file and the key. */
export async function readTrainConfig(path: string): Promise<TrainConfigFile> {
  const text = await readFile(path, "utf-8").catch((e: Error) => {
    throw new Error(`--config ${path}: cannot be read (${e.message})`);
  });
  const ext = extname(path).toLowerCase();
  let data: unknown;
  try {
    data = ext === ".yaml" || ext === ".yml" ? parseYamlSubset(text, path) : JSON.parse(text);
  } catch (e) {
    throw new Error(`--config ${path}: ${(e as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new Error(`--config ${path}: expected a map of ${TOP_KEYS.join(", ")}`);
  for (const k of Object.keys(data)) {
    if (!TOP_KEYS.includes(k)) throw new Error(`--config ${path}: unknown key "${k}"; use ${TOP_KEYS.join(", ")} (TrainingArguments fields go under trainingArguments, LoraConfig fields under lora)`);
  }
  const d = data as TrainConfigFile;
  for (const k of ["trainingArguments", "lora"] as const) {
    if (d[k] !== undefined && (typeof d[k] !== "object" || d[k] === null || Array.isArray(d[k]))) throw new Error(`--config ${path}: ${k} must be a map of fields`);
  }
  return d;
}
