/** Seeded random "model output": strings of PaliGemma-ish token pieces (locs, segs, JSON punctuation, garbage). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "<loc0000>", "<loc0512>", "<loc1023>", "<loc1024>", "<loc9999>", "<loc12", "<seg000>", "<seg127>", "<seg128>", "<seg99",
  " ; ", ";", " cat", " dog", "cat", "\n", "<eos>", "<pad>", "<", ">", "<>", "loc", "seg", "{", "}", "[", "]", '"', ":", ",",
  '"a"', '"b":', "1", "-", "0.5", "1e999", "1e-400", "-0", "null", "true", "false", "NaN", "\\", "\\u12", "\\uD800", "\\n", " ",
  "\t", "é", "😀", "\ud800", "\udc00", "\u0000", "detect", "segment", "&amp;", "-\n", "<skipped>",
];

/** A random string of `maxPieces` pieces at most. */
export function randomModelText(rand: () => number, maxPieces = 40): string {
  const n = Math.floor(rand() * maxPieces);
  let s = "";
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(rand() * PIECES.length)];
  return s;
}
