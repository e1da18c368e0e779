/**
 * Label placement for box annotations, shared by the PNG fallback (src/display/png.ts) and the JupyterLab view
 * (lab-extension/src/annotations.ts), so both put a label at the same place. Imports nothing (the extension
 * compiles it as is, like protocol.ts).
 *
 * Each label is a `w`×`h` tag tied to its box. Candidates, in order: above the box's top-left corner, inside it
 * at the top, below the box, inside at the bottom; each is shifted left so it never passes the right edge (and
 * right so it never passes the left one). The first candidate that overlaps no label placed before wins; when all
 * overlap, the tag is pushed down below the labels it hits, so labels never cover each other while there is room.
 *
 * @example
 * placeLabels([{ box: [10, 0, 50, 40], w: 30, h: 16 }], 100, 100); // [{ x: 10, y: 0 }] (inside: no room above)
 */

export interface LabelRequest {
  /** The box in canvas pixels `[x0, y0, x1, y1]` (inclusive). */
  box: readonly [number, number, number, number];
  /** Tag size in pixels. */
  w: number;
  h: number;
}

export interface LabelPlace {
  x: number;
  y: number;
}

type Rect = { x: number; y: number; w: number; h: number };

const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Positions (top-left) for each label, in request order, inside a `width`×`height` canvas. */
export function placeLabels(requests: readonly LabelRequest[], width: number, height: number): LabelPlace[] {
  const placed: Rect[] = [];
  const clampX = (x: number, w: number) => Math.max(0, Math.min(x, width - w));
  const clampY = (y: number, h: number) => Math.max(0, Math.min(y, height - h));
  return requests.map(({ box, w, h }) => {
    const [x0, y0, , y1] = box;
    const x = clampX(x0, w);
    const candidates = [y0 - h, y0, y1 + 1, y1 - h + 1].filter((y) => y >= 0 && y + h <= height);
    let rect: Rect | undefined;
    for (const y of candidates) {
      const r = { x, y, w, h };
      if (!placed.some((p) => overlaps(p, r))) {
        rect = r;
        break;
      }
    }
    if (!rect) {
      // Everything nearby is taken: slide down from the first candidate past each label it hits.
      rect = { x, y: clampY(candidates[0] ?? y0, h), w, h };
      for (let guard = 0; guard < placed.length + 1; guard++) {
        const hit = placed.find((p) => overlaps(p, rect!));
        if (!hit) break;
        if (hit.y + hit.h + h > height) break; // no room left below: accept the overlap
        rect = { ...rect, y: hit.y + hit.h };
      }
    }
    placed.push(rect);
    return { x: rect.x, y: rect.y };
  });
}

/** Inner boundary of a binary mask (`bits` w×h, 0/1): pixels set whose 4-neighbourhood leaves the mask. */
export function maskOutline(bits: ArrayLike<number>, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!bits[i]) continue;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1 || !bits[i - 1] || !bits[i + 1] || !bits[i - w] || !bits[i + w]) out[i] = 1;
    }
  }
  return out;
}

/** `#rrggbb` mixed with white by `t` (0..1): truth masks use the tint of their colour, predictions the colour. */
export function tint(hex: string, t = 0.5): string {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c: number) => Math.round(c + (255 - c) * t).toString(16).padStart(2, "0");
  return `#${mix((n >> 16) & 255)}${mix((n >> 8) & 255)}${mix(n & 255)}`;
}
