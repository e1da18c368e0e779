/**
 * The PaliGemma `<loc>` codec: boxes ⇄ `<locNNNN>` tokens, and a total, tokenizer-free parser of generated text.
 *
 * Conventions (decided once, here):
 * - 1024 bins, token text `<loc0000>`..`<loc1023>` (4 digits, zero-padded), order **y1 x1 y2 x2**.
 * - Encoding: normalise by the image size, then `clamp(round(v · 1023), 0, 1023)`: exactly big_vision's
 *   `binned_loc = clip(round(bbox * 1023), 0, 1023)` (big_vision/pp/proj/paligemma/segmentation.py,
 *   `refcoco_mask2str`). `round` is `tf.round` there, which rounds halves to even (as Python's `round` and
 *   `np.round` do), so ties go to the even bin here too (`roundHalfEven`), not up as `Math.round` would.
 * - Decoding: `bin / 1023 · size`, the exact inverse of that encoding, so a box survives encode → decode up to
 *   rounding (≤ size / 2046 px per edge) and 0 and 1023 map back to the image edges 0 and size. The HF Space
 *   demo and supervision's `from_paligemma` divide by 1024 instead; the difference is < 0.1 % of the image side.
 * - Objects are joined by `" ; "`; each object is `<loc>×4 label` (one space before the label) or, for
 *   segmentation, `<loc>×4<seg>×16 label`.
 * - Detection prompts: `detect a ; b` (`detectionPrefix`).
 *
 * Source anchors: big_vision (encoding), supervision `detection/vlm.py::from_paligemma` (parsing rules: exactly
 * four contiguous `<loc>` tokens, a label after them).
 *
 * @example
 * const locs = encodeBoxLocs([10, 20, 110, 220], { imageWidth: 640, imageHeight: 480 }); // [y1, x1, y2, x2]
 * const text = formatLocObject({ locs, label: "cat" }); // "<loc0043><loc0016><loc0469><loc0176> cat"
 * parseLocText(text); // [{ locs: [43, 16, 469, 176], segs: [], label: "cat" }]
 */

/** Number of `<loc>` bins (token ids `<loc0000>`..`<loc1023>`). */
export const LOC_BINS = 1024;
/** Largest bin index; the encoding scale (`round(v · LOC_MAX)`, big_vision). */
export const LOC_MAX = LOC_BINS - 1;
/** Separator between objects in a suffix and between class names in a `detect` prompt. */
export const OBJECT_SEPARATOR = " ; ";

/** Pixel size of the image a box lives in. */
export interface ImageSize {
  imageWidth: number;
  imageHeight: number;
}

/** `[y1, x1, y2, x2]` bins, each 0..1023 (the token order). */
export type LocBox = [number, number, number, number];

/** One object as written in a suffix / parsed from text: four loc bins, optional seg codes, a label. */
export interface LocObject {
  /** `[y1, x1, y2, x2]` bins (token order). */
  locs: LocBox;
  /** `<segNNN>` codes that followed the four locs (empty for detection; 16 for PaliGemma segmentation). */
  segs: number[];
  /** The label text, trimmed, inner whitespace runs collapsed to one space. */
  label: string;
}

/** Throws a RangeError unless `size` has positive finite width and height. */
export function checkImageSize(size: ImageSize, what = "image size"): void {
  const { imageWidth: w, imageHeight: h } = size ?? ({} as ImageSize);
  if (!(Number.isFinite(w) && w > 0) || !(Number.isFinite(h) && h > 0)) {
    throw new RangeError(`${what}: imageWidth and imageHeight must be positive numbers; got ${w} × ${h}`);
  }
}

/** Rounds to the nearest integer, halves to even (`tf.round`, `np.round`, Python `round`). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One coordinate in pixels → its bin: `clamp(round(v / size · 1023), 0, 1023)`. Non-finite values throw. */
export function encodeLocValue(value: number, size: number): number {
  if (!Number.isFinite(value)) throw new RangeError(`loc value must be a finite number; got ${value}`);
  if (!(Number.isFinite(size) && size > 0)) throw new RangeError(`loc size must be a positive number; got ${size}`);
  const bin = roundHalfEven((value / size) * LOC_MAX); // big_vision: tf.round(bbox * 1023), halves to even
  return Math.min(LOC_MAX, Math.max(0, bin)); // big_vision: clip(..., 0, 1023)
}

/** A bin → pixels: `bin / 1023 · size` (the inverse of `encodeLocValue`). */
export function decodeLocValue(bin: number, size: number): number {
  return (bin / LOC_MAX) * size;
}

/**
 * A pixel box `[x1, y1, x2, y2]` → loc bins in token order `[y1, x1, y2, x2]`.
 *
 * @example encodeBoxLocs([0, 0, 640, 480], { imageWidth: 640, imageHeight: 480 }) // [0, 0, 1023, 1023]
 */
export function encodeBoxLocs(xyxy: ArrayLike<number>, size: ImageSize): LocBox {
  checkImageSize(size);
  const [x1, y1, x2, y2] = [xyxy[0], xyxy[1], xyxy[2], xyxy[3]];
  const { imageWidth: w, imageHeight: h } = size;
  return [encodeLocValue(y1, h), encodeLocValue(x1, w), encodeLocValue(y2, h), encodeLocValue(x2, w)];
}

/**
 * Loc bins `[y1, x1, y2, x2]` → a pixel box `[x1, y1, x2, y2]` (divides by 1023, see the file header).
 *
 * @example decodeBoxLocs([0, 0, 1023, 1023], { imageWidth: 640, imageHeight: 480 }) // [0, 0, 640, 480]
 */
export function decodeBoxLocs(locs: ArrayLike<number>, size: ImageSize): [number, number, number, number] {
  checkImageSize(size);
  const { imageWidth: w, imageHeight: h } = size;
  return [decodeLocValue(locs[1], w), decodeLocValue(locs[0], h), decodeLocValue(locs[3], w), decodeLocValue(locs[2], h)];
}

/** `<loc0042>` for bin 42. Throws unless `bin` is an integer in 0..1023. */
export function locToken(bin: number): string {
  if (!Number.isInteger(bin) || bin < 0 || bin > LOC_MAX) throw new RangeError(`loc bin must be an integer in 0..${LOC_MAX}; got ${bin}`);
  return `<loc${String(bin).padStart(4, "0")}>`;
}

/** `<seg007>` for code 7. Throws unless `code` is an integer in 0..127. */
export function segToken(code: number): string {
  if (!Number.isInteger(code) || code < 0 || code > 127) throw new RangeError(`seg code must be an integer in 0..127; got ${code}`);
  return `<seg${String(code).padStart(3, "0")}>`;
}

/** Normalises a label for writing/parsing: trimmed, whitespace runs → one space. */
export function normalizeLabel(label: string): string {
  return label.replace(/\s+/g, " ").trim();
}

/**
 * One object as suffix text: `<loc>×4[<seg>×n] label`. Labels must not contain `;`, `<`, `>` or newlines (they
 * would not parse back); such labels throw.
 */
export function formatLocObject(obj: { locs: ArrayLike<number>; segs?: readonly number[]; label: string }): string {
  const label = normalizeLabel(obj.label);
  if (label === "" || /[;<>\n\r]/.test(obj.label)) {
    throw new RangeError(`label ${JSON.stringify(obj.label)}: must be non-empty and contain no ';', '<', '>' or newline`);
  }
  if (obj.locs.length !== 4) throw new RangeError(`locs: expected 4 bins [y1, x1, y2, x2]; got ${obj.locs.length}`);
  const locs = Array.from(obj.locs, locToken).join("");
  const segs = (obj.segs ?? []).map(segToken).join("");
  return `${locs}${segs} ${label}`;
}

/** Objects → a suffix: each `formatLocObject`, joined by `" ; "`; no objects → `""`. */
export function formatLocObjects(objects: readonly { locs: ArrayLike<number>; segs?: readonly number[]; label: string }[]): string {
  return objects.map(formatLocObject).join(OBJECT_SEPARATOR);
}

/**
 * The detection prompt for a list of class names: `detect a ; b`. The order is the caller's (converters pass the
 * dataset's declared class order, so every line of a dataset gets the same prompt).
 */
export function detectionPrefix(classNames: readonly string[]): string {
  const names = classNames.map((c) => {
    const n = normalizeLabel(c);
    if (n === "" || /[;<>\n\r]/.test(c)) throw new RangeError(`class name ${JSON.stringify(c)}: must be non-empty and contain no ';', '<', '>' or newline`);
    return n;
  });
  return `detect ${names.join(OBJECT_SEPARATOR)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Total parser

/**
 * Gemma's control tokens that can appear in decoded text (`<eos>`, `<pad>`, turn markers, unused slots): they end
 * the current object. Only these: any other `<…>` (an HTML-looking `</script>`, `<b>`) is label text, so a label
 * that contains one is kept whole rather than cut or dropped.
 */
const CONTROL_TOKEN = String.raw`<(?:eos|bos|pad|unk|mask|image|start_of_turn|end_of_turn|start_of_image|end_of_image|unused\d{1,3}|2mass)>`;

/** Tokens the parser distinguishes; anything else is label text. */
const TOKEN_RE = new RegExp(String.raw`<loc(\d{4})>|<seg(\d{3})>|(;|\r?\n)|(${CONTROL_TOKEN})`, "g");

/**
 * Parses generated text into objects, never throwing (non-strings give `[]`).
 *
 * Rules (a small state machine over the text):
 * - an object starts with a run of **exactly four** contiguous `<locNNNN>` tokens with values ≤ 1023; shorter or
 *   longer runs ("partial loc runs") and out-of-range bins drop the object;
 * - `<segNNN>` tokens right after the four locs are collected into `segs` (any count; a segmentation parser
 *   should require 16);
 * - the label is the text after them up to `;`, a newline, the next `<loc>`, or a Gemma control token
 *   (`<eos>`, `<pad>`, `<end_of_turn>`…, otherwise ignored); any other `<…>` text (`</script>`) belongs to the
 *   label; it is trimmed and whitespace-collapsed and must be non-empty, else the object is dropped;
 * - text before the first loc run or between objects is ignored.
 *
 * @example
 * parseLocText("<loc0100><loc0200><loc0300><loc0400> hard-hat ; <loc0001><loc0002> x<eos>")
 * // → [{ locs: [100, 200, 300, 400], segs: [], label: "hard-hat" }]   (the 2-loc run is rejected)
 */
export function parseLocText(text: unknown): LocObject[] {
  if (typeof text !== "string") return [];
  const out: LocObject[] = [];
  let locs: number[] = [];
  let segs: number[] = [];
  let label = "";
  let state: "idle" | "locs" | "segs" | "label" = "idle";
  let valid = true;

  const finish = (): void => {
    if (state !== "idle" && valid && locs.length === 4) {
      const l = normalizeLabel(label);
      if (l !== "") out.push({ locs: [locs[0], locs[1], locs[2], locs[3]], segs, label: l });
    }
    locs = [];
    segs = [];
    label = "";
    valid = true;
    state = "idle";
  };
  const addText = (s: string): void => {
    if (state === "idle" || s === "") return; // garbage outside objects
    state = "label";
    label += s;
  };

  let last = 0;
  TOKEN_RE.lastIndex = 0;
  for (let m = TOKEN_RE.exec(text); m !== null; m = TOKEN_RE.exec(text)) {
    addText(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      const bin = Number(m[1]);
      if (state !== "locs") {
        finish();
        state = "locs";
      }
      locs.push(bin);
      if (bin > LOC_MAX) valid = false;
    } else if (m[2] !== undefined) {
      if ((state === "locs" && locs.length === 4) || state === "segs") {
        state = "segs";
        segs.push(Number(m[2]));
        if (Number(m[2]) > 127) valid = false;
      } else if (state === "locs") {
        valid = false; // segs after a partial loc run
      } else {
        finish(); // a seg after a label ends that object; stray segs are ignored
      }
    } else {
      finish(); // separator or any other special token ends the object
    }
  }
  addText(text.slice(last));
  finish();
  return out;
}
