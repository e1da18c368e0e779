/**
 * A 300-id toy tokenizer for the golden tiny model (vocab 300; pad 0, eos 1, bos 2, "\n" 108, <image> 257):
 * printable ASCII as single-character pieces (space as "▁"), a few multi-character JSON/detection pieces, and 64
 * `<locNNNN>` tokens (every 16th bin). Greedy longest-match encoding; decoding like SentencePiece.
 */
import type { Vocabulary } from "../../src/generate/constrained.js";
import type { TextDecoder } from "../../src/data/types.js";

export function toyVocab(): Vocabulary & TextDecoder & { encode(text: string): number[]; eos: number } {
  const pieces: string[] = new Array(300);
  pieces[0] = "<pad>";
  pieces[1] = "<eos>";
  pieces[2] = "<bos>";
  pieces[3] = "<unk>";
  for (let c = 32; c <= 126; c++) pieces[4 + c - 32] = c === 32 ? "\u2581" : String.fromCharCode(c); // 4..98
  const multi = ['{"', '":', '",', '"}', "\u2581;", "\u2581cat", "\u2581dog", "name", "price"]; // 99..107
  multi.forEach((p, i) => (pieces[99 + i] = p));
  pieces[108] = "<0x0A>";
  for (let i = 0; i < 64; i++) pieces[109 + i] = `<loc${String(i * 16).padStart(4, "0")}>`; // 109..172
  const words = ["tea", "cake", "pie", "true", "false", "null", "00", "12", "\u2581;\u2581", "<0xC3>", "<0xA9>"];
  words.forEach((p, i) => (pieces[173 + i] = p));
  for (let i = 0; i < 300; i++) if (pieces[i] === undefined) pieces[i] = `<unused${i}>`;
  pieces[257] = "<image>";
  const text = (p: string) => (p === "<0x0A>" ? "\n" : /^<0x/.test(p) ? "" : p.replace(/\u2581/g, " "));
  const special = (p: string) => /^<[^<>]+>$/.test(p) && !/^<loc\d{4}>$/.test(p) && p !== "<0x0A>";
  const byText = [...pieces.keys()].filter((i) => !special(pieces[i]) && !/^<0x[89A-F]/.test(pieces[i]));
  return {
    vocabSize: 300,
    eos: 1,
    idToToken: (id) => pieces[id],
    decode: (ids, o) => ids.map((i) => (o?.skipSpecialTokens && special(pieces[i] ?? "") ? "" : text(pieces[i] ?? ""))).join(""),
    encode(s: string): number[] {
      const out: number[] = [];
      let i = 0;
      while (i < s.length) {
        let best = -1;
        let len = 0;
        for (const id of byText) {
          const t = text(pieces[id]);
          if (t.length > len && s.startsWith(t, i)) (best = id), (len = t.length);
        }
        if (best < 0) throw new Error(`toy vocab cannot encode ${JSON.stringify(s.slice(i))}`);
        out.push(best);
        i += len;
      }
      return out;
    },
  };
}
