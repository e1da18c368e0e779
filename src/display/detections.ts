/**
 * Adapter from detections as users hold them to display boxes. Accepts the project's `Detections`
 * (src/codecs/detections.ts, supervision-like: flat `xyxy`, `classId`, `className`, `confidence?`, `mask?` as
 * uint8[N,H,W]), its `toJSON()` form, or a plain array of `{ xyxy | box, className | label, confidence?, … }`.
 *
 * @example
 * toBoxes({ xyxy: [[10, 20, 110, 220]], className: ["dog"] }, { width: 640, height: 480 });
 * // [{ xyxy: [10, 20, 110, 220], classId: 0, className: "dog" }]
 */
import type { BoxAnnotation } from "./protocol.js";
import { DisplayError, describeValue } from "./errors.js";
import { encodeMaskRle } from "./mask.js";

/** Structural `Detections` (src/codecs/detections.ts satisfies it). */
export interface DetectionsLike {
  xyxy: ArrayLike<number> | readonly (readonly number[])[];
  classId?: ArrayLike<number>;
  className?: readonly string[];
  confidence?: ArrayLike<number>;
  /** uint8[N,H,W] full-image masks. */
  mask?: { data: Uint8Array; height: number; width: number };
}

/** One detection as a plain object. */
export interface DetectionObject {
  xyxy?: readonly number[];
  box?: readonly number[];
  classId?: number;
  className?: string;
  label?: string;
  confidence?: number;
  /** uint8[H,W] (or 0/1 numbers) full-image mask. */
  mask?: { data: ArrayLike<number>; height: number; width: number };
}

export type DetectionsInput = DetectionsLike | readonly DetectionObject[];

/** Is `x` detections in one of the accepted forms? */
export function isDetectionsInput(x: unknown): x is DetectionsInput {
  if (Array.isArray(x)) return x.every((d) => typeof d === "object" && d !== null && (Array.isArray(d.xyxy) || Array.isArray(d.box)));
  const d = x as DetectionsLike;
  return typeof d === "object" && d !== null && d.xyxy !== undefined && typeof (d.xyxy as ArrayLike<number>).length === "number";
}

/** Grid the masks are encoded on (the preview size). */
export interface MaskGrid {
  width: number;
  height: number;
}

function objectsToBoxes(list: readonly DetectionObject[], grid: MaskGrid, field: string): BoxAnnotation[] {
  const ids = new Map<string, number>();
  return list.map((d, i) => {
    const b = d.xyxy ?? d.box;
    if (!b || b.length !== 4 || !b.every(Number.isFinite)) throw new DisplayError(`${field}[${i}].xyxy`, `expected [x1, y1, x2, y2] numbers; got ${describeValue(b)}`);
    const name = String(d.className ?? d.label ?? "");
    const classId = d.classId ?? ids.get(name) ?? (ids.set(name, ids.size), ids.size - 1);
    const box: BoxAnnotation = { xyxy: [b[0], b[1], b[2], b[3]], classId, className: name };
    if (d.confidence !== undefined) box.confidence = d.confidence;
    if (d.mask) box.mask = encodeMaskRle(d.mask.data, d.mask.width, d.mask.height, grid.width, grid.height);
    return box;
  });
}

/** Detections in any accepted form → boxes (masks resampled onto `grid`). Throws `DisplayError` naming the field. */
export function toBoxes(dets: DetectionsInput, grid: MaskGrid, field = "detections"): BoxAnnotation[] {
  if (Array.isArray(dets)) return objectsToBoxes(dets, grid, field);
  if (!isDetectionsInput(dets)) throw new DisplayError(field, `expected Detections, { xyxy, className?, … } or an array of { xyxy, className }; got ${describeValue(dets)}`);
  const d = dets as DetectionsLike;
  const rows = d.xyxy as readonly (readonly number[])[];
  const flat: number[] = rows.length > 0 && Array.isArray(rows[0]) ? rows.flatMap((r) => [...r]) : Array.from(d.xyxy as ArrayLike<number>);
  if (flat.length % 4 !== 0) throw new DisplayError(`${field}.xyxy`, `expected 4·N numbers; got ${flat.length}`);
  const n = flat.length / 4;
  const check = (name: string, a: ArrayLike<unknown> | undefined) => {
    if (a !== undefined && a.length !== n) throw new DisplayError(`${field}.${name}`, `expected ${n} entries (one per box); got ${a.length}`);
  };
  check("classId", d.classId);
  check("className", d.className);
  check("confidence", d.confidence);
  const m = d.mask;
  if (m && m.data.length !== n * m.width * m.height) throw new DisplayError(`${field}.mask`, `expected N·H·W = ${n}·${m.height}·${m.width} values; got ${m.data.length}`);
  const objects: DetectionObject[] = [];
  for (let i = 0; i < n; i++) {
    objects.push({
      xyxy: flat.slice(i * 4, i * 4 + 4),
      classId: d.classId ? d.classId[i] : undefined,
      className: d.className ? d.className[i] : undefined,
      confidence: d.confidence ? d.confidence[i] : undefined,
      mask: m ? { data: m.data.subarray(i * m.width * m.height, (i + 1) * m.width * m.height), width: m.width, height: m.height } : undefined,
    });
  }
  return objectsToBoxes(objects, grid, field);
}
