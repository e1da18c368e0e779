/**
 * Constrained decoding as a `LogitsProcessor`: at every step only tokens that keep the generated text a valid
 * prefix of a grammar survive (the others get −∞), eos only where the text is complete. Grammars are character
 * automata (`Grammar`, see constrained-json.ts and constrained-detection.ts); the vocabulary's token strings are
 * computed once and sorted, so each step walks the shared prefixes once (a trie walk without the trie).
 *
 * Token text: SentencePiece pieces as the decoder writes them (`▁` → space, `<0x0A>` → "\n"; bytes ≥ 0x80 become
 * one generic non-ASCII character, allowed where any text is); `<locNNNN>` / `<segNNN>` become one private-use
 * character each (U+E000 + n, U+E400 + n), so the detection grammar sees them as atoms and no grammar can spell
 * them with "<", "loc"…; every other `<…>` special token is never allowed.
 *
 * With `maxNewTokens`, a token is allowed only if the text can still be completed within the tokens left
 * (counting one token per missing character), so even a random model ends with parseable output.
 *
 * @example
 *   const vocab = tokenVocabulary(processor.tokenizer);              // once per tokenizer
 *   const json = constrainedProcessor(jsonGrammar({ schema: inferJsonSchema(trainSuffixes) }), vocab,
 *     { eosTokenId: 1, maxNewTokens: 128 });
 *   await model.generate(inputs, { maxNewTokens: 128, logitsProcessors: [json] });
 */
import type { LogitsProcessor } from "./processors.js";

/** A character automaton state. `feed` mutates and returns false on a character the grammar rejects. */
export interface GrammarState {
  feed(ch: string): boolean;
  clone(): GrammarState;
  /** The text so far is a complete sentence. */
  accepting(): boolean;
  /** Fewest characters that complete the text (0 when accepting). */
  minToComplete(): number;
  /**
   * Optional fast path: characters that leave this state unchanged (e.g. plain characters inside a JSON string),
   * named by `key` so the tokens made only of them are found once per vocabulary.
   */
  inertClass?(): InertClass | null;
}

export interface InertClass {
  key: string;
  test(code: number): boolean;
}

export interface Grammar {
  readonly name: string;
  initial(): GrammarState;
}

/** What constrained decoding needs from a tokenizer (GemmaTokenizer has both). */
export interface Vocabulary {
  readonly vocabSize: number;
  /** The raw token string (`"▁cat"`, `"<0x0A>"`, `"<loc0042>"`), undefined for unused ids. */
  idToToken(id: number): string | undefined;
}

/** Placeholder for any non-ASCII byte of a byte-fallback token. */
export const NON_ASCII = "\u0080";
export const LOC_CHAR_BASE = 0xe000;
export const SEG_CHAR_BASE = 0xe400;
export const locChar = (n: number) => String.fromCharCode(LOC_CHAR_BASE + n);
export const segChar = (n: number) => String.fromCharCode(SEG_CHAR_BASE + n);

/** Token id → the text it adds (see the module doc), or null for tokens no grammar may produce. */
export function tokenText(piece: string | undefined): string | null {
  if (piece === undefined || piece === "") return null;
  const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
  if (byte) {
    const b = parseInt(byte[1], 16);
    return b < 0x80 ? String.fromCharCode(b) : NON_ASCII;
  }
  const loc = /^<loc(\d{4})>$/.exec(piece);
  if (loc) return Number(loc[1]) < 1024 ? locChar(Number(loc[1])) : null;
  const seg = /^<seg(\d{3})>$/.exec(piece);
  if (seg) return Number(seg[1]) < 128 ? segChar(Number(seg[1])) : null;
  if (/^<[^<>\s]+>$/.test(piece)) return null; // <eos>, <pad>, <image>, <unused12>, …
  return piece.replace(/\u2581/g, " ");
}

/** Token texts of a vocabulary, computed once, sorted for the prefix walk. */
export class TokenTable {
  readonly texts: (string | null)[];
  /** ids with non-empty text, by text (code unit order). */
  readonly sorted: Int32Array;
  constructor(readonly vocab: Vocabulary) {
    if (!vocab || !Number.isInteger(vocab.vocabSize) || vocab.vocabSize < 1 || typeof vocab.idToToken !== "function") {
      throw new Error(`constrained decoding: the vocabulary must have vocabSize and idToToken(id)`);
    }
    this.texts = Array.from({ length: vocab.vocabSize }, (_, id) => tokenText(vocab.idToToken(id)));
    const ids = this.texts.flatMap((t, id) => (t ? [id] : []));
    ids.sort((a, b) => (this.texts[a]! < this.texts[b]! ? -1 : this.texts[a]! > this.texts[b]! ? 1 : a - b));
    this.sorted = Int32Array.from(ids);
    // runs of `sorted` sharing a first code unit: a rejected first character skips its whole run
    for (let i = 0; i < ids.length; ) {
      const c = this.texts[ids[i]]!.charCodeAt(0);
      let j = i + 1;
      while (j < ids.length && this.texts[ids[j]]!.charCodeAt(0) === c) j++;
      this.runs.push([i, j]);
      i = j;
    }
  }

  private readonly runs: [number, number][] = [];

  private readonly inertSets = new Map<string, Uint8Array>();

  private inertSet(c: InertClass): Uint8Array {
    let set = this.inertSets.get(c.key);
    if (!set) {
      set = new Uint8Array(this.texts.length);
      this.texts.forEach((t, id) => {
        if (!t) return;
        for (let i = 0; i < t.length; i++) if (!c.test(t.charCodeAt(i))) return;
        set![id] = 1;
      });
      this.inertSets.set(c.key, set);
    }
    return set;
  }

  /** Ids whose text keeps `state` alive and completable within `budget` characters (∞: no limit). */
  allowed(state: GrammarState, budget = Infinity): number[] {
    const out: number[] = [];
    const inert = state.inertClass?.();
    const skip = inert ? this.inertSet(inert) : null;
    if (skip && state.minToComplete() <= budget) for (let id = 0; id < skip.length; id++) if (skip[id]) out.push(id);
    for (const [start, end] of this.runs) {
      const first = state.clone();
      if (!first.feed(this.texts[this.sorted[start]]![0])) continue; // the whole run starts with a rejected character
      const stack: GrammarState[] = [state, first];
      let prev = this.texts[this.sorted[start]]![0];
      let failPrefix: string | null = null;
      for (let i = start; i < end; i++) {
        const id = this.sorted[i];
        if (skip && skip[id]) continue; // leaves the state as it is: handled above
        const t = this.texts[id]!;
        if (failPrefix !== null && t.startsWith(failPrefix)) continue;
        failPrefix = null;
        let common = 1;
        const max = Math.min(prev.length, t.length, stack.length - 1);
        while (common < max && prev.charCodeAt(common) === t.charCodeAt(common)) common++;
        stack.length = common + 1;
        let ok = true;
        for (let d = common; d < t.length; d++) {
          const s = stack[d].clone();
          if (!s.feed(t[d])) {
            failPrefix = t.slice(0, d + 1);
            ok = false;
            break;
          }
          stack.push(s);
        }
        prev = ok ? t : t.slice(0, stack.length - 1);
        if (ok && stack[t.length].minToComplete() <= budget) out.push(id);
      }
    }
    return out;
  }
}

export interface ConstrainedOptions {
  /** The end-of-sequence id, allowed only where the text is complete (PaliGemma: 1). */
  eosTokenId: number;
  /** The generation's maxNewTokens: keep the text completable within it. */
  maxNewTokens?: number;
}

/** A logits processor keeping generation inside `grammar` (see the module doc). */
export function constrainedProcessor(grammar: Grammar, vocab: Vocabulary | TokenTable, options: ConstrainedOptions): LogitsProcessor {
  const table = vocab instanceof TokenTable ? vocab : new TokenTable(vocab);
  const eos = options.eosTokenId;
  if (!Number.isInteger(eos) || eos < 0) throw new Error(`constrainedProcessor: eosTokenId must be an integer id, got ${eos}`);
  const cache = new Map<string, GrammarState | null>(); // generated ids → state (null: dead)
  const stateOf = (generated: readonly number[]): GrammarState | null => {
    const key = generated.join(",");
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    let s: GrammarState | null;
    if (!generated.length) s = grammar.initial();
    else {
      const parent = stateOf(generated.slice(0, -1));
      const text = table.texts[generated[generated.length - 1]];
      s = parent && text !== null && text !== undefined ? parent.clone() : null;
      for (let i = 0; s && i < text!.length; i++) if (!s.feed(text![i])) s = null;
    }
    if (cache.size > 20000) cache.clear();
    cache.set(key, s);
    return s;
  };
  return (tokens, scores, vocabSize, promptLength) => {
    for (let r = 0; r < tokens.length; r++) {
      const generated = tokens[r].slice(promptLength);
      const state = stateOf(generated);
      const budget = options.maxNewTokens === undefined ? Infinity : options.maxNewTokens - generated.length - 1;
      const keep = new Uint8Array(vocabSize);
      if (state) {
        for (const id of table.allowed(state, budget)) if (id < vocabSize) keep[id] = 1;
        if (state.accepting() && eos < vocabSize) keep[eos] = 1;
      }
      if (!keep.some((k) => k === 1) && eos < vocabSize) keep[eos] = 1; // dead end: end the row
      const base = r * vocabSize;
      for (let i = 0; i < vocabSize; i++) if (!keep[i]) scores[base + i] = -Infinity;
    }
  };
}
