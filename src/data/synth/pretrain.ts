/**
 * Pretraining data for a small PaliGemma, deterministic by (seed, index, level): a mixture in PaliGemma's prompt
 * formats whose answers cannot be guessed without the image, each with dense per-patch labels for the vision tower.
 *
 *   ocr                        random strings (random characters, not words), 1 large line → blocks of small lines
 *   caption en                 the shapes left to right: "red circle, blue square"
 *   detect a ; b               `<loc>` boxes of shapes (present and absent classes asked)
 *   detect <text> / <shape>    referring boxes: a word read in the image, or "red star"
 *   answer en …                counts, colours, the n-th word of a text
 *
 * Never the pallet-manifest layout (that is the transfer task). Text is drawn one glyph per cell (any font, cell
 * width known), so every character's centre is known and the patch it falls in gets that character as its label:
 * `patchLabels[p]` is 0 (background), 1..94 (ASCII `!`..`~`), or 95 + shape class. `orderLabels[p]` says WHERE that
 * object comes in the answer: 0 background, k = the k-th character of the whole text in reading order (spaces
 * skipped; capped at {@link ORDER_MAX}), or the k-th shape from the left (the caption's order). `level` ∈ [0, 1] is the
 * curriculum: at 0 one short line of 40 px glyphs, at 1 up to 6 lines of 13–20 px glyphs, rotation and blur;
 * `maxChars` caps each line (a gentler start: `maxChars: 2` makes level 0 single-glyph classification).
 *
 * @example
 * const s = await pretrainSample({ seed: 0, index: 17, level: 0.3 });
 * s.prefix; s.suffix; s.rgb.length === 224 * 224 * 3; s.patchLabels.length === 196
 */
import sharp from "sharp";
import { encodeBoxLocs, formatLocObjects } from "../../codecs/loc.js";
import { Random, escapeXml, hsl, itemSeed } from "./common.js";
import { SHAPE_CLASSES, layout, sceneSvg, type Pt, type Shape } from "./shapes.js";
import { GRID_CELL, GRID_CELLS, gridText, randomGridStyle } from "./grid-text.js";

export type PretrainTask = "ocr" | "caption" | "detect" | "refer" | "vqa";
export const PRETRAIN_TASKS: readonly PretrainTask[] = ["ocr", "caption", "detect", "refer", "vqa"];

/** Per-patch classes: background, the 94 printable non-space ASCII characters, the shape classes. */
export const PATCH_CLASSES = 1 + 94 + SHAPE_CLASSES.length;
const charClass = (ch: string): number => {
  const c = ch.charCodeAt(0);
  return c >= 0x21 && c <= 0x7e ? c - 0x20 : 0;
};

/** Reading-order classes: background, then the 1st..ORDER_MAX-th object (later ones share the last class). */
export const ORDER_MAX = 24;
export const ORDER_CLASSES = 1 + ORDER_MAX;
const orderClass = (k: number): number => Math.min(ORDER_MAX, k + 1);

export interface PretrainOptions {
  seed: number;
  index: number;
  /** Curriculum position in [0, 1]. */
  level: number;
  /** Relative task weights; default ocr 0.5, the others 0.125 each. */
  mixture?: Partial<Record<PretrainTask, number>>;
  /** Characters per text line: uniform in 1..maxChars when set (a cap below the level's own length). */
  maxChars?: number;
  /** The characters text is drawn from (default: one of several alphabets at random; a small one, e.g. the
   *  digits, is the easiest reading task: 10 classes to tell apart instead of 94). Spaces are not allowed. */
  alphabet?: string;
  /** How text is laid out: "free" (default: any size, glyphs span several patches) or "grid" (one glyph per
   *  16 px patch cell, line = patch row; see grid-text.ts). Grid needs size 224 and patch 16. */
  layout?: TextLayoutKind;
  /** Image side (square) and patch size. Default 224 / 16. */
  size?: number;
  patch?: number;
}

export type TextLayoutKind = "free" | "grid";
export const TEXT_LAYOUTS: readonly TextLayoutKind[] = ["free", "grid"];

export interface PretrainSample {
  task: PretrainTask;
  prefix: string;
  suffix: string;
  rgb: Uint8Array; // size·size·3, row-major RGB
  patchLabels: Uint8Array; // (size/patch)², row-major
  orderLabels: Uint8Array; // (size/patch)², row-major: 0 background, k = k-th object of the answer's order
}

const FONTS = ["DejaVu Sans Mono", "DejaVu Sans", "DejaVu Serif", "monospace", "sans-serif", "serif"];
const ALPHABETS = [
  "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789",
  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
];
const COLOURS: [number, string][] = [[15, "red"], [40, "orange"], [65, "yellow"], [160, "green"], [195, "cyan"], [250, "blue"], [290, "purple"], [335, "pink"], [360, "red"]];
const colourName = (s: Shape): string => (s.hue === undefined ? "white" : COLOURS.find(([h]) => s.hue! <= h)![1]);
const shapeName = (s: Shape): string => SHAPE_CLASSES[s.cls]!;
const DEFAULT_MIX: Record<PretrainTask, number> = { ocr: 0.5, caption: 0.125, detect: 0.125, refer: 0.125, vqa: 0.125 };

/** A random word: 1–8 characters of one alphabet (no dictionary: the decoder cannot guess it). */
function randomWord(rng: Random, alphabet: string, maxLen: number): string {
  const n = rng.int(1, Math.max(1, maxLen));
  return Array.from({ length: n }, () => alphabet[rng.int(0, alphabet.length - 1)]).join("");
}

interface TextLayout {
  lines: string[];
  svg: string;
  /** Per character (spaces excluded): its centre and cell box in image pixels, and line/word indices. */
  glyphs: { ch: string; cx: number; cy: number; box: [number, number, number, number]; word: number }[];
  words: { text: string; box: [number, number, number, number] }[];
}

/** Lines of random words drawn glyph by glyph on a random background; the level sets size, count and length. */
function textScene(rng: Random, size: number, level: number, maxChars?: number, only?: string): TextLayout {
  const lv = Math.min(1, Math.max(0, level * rng.uniform(0.5, 1.2)));
  const fontSize = Math.round(40 - lv * 27 + rng.uniform(-2, 2)); // 40 px → 13 px
  const cell = fontSize * rng.uniform(0.62, 0.72);
  const lineH = fontSize * rng.uniform(1.2, 1.5);
  const perLine = Math.max(2, Math.floor((size - 12) / cell));
  const maxLines = Math.max(1, Math.min(Math.floor((size - 12) / lineH), 1 + Math.round(lv * 5)));
  const nLines = rng.int(1, maxLines);
  const picked = rng.pick(ALPHABETS); // drawn even when `only` is given: the rest of the stream stays the same
  const alphabet = only ?? picked;
  const lines: string[] = [];
  for (let l = 0; l < nLines; l++) {
    const target = maxChars === undefined ? rng.int(Math.min(3, perLine), Math.min(perLine, 4 + Math.round(lv * perLine)))
      : rng.int(1, Math.max(1, Math.min(perLine, maxChars)));
    let line = randomWord(rng, alphabet, 8);
    while (line.length < target) line += ` ${randomWord(rng, alphabet, 8)}`;
    lines.push(line.slice(0, target).trimEnd());
  }
  const widest = Math.max(...lines.map((l) => l.length)) * cell;
  const x0 = rng.uniform(4, Math.max(5, size - widest - 4));
  const y0 = rng.uniform(4, Math.max(5, size - nLines * lineH - 4));
  const font = rng.pick(FONTS);
  const weight = rng.chance(0.3) ? "bold" : "normal";
  const style = rng.chance(0.2) ? "italic" : "normal";
  const bgHue = rng.uniform(0, 360);
  const darkText = rng.chance(0.8);
  const bg = hsl(bgHue, rng.uniform(0, 0.4), darkText ? rng.uniform(0.7, 0.97) : rng.uniform(0.05, 0.3));
  const fg = hsl(rng.uniform(0, 360), rng.uniform(0, 0.6), darkText ? rng.uniform(0, 0.3) : rng.uniform(0.75, 1));
  const glyphs: TextLayout["glyphs"] = [];
  const words: TextLayout["words"] = [];
  const parts: string[] = [];
  lines.forEach((line, l) => {
    const baseline = y0 + l * lineH + fontSize * 0.95;
    const cy = baseline - fontSize * 0.36;
    let start = -1;
    for (let i = 0; i <= line.length; i++) {
      const ch = line[i];
      const cx = x0 + (i + 0.5) * cell;
      if (ch !== undefined && ch !== " ") {
        if (start < 0) start = i;
        const box: [number, number, number, number] = [cx - cell / 2, baseline - fontSize * 0.8, cx + cell / 2, baseline + fontSize * 0.1];
        glyphs.push({ ch, cx, cy, box, word: words.length });
        parts.push(`<text x="${cx.toFixed(1)}" y="${baseline.toFixed(1)}">${escapeXml(ch)}</text>`);
      } else if (start >= 0) {
        words.push({ text: line.slice(start, i), box: [x0 + start * cell, baseline - fontSize * 0.8, x0 + i * cell, baseline + fontSize * 0.1] });
        start = -1;
      }
    }
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="${size}" height="${size}" fill="${bg}"/>` +
    `<g font-family="${font}" font-size="${fontSize}" font-weight="${weight}" font-style="${style}" fill="${fg}" text-anchor="middle">${parts.join("")}</g></svg>`;
  return { lines, svg, glyphs, words };
}

/**
 * Grid text (one glyph per patch cell): 1 line at level 0, up to 8 at level 1, on consecutive or every other
 * patch row; each line up to `maxChars` (default 3 at level 0 → 14 cells at level 1) characters of random words.
 */
function gridScene(rng: Random, size: number, level: number, maxChars?: number, only?: string): TextLayout {
  const lv = Math.min(1, Math.max(0, level * rng.uniform(0.5, 1.2)));
  const picked = rng.pick(ALPHABETS);
  const alphabet = only ?? picked;
  const rowStep = rng.chance(0.3) ? 2 : 1;
  const nLines = rng.int(1, Math.min(Math.floor((GRID_CELLS - 1) / rowStep) + 1, 1 + Math.round(lv * 7)));
  const cap = Math.min(GRID_CELLS, maxChars ?? 3 + Math.round(lv * 11));
  const lines: string[] = [];
  for (let l = 0; l < nLines; l++) {
    const target = rng.int(1, cap);
    let line = randomWord(rng, alphabet, 8);
    while (line.length < target) line += ` ${randomWord(rng, alphabet, 8)}`;
    lines.push(line.slice(0, target).trimEnd());
  }
  const widest = Math.max(...lines.map((l) => l.length));
  const col0 = rng.int(0, GRID_CELLS - widest);
  const row0 = rng.int(0, GRID_CELLS - 1 - (nLines - 1) * rowStep);
  const darkText = rng.chance(0.8);
  const bg = hsl(rng.uniform(0, 360), rng.uniform(0, 0.4), darkText ? rng.uniform(0.7, 0.97) : rng.uniform(0.05, 0.3));
  const g = gridText(lines, { style: randomGridStyle(rng, darkText), row0, col0, rowStep }, rng);
  const cellBox = (row: number, c0: number, c1: number): [number, number, number, number] =>
    [c0 * GRID_CELL, row * GRID_CELL, (c1 + 1) * GRID_CELL, (row + 1) * GRID_CELL];
  const glyphs: TextLayout["glyphs"] = g.glyphs.map((x) => ({ ch: x.ch, cx: x.cx, cy: x.cy, box: cellBox(x.row, x.col, x.col),
    word: g.words.findIndex((w) => w.row === x.row && w.col0 <= x.col && x.col <= w.col1) }));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="${size}" height="${size}" fill="${bg}"/>${g.svg}</svg>`;
  return { lines, svg, glyphs, words: g.words.map((w) => ({ text: w.text, box: cellBox(w.row, w.col0, w.col1) })) };
}

const inside = (p: Pt, poly: Pt[]): boolean => {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
};
const polyBox = (pts: Pt[]): [number, number, number, number] =>
  [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))];
type Turn = (p: Pt) => Pt;
/** A `<loc>` object for an axis-aligned box after the photo's rotation (the extent of its turned corners). */
const locObject = (box: [number, number, number, number], label: string, size: number, turn: Turn) => {
  const [x0, y0, x1, y1] = box;
  const b = polyBox([[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map((p) => turn(p as Pt)));
  return { locs: encodeBoxLocs(b.map((v) => Math.min(size, Math.max(0, v))), { imageWidth: size, imageHeight: size }), label };
};
const joinAnd = (xs: string[]): string => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}`);

/** The prompt and answer for `task` about a shapes scene (shapes sorted left to right). */
function shapesPrompt(rng: Random, task: PretrainTask, shapes: Shape[], size: number, turn: Turn): [string, string] {
  const named = shapes.map((s) => ({ s, name: `${colourName(s)} ${shapeName(s)}` }));
  if (task === "caption") return ["caption en", named.length === 0 ? "nothing" : joinAnd(named.map((n) => n.name))];
  if (task === "detect") {
    const asked = SHAPE_CLASSES.filter((_, c) => shapes.some((s) => s.cls === c) || rng.chance(0.3));
    const classes = asked.length > 0 ? asked : [rng.pick(SHAPE_CLASSES)];
    const objs = shapes.filter((s) => classes.includes(shapeName(s) as never)).map((s) => locObject(polyBox(s.points), shapeName(s), size, turn));
    return [`detect ${classes.join(" ; ")}`, formatLocObjects(objs)];
  }
  if (task === "refer" && named.length > 0) {
    const t = rng.pick(named);
    const same = named.filter((n) => n.name === t.name);
    return [`detect ${t.name}`, formatLocObjects(same.map((n) => locObject(polyBox(n.s.points), t.name, size, turn)))];
  }
  const cls = rng.pick(SHAPE_CLASSES);
  const of = named.filter((n) => shapeName(n.s) === cls);
  if (of.length === 1 && rng.chance(0.5)) return [`answer en what color is the ${cls}?`, colourName(of[0]!.s)];
  return [`answer en how many ${cls}s are there?`, String(of.length)];
}

/** The prompt and answer for `task` about a text scene. */
function textPrompt(rng: Random, task: PretrainTask, t: TextLayout, size: number, turn: Turn): [string, string] {
  if (task === "refer" && t.words.length > 0) {
    const w = rng.pick(t.words);
    const same = t.words.filter((x) => x.text === w.text && !/[;<>]/.test(x.text));
    if (same.length > 0) return [`detect ${w.text}`, formatLocObjects(same.map((x) => locObject(x.box, x.text, size, turn)))];
  }
  if (task === "vqa" && t.words.length > 0) {
    const n = rng.int(1, Math.min(3, t.words.length));
    return [`answer en what is word ${n}?`, t.words[n - 1]!.text];
  }
  return ["ocr", t.lines.join("\n")];
}

/**
 * One sample. Text tasks (ocr, and refer/vqa on text half the time) draw a text scene; the others a shapes
 * scene. Photo effects: a small rotation (labels follow it), sensor noise, blur, contrast.
 */
export async function pretrainSample(options: PretrainOptions): Promise<PretrainSample> {
  const size = options.size ?? 224;
  const patch = options.patch ?? 16;
  const grid = size / patch;
  if (!Number.isInteger(grid)) throw new RangeError(`size ${size} must be a multiple of patch ${patch}`);
  if (options.alphabet !== undefined && !/^[!-~]+$/.test(options.alphabet)) {
    throw new RangeError(`alphabet: got ${JSON.stringify(options.alphabet)}; use printable ASCII characters without spaces, e.g. "0123456789"`);
  }
  const textLayout = options.layout ?? "free";
  if (!TEXT_LAYOUTS.includes(textLayout)) throw new RangeError(`layout: got ${JSON.stringify(textLayout)}; use one of ${TEXT_LAYOUTS.join(", ")}`);
  if (textLayout === "grid" && (size !== GRID_CELL * GRID_CELLS || patch !== GRID_CELL)) {
    throw new RangeError(`layout "grid": needs size ${GRID_CELL * GRID_CELLS} and patch ${GRID_CELL}; got size ${size}, patch ${patch}`);
  }
  const level = Math.min(1, Math.max(0, options.level));
  const rng = new Random(itemSeed(options.seed, "pretrain", options.index));
  const mix = { ...DEFAULT_MIX, ...(options.mixture ?? {}) };
  const total = PRETRAIN_TASKS.reduce((a, k) => a + mix[k], 0);
  let u = rng.uniform(0, total);
  const task = PRETRAIN_TASKS.find((k) => (u -= mix[k]) < 0) ?? "ocr";
  const textual = task === "ocr" || ((task === "refer" || task === "vqa") && rng.chance(0.5));

  // grid text keeps its grid: no rotation (its photo effects are noise, blur and the glyph jitter)
  const angle = rng.chance(0.6 * level) && !(textual && textLayout === "grid") ? rng.uniform(-4, 4) * level : 0;
  const rad = (angle * Math.PI) / 180;
  const turn: Turn = ([x, y]) => {
    const [dx, dy] = [x - size / 2, y - size / 2];
    return [size / 2 + dx * Math.cos(rad) - dy * Math.sin(rad), size / 2 + dx * Math.sin(rad) + dy * Math.cos(rad)];
  };
  let svg: string;
  let prefix: string;
  let suffix: string;
  const marks: { x: number; y: number; cls: number; order: number }[] = []; // points that label their patch
  let shapes: Shape[] = [];
  if (textual) {
    const t = textLayout === "grid" ? gridScene(rng, size, level, options.maxChars, options.alphabet)
      : textScene(rng, size, level, options.maxChars, options.alphabet);
    svg = t.svg;
    [prefix, suffix] = textPrompt(rng, task, t, size, turn);
    t.glyphs.forEach((g, k) => marks.push({ x: g.cx, y: g.cy, cls: charClass(g.ch), order: orderClass(k) }));
  } else {
    shapes = layout(rng, size, size, rng.int(task === "refer" ? 1 : 0, 4)).sort((a, b) => polyBox(a.points)[0] - polyBox(b.points)[0]);
    svg = sceneSvg(rng, size, size, shapes);
    [prefix, suffix] = shapesPrompt(rng, task, shapes, size, turn);
  }
  // photo effects: rotation about the centre (boxes and patch labels follow it), noise, blur
  if (angle !== 0) {
    svg = svg.replace(/^(<svg[^>]*>)(<rect[^>]*\/>)?([\s\S]*)<\/svg>$/, (_, open: string, bg: string | undefined, body: string) =>
      `${open}${bg ?? ""}<g transform="rotate(${angle.toFixed(2)} ${size / 2} ${size / 2})">${body}</g></svg>`);
  }
  const sigma = rng.uniform(0, 4 + 8 * level);
  const noise = Buffer.alloc(size * size * 3);
  for (let i = 0; i < noise.length; i += 3) noise[i] = noise[i + 1] = noise[i + 2] = Math.max(0, Math.min(255, Math.round(128 + sigma * 3.46 * (rng.next() - 0.5) * 2)));
  let img = sharp(Buffer.from(svg)).composite([{ input: noise, raw: { width: size, height: size, channels: 3 }, blend: "overlay" }]).removeAlpha();
  const blur = rng.uniform(0, (textual && textLayout === "grid" ? 0.6 : 1.2) * level);
  if (blur >= 0.3) img = sharp(await img.raw().toBuffer(), { raw: { width: size, height: size, channels: 3 } }).blur(blur);
  const rgb = new Uint8Array(await img.raw().toBuffer());

  const patchLabels = new Uint8Array(grid * grid);
  const orderLabels = new Uint8Array(grid * grid);
  for (const m of marks) {
    const [x, y] = turn([m.x, m.y]);
    const [px, py] = [Math.floor(x / patch), Math.floor(y / patch)];
    if (px >= 0 && px < grid && py >= 0 && py < grid) [patchLabels[py * grid + px], orderLabels[py * grid + px]] = [m.cls, m.order];
  }
  shapes.forEach((s, k) => { // left to right: the caption's order
    const poly = s.points.map(turn);
    for (let p = 0; p < grid * grid; p++) {
      const c: Pt = [((p % grid) + 0.5) * patch, (Math.floor(p / grid) + 0.5) * patch];
      if (inside(c, poly)) [patchLabels[p], orderLabels[p]] = [95 + s.cls, orderClass(k)];
    }
  });
  return { task, prefix, suffix, rgb, patchLabels, orderLabels };
}
