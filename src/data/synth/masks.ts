/**
 * Synthetic instance masks for training and testing the `<seg>` VQ-VAE (codecs/vqvae/train.ts), made the way
 * PaliGemma's data makes them (big_vision `refcoco_mask2str`): one object's binary mask on its own canvas, its
 * box, and the encoder input = the mask cropped to the box and resized to 64×64 (codecs/seg.ts `cropMask64`, the
 * very function `segEncoder` uses at conversion time).
 *
 * Each object is an implicit shape in unit coordinates [−1, 1]² from one of {@link MASK_FAMILIES}, scaled to a
 * random size (4…200 px on its long side, log-uniform: small objects come out pixelated, as real ones do) and
 * aspect ratio (1:6…6:1), rotated, rasterised at pixel centres, and sometimes occluded (a half-plane, a disc or a
 * band cut away, which can split it into pieces). Boxes are the tight pixel box, loosened now and then as a
 * detector's or an amodal box would be. Deterministic: `synthInstanceMask(new Random(seed))` is the same object
 * on every platform.
 *
 * @example
 * const rng = new Random(7);
 * const { family, mask, box } = synthInstanceMask(rng);   // mask: { data: uint8[h·w], width, height }
 * const x = cropMask64(mask, box);                        // float32[64·64] in [0, 1]
 * const batch = synthMaskBatch(rng, 32);                  // float32[32·64·64]
 */
import { cropMask64, type Mask } from "../../codecs/seg.js";
import { Random } from "../random.js";
import { itemSeed } from "./common.js";

/** The shape families, each a kind of outline real instance masks have. */
export const MASK_FAMILIES = ["ellipse", "box", "polygon", "star", "ring", "holes", "blob", "sticks", "compound", "crescent", "pieces"] as const;
export type MaskFamily = (typeof MASK_FAMILIES)[number];

type Inside = (u: number, v: number) => boolean;
type Pt = [number, number];

export interface InstanceMask {
  family: MaskFamily;
  /** Whether a part of the object was cut away (occlusion). */
  occluded: boolean;
  /** The object's canvas (the "image"). */
  mask: Mask;
  /** The object's box in canvas pixels, [x1, y1, x2, y2] (integers). */
  box: [number, number, number, number];
}

/** Even–odd point-in-polygon (W. R. Franklin's `pnpoly`). */
function inPolygon(p: readonly Pt[], u: number, v: number): boolean {
  let c = false;
  for (let i = 0, j = p.length - 1; i < p.length; j = i++) {
    if (p[i][1] > v !== p[j][1] > v && u < ((p[j][0] - p[i][0]) * (v - p[i][1])) / (p[j][1] - p[i][1]) + p[i][0]) c = !c;
  }
  return c;
}

const radial = (radii: readonly number[], rot: number): Pt[] =>
  radii.map((r, i) => {
    const a = rot + (2 * Math.PI * i) / radii.length;
    return [r * Math.cos(a), r * Math.sin(a)];
  });

const disc = (cx: number, cy: number, r: number): Inside => (u, v) => (u - cx) ** 2 + (v - cy) ** 2 <= r * r;

/** Distance from (u, v) to the segment a–b, below `w`: a stroke ("capsule") of half-width w. */
function capsule(a: Pt, b: Pt, w: number): Inside {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const len2 = dx * dx + dy * dy || 1e-9;
  return (u, v) => {
    const t = Math.min(1, Math.max(0, ((u - a[0]) * dx + (v - a[1]) * dy) / len2));
    return (u - a[0] - t * dx) ** 2 + (v - a[1] - t * dy) ** 2 <= w * w;
  };
}

const union = (fs: Inside[]): Inside => (u, v) => fs.some((f) => f(u, v));

/** A simple convex or star-shaped outline: an ellipse, a rounded box, a polygon or a star. */
function simpleShape(rng: Random): Inside {
  switch (rng.int(0, 3)) {
    case 0:
      return disc(0, 0, 1);
    case 1: {
      const p = rng.uniform(2.5, 12); // superellipse: rounded box … sharp box
      return (u, v) => Math.abs(u) ** p + Math.abs(v) ** p <= 1;
    }
    case 2:
      return polygonShape(rng);
    default:
      return starShape(rng);
  }
}

function polygonShape(rng: Random): Inside {
  const n = rng.int(3, 9);
  const irregular = rng.chance(0.5);
  const pts = radial(Array.from({ length: n }, () => (irregular ? rng.uniform(0.55, 1) : 1)), rng.uniform(0, 2 * Math.PI));
  return (u, v) => inPolygon(pts, u, v);
}

function starShape(rng: Random): Inside {
  const n = rng.int(4, 8);
  const inner = rng.uniform(0.3, 0.65);
  const pts = radial(Array.from({ length: 2 * n }, (_, i) => (i % 2 ? inner : 1)), rng.uniform(0, 2 * Math.PI));
  return (u, v) => inPolygon(pts, u, v);
}

/** r ≤ R(θ) with R a random low-order Fourier series: a smooth blob (a leaf, a cloud, an animal's body). */
function blobShape(rng: Random): Inside {
  const k = rng.int(2, 6);
  const amp = Array.from({ length: k }, (_, i) => rng.uniform(0, 0.45) / (i + 1));
  const phase = Array.from({ length: k }, () => rng.uniform(0, 2 * Math.PI));
  const R = (t: number) => 1 + amp.reduce((s, a, i) => s + a * Math.cos((i + 1) * t + phase[i]), 0);
  let max = 0;
  for (let i = 0; i < 64; i++) max = Math.max(max, R((2 * Math.PI * i) / 64));
  return (u, v) => Math.hypot(u, v) * max <= R(Math.atan2(v, u));
}

/** Strokes from a random point set: a stick, an L, a cross, a branch, a letter-like glyph. */
function sticksShape(rng: Random): Inside {
  const w = rng.uniform(0.05, 0.2);
  const pts: Pt[] = Array.from({ length: rng.int(2, 5) }, () => [rng.uniform(-1 + w, 1 - w), rng.uniform(-1 + w, 1 - w)]);
  const parts: Inside[] = [];
  for (let i = 1; i < pts.length; i++) parts.push(capsule(pts[rng.chance(0.3) ? rng.int(0, i - 1) : i - 1], pts[i], w * rng.uniform(0.6, 1.2)));
  return union(parts);
}

function familyShape(rng: Random, family: MaskFamily): Inside {
  switch (family) {
    case "ellipse":
      return disc(0, 0, 1);
    case "box":
      return (u, v) => Math.abs(u) <= 1 && Math.abs(v) <= 1;
    case "polygon":
      return polygonShape(rng);
    case "star":
      return starShape(rng);
    case "ring": {
      const ri = rng.uniform(0.3, 0.8);
      const [ox, oy] = [rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15)];
      const outer = rng.chance(0.7) ? disc(0, 0, 1) : simpleShape(rng);
      return (u, v) => outer(u, v) && !disc(ox, oy, ri)(u, v);
    }
    case "holes": {
      const base = rng.chance(0.5) ? blobShape(rng) : simpleShape(rng);
      const holes = Array.from({ length: rng.int(1, 3) }, () => disc(rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(0.08, 0.3)));
      return (u, v) => base(u, v) && !holes.some((h) => h(u, v));
    }
    case "blob":
      return blobShape(rng);
    case "sticks":
      return sticksShape(rng);
    case "compound": {
      // a body with thin parts: legs, a handle, a tail, a stem
      const s = rng.uniform(0.45, 0.75);
      const [bx, by] = [rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)];
      const body = rng.chance(0.5) ? blobShape(rng) : simpleShape(rng);
      const parts: Inside[] = [(u, v) => body((u - bx) / s, (v - by) / s)];
      for (let i = rng.int(1, 4); i > 0; i--) {
        const a = rng.uniform(0, 2 * Math.PI);
        const [x0, y0] = [bx + 0.5 * s * Math.cos(a), by + 0.5 * s * Math.sin(a)];
        const len = rng.uniform(0.4, 1);
        parts.push(capsule([x0, y0], [Math.max(-0.95, Math.min(0.95, x0 + len * Math.cos(a))), Math.max(-0.95, Math.min(0.95, y0 + len * Math.sin(a)))], rng.uniform(0.04, 0.12)));
      }
      return union(parts);
    }
    case "crescent": {
      const [dx, dy] = radial([rng.uniform(0.3, 0.8)], rng.uniform(0, 2 * Math.PI))[0];
      const r = rng.uniform(0.7, 1);
      return (u, v) => disc(0, 0, 1)(u, v) && !disc(dx, dy, r)(u, v);
    }
    case "pieces": {
      // one object seen in separate parts (split by something in front of it)
      const n = rng.int(2, 3);
      const parts = Array.from({ length: n }, () => {
        const s = rng.uniform(0.3, 0.55);
        const [cx, cy] = [rng.uniform(-1 + s, 1 - s), rng.uniform(-1 + s, 1 - s)];
        const f = rng.chance(0.5) ? blobShape(rng) : simpleShape(rng);
        return (u: number, v: number) => f((u - cx) / s, (v - cy) / s);
      });
      return union(parts);
    }
  }
}

/** Something in front of the object: a half-plane, a disc or a band that removes part of it. */
function occluder(rng: Random): Inside {
  switch (rng.int(0, 2)) {
    case 0: {
      const a = rng.uniform(0, 2 * Math.PI);
      const d = rng.uniform(-0.2, 0.7);
      return (u, v) => u * Math.cos(a) + v * Math.sin(a) > d;
    }
    case 1: {
      const [cx, cy] = radial([rng.uniform(0.6, 1.3)], rng.uniform(0, 2 * Math.PI))[0];
      return disc(cx, cy, rng.uniform(0.3, 0.8));
    }
    default: {
      const a = rng.uniform(0, Math.PI);
      const d = rng.uniform(-0.5, 0.5);
      const w = rng.uniform(0.05, 0.25);
      return (u, v) => Math.abs(u * Math.cos(a) + v * Math.sin(a) - d) < w;
    }
  }
}

const logUniform = (rng: Random, lo: number, hi: number) => Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));

/** One synthetic object: family, canvas mask and box (see the module doc). Never empty. */
export function synthInstanceMask(rng: Random, family: MaskFamily = rng.pick(MASK_FAMILIES)): InstanceMask {
  for (;;) {
    const shape = familyShape(rng, family);
    const cut = rng.chance(0.3) ? occluder(rng) : null;
    const inside: Inside = cut ? (u, v) => shape(u, v) && !cut(u, v) : shape;
    // size and aspect in pixels, then a rotation (boxes stay axis-aligned, as in images)
    const long = logUniform(rng, 4, 200);
    const aspect = logUniform(rng, 1 / 6, 6);
    const [rx, ry] = aspect >= 1 ? [long / 2, long / 2 / aspect] : [(long / 2) * aspect, long / 2];
    const rot = rng.chance(0.4) ? 0 : rng.uniform(0, 2 * Math.PI);
    const [c, s] = [Math.cos(rot), Math.sin(rot)];
    const half = Math.ceil(Math.hypot(rx, ry)) + 2;
    const W = 2 * half;
    const data = new Uint8Array(W * W);
    let [x1, y1, x2, y2] = [W, W, 0, 0];
    for (let y = 0; y < W; y++) {
      for (let x = 0; x < W; x++) {
        const [px, py] = [x + 0.5 - half, y + 0.5 - half];
        const u = (c * px + s * py) / rx; // rotate by −rot, then unscale
        const v = (-s * px + c * py) / ry;
        if (u < -1 || u > 1 || v < -1 || v > 1 || !inside(u, v)) continue;
        data[y * W + x] = 1;
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
    if (x2 <= x1) continue; // too small to hit a pixel centre: draw again
    if (rng.chance(0.15)) {
      // a loose box (a detector's, or the amodal extent of an occluded object)
      const [bw, bh] = [x2 - x1, y2 - y1];
      x1 = Math.max(0, x1 - Math.round(rng.uniform(0, 0.12) * bw));
      y1 = Math.max(0, y1 - Math.round(rng.uniform(0, 0.12) * bh));
      x2 = Math.min(W, x2 + Math.round(rng.uniform(0, 0.12) * bw));
      y2 = Math.min(W, y2 + Math.round(rng.uniform(0, 0.12) * bh));
    }
    return { family, occluded: cut !== null, mask: { data, width: W, height: W }, box: [x1, y1, x2, y2] };
  }
}

/** `n` encoder inputs (each object's mask cropped to its box, resized to 64×64): float32[n·64·64] in [0, 1]. */
export function synthMaskBatch(rng: Random, n: number): Float32Array {
  const out = new Float32Array(n * 4096);
  for (let i = 0; i < n; i++) {
    const { mask, box } = synthInstanceMask(rng);
    out.set(cropMask64(mask, box), i * 4096);
  }
  return out;
}

/** The training batch for step `step` of a run seeded `seed`: seed namespace "vqvae-train". */
export function trainingMaskBatch(seed: number, step: number, n: number): Float32Array {
  return synthMaskBatch(new Random(itemSeed(seed, "vqvae-train", step)), n);
}

/**
 * `n` held-out objects for measuring a codec: seed namespace "vqvae-heldout", which training
 * ({@link trainingMaskBatch}) never draws from.
 */
export function heldOutInstanceMasks(n: number, seed = 0): InstanceMask[] {
  return Array.from({ length: n }, (_, i) => synthInstanceMask(new Random(itemSeed(seed, "vqvae-heldout", i))));
}
