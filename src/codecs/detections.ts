/**
 * `Detections`: a validated set of N boxes in pixels with class ids/names and optional confidences and masks,
 * after roboflow/supervision `detection/core.py` (`Detections`, `from_paligemma` in `detection/vlm.py`).
 *
 * Contract (supervision's): factories that read model text never throw on the text (garbage → empty), but bad
 * arguments (image size, class list, inconsistent arrays) throw a `DetectionsError` naming the field.
 *
 * @example
 * const dets = Detections.fromPaligemma("<loc0000><loc0000><loc1023><loc0511> dog ; junk<loc12",
 *   { imageWidth: 640, imageHeight: 480, classes: ["cat", "dog"] });
 * dets.length;      // 1
 * dets.box(0);      // [0, 0, 320 · 511/1023 · 2 ≈ 319.69, 480]
 * dets.classId[0];  // 1 (index in `classes`)
 * dets.className;   // ["dog"]
 */
import {
  checkImageSize,
  decodeBoxLocs,
  encodeBoxLocs,
  formatLocObjects,
  parseLocText,
  type ImageSize,
  type LocObject,
} from "./loc.js";

/** Binary masks for N detections: `data` is uint8[N,H,W] row-major, 1 inside the object, 0 outside. */
export interface DetectionMasks {
  data: Uint8Array;
  height: number;
  width: number;
}

/** What `new Detections(...)` takes; everything but `xyxy` is optional. */
export interface DetectionsInit {
  /** float32[N,4] boxes `[x1, y1, x2, y2]` in pixels: a flat array of 4N numbers or N rows of 4. */
  xyxy: ArrayLike<number> | readonly (readonly number[])[];
  /** int32[N]; default: ids by first appearance of each class name (all 0 without names). */
  classId?: ArrayLike<number>;
  /** N class names; default `""` each. */
  className?: readonly string[];
  /** float32[N] scores. */
  confidence?: ArrayLike<number>;
  /** uint8[N,H,W] masks (the `<seg>` codec fills these). */
  mask?: DetectionMasks;
}

/** Options of `Detections.fromPaligemma` / `fromLocObjects`. */
export interface FromPaligemmaOptions extends ImageSize {
  /**
   * Allowed class names: objects whose label is not in the list are dropped and `classId` is the index in it
   * (supervision's `classes`). Without it every label is kept and ids follow first appearance in the text.
   */
  classes?: readonly string[];
}

/** A bad argument to `Detections` (not bad model text, which never throws). */
export class DetectionsError extends Error {
  constructor(readonly field: string, message: string) {
    super(`Detections.${field}: ${message}`);
    this.name = "DetectionsError";
  }
}

function flatBoxes(xyxy: DetectionsInit["xyxy"]): Float32Array {
  const rows = xyxy as readonly (readonly number[])[];
  if (rows.length > 0 && Array.isArray(rows[0])) {
    const out = new Float32Array(rows.length * 4);
    rows.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== 4) throw new DetectionsError("xyxy", `row ${i} must have 4 numbers [x1, y1, x2, y2]; got ${JSON.stringify(r)}`);
      out.set(r, i * 4);
    });
    return out;
  }
  const flat = xyxy as ArrayLike<number>;
  if (flat.length % 4 !== 0) throw new DetectionsError("xyxy", `expected 4·N numbers [x1, y1, x2, y2, ...]; got ${flat.length}`);
  return Float32Array.from(flat);
}

/** N boxes with classes (and optional confidences and masks); immutable once built. */
export class Detections {
  /** float32[N,4] `[x1, y1, x2, y2]` in pixels, flat. */
  readonly xyxy: Float32Array;
  /** int32[N]. */
  readonly classId: Int32Array;
  /** N class names. */
  readonly className: readonly string[];
  /** float32[N], when the producer has scores. */
  readonly confidence?: Float32Array;
  /** uint8[N,H,W], when the producer has masks. */
  readonly mask?: DetectionMasks;

  /** Validates every array against N = xyxy.length / 4; throws `DetectionsError` naming the field. */
  constructor(init: DetectionsInit) {
    if (init === null || typeof init !== "object" || init.xyxy === undefined) throw new DetectionsError("xyxy", "is required");
    const xyxy = flatBoxes(init.xyxy);
    const n = xyxy.length / 4;
    for (let i = 0; i < n; i++) {
      const [x1, y1, x2, y2] = xyxy.subarray(i * 4, i * 4 + 4);
      if (![x1, y1, x2, y2].every(Number.isFinite)) throw new DetectionsError("xyxy", `box ${i} has a non-finite value: [${x1}, ${y1}, ${x2}, ${y2}]`);
      if (x2 < x1 || y2 < y1) throw new DetectionsError("xyxy", `box ${i} is inverted (x2 < x1 or y2 < y1): [${x1}, ${y1}, ${x2}, ${y2}]`);
    }
    const className = init.className ? [...init.className] : new Array<string>(n).fill("");
    if (className.length !== n || className.some((c) => typeof c !== "string")) {
      throw new DetectionsError("className", `expected ${n} strings; got ${JSON.stringify(init.className).slice(0, 80)}`);
    }
    let classId: Int32Array;
    if (init.classId !== undefined) {
      if (init.classId.length !== n) throw new DetectionsError("classId", `expected ${n} ids; got ${init.classId.length}`);
      classId = Int32Array.from(init.classId);
      for (let i = 0; i < n; i++) {
        if (classId[i] !== init.classId[i] || classId[i] < 0) throw new DetectionsError("classId", `id ${i} must be a non-negative integer; got ${init.classId[i]}`);
      }
    } else {
      const ids = new Map<string, number>();
      classId = Int32Array.from(className, (c) => ids.get(c) ?? (ids.set(c, ids.size), ids.size - 1));
    }
    if (init.confidence !== undefined) {
      if (init.confidence.length !== n) throw new DetectionsError("confidence", `expected ${n} scores; got ${init.confidence.length}`);
      this.confidence = Float32Array.from(init.confidence);
      if (!this.confidence.every(Number.isFinite)) throw new DetectionsError("confidence", "scores must be finite");
    }
    if (init.mask !== undefined) {
      const { data, height, width } = init.mask;
      if (!(data instanceof Uint8Array) || !Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1 || data.length !== n * height * width) {
        throw new DetectionsError("mask", `expected { data: Uint8Array of N·H·W = ${n}·${height}·${width}, height, width }; got data of ${data?.length}`);
      }
      this.mask = { data, height, width };
    }
    this.xyxy = xyxy;
    this.classId = classId;
    this.className = Object.freeze(className);
  }

  /** No detections. */
  static empty(): Detections {
    return new Detections({ xyxy: [] });
  }

  /**
   * Parsed `<loc>` objects → Detections in pixels (bins / 1023 · size, see codecs/loc.ts). Objects with
   * inverted boxes (y2 < y1 or x2 < x1) are dropped, as are labels outside `classes` when it is given.
   */
  static fromLocObjects(objects: readonly LocObject[], options: FromPaligemmaOptions): Detections {
    checkOptions(options);
    const boxes: number[] = [];
    const names: string[] = [];
    const ids: number[] = [];
    const seen = new Map<string, number>();
    for (const o of objects) {
      const [y1, x1, y2, x2] = o.locs;
      if (y2 < y1 || x2 < x1) continue; // inverted: not a box
      let id: number;
      if (options.classes) {
        id = options.classes.indexOf(o.label);
        if (id < 0) continue;
      } else {
        id = seen.get(o.label) ?? (seen.set(o.label, seen.size), seen.size - 1);
      }
      boxes.push(...decodeBoxLocs(o.locs, options));
      names.push(o.label);
      ids.push(id);
    }
    return new Detections({ xyxy: boxes, classId: ids, className: names });
  }

  /**
   * Model text → Detections; never throws on the text (see `parseLocText` for the rules), throws
   * `DetectionsError` on bad options.
   */
  static fromPaligemma(text: string, options: FromPaligemmaOptions): Detections {
    checkOptions(options);
    return Detections.fromLocObjects(parseLocText(text), options);
  }

  /** Number of detections. */
  get length(): number {
    return this.classId.length;
  }

  /** Box i as `[x1, y1, x2, y2]` pixels. */
  box(i: number): [number, number, number, number] {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new DetectionsError("box", `index ${i} out of range 0..${this.length - 1}`);
    const b = this.xyxy.subarray(i * 4, i * 4 + 4);
    return [b[0], b[1], b[2], b[3]];
  }

  /** The detections whose index passes `keep` (or where a boolean array is true), in order. */
  filter(keep: ((i: number) => boolean) | readonly boolean[]): Detections {
    const pick = typeof keep === "function" ? keep : (i: number) => keep[i] === true;
    const idx = [...Array(this.length).keys()].filter(pick);
    const hw = this.mask ? this.mask.height * this.mask.width : 0;
    return new Detections({
      xyxy: idx.flatMap((i) => this.box(i)),
      classId: idx.map((i) => this.classId[i]),
      className: idx.map((i) => this.className[i]),
      confidence: this.confidence ? idx.map((i) => this.confidence![i]) : undefined,
      mask: this.mask
        ? { height: this.mask.height, width: this.mask.width, data: concatRows(idx.map((i) => this.mask!.data.subarray(i * hw, (i + 1) * hw)), hw) }
        : undefined,
    });
  }

  /** Back to a PaliGemma detection suffix (`<loc>×4 name ; ...`) for an image of the given size. */
  toPaligemma(size: ImageSize): string {
    checkImageSize(size);
    return formatLocObjects([...Array(this.length).keys()].map((i) => ({ locs: encodeBoxLocs(this.box(i), size), label: this.className[i] })));
  }

  /** Plain JSON (boxes as rows), for display and logs. */
  toJSON(): { xyxy: number[][]; classId: number[]; className: string[]; confidence?: number[] } {
    return {
      xyxy: [...Array(this.length).keys()].map((i) => this.box(i)),
      classId: Array.from(this.classId),
      className: [...this.className],
      ...(this.confidence ? { confidence: Array.from(this.confidence) } : {}),
    };
  }
}

function concatRows(rows: Uint8Array[], hw: number): Uint8Array {
  const out = new Uint8Array(rows.length * hw);
  rows.forEach((r, i) => out.set(r, i * hw));
  return out;
}

function checkOptions(options: FromPaligemmaOptions): void {
  if (options === null || typeof options !== "object") throw new DetectionsError("fromPaligemma", "options { imageWidth, imageHeight, classes? } are required");
  try {
    checkImageSize(options);
  } catch (e) {
    throw new DetectionsError("fromPaligemma", (e as Error).message);
  }
  const c = options.classes;
  if (c !== undefined && (!Array.isArray(c) || c.some((x) => typeof x !== "string"))) {
    throw new DetectionsError("fromPaligemma", `classes must be an array of strings; got ${JSON.stringify(c)?.slice(0, 80)}`);
  }
}
