/**
 * PaliGemma's Gemma tokenizer from a checkpoint's `tokenizer.json`, on the pure-JS `@huggingface/tokenizers`
 * (tokenizers.js), with the answers of the Rust `tokenizers` library that transformers' `GemmaTokenizerFast` uses.
 *
 * Gemma's `tokenizer.json` (transformers `convert_slow_tokenizer.GemmaConvert`): normalizer `Replace(" " → "▁")`,
 * a byte-fallback BPE (`<0x00>`..`<0xFF>` pieces for anything outside the vocabulary), decoder
 * `Replace("▁" → " ") + ByteFallback + Fuse`, post-processor `<bos> $A`. PaliGemma adds `<image>` (special) and
 * 1024 `<locNNNN>` + 128 `<segNNN>` tokens (added, not special: `skipSpecialTokens` keeps them, which is how
 * detection and segmentation answers survive decoding). Each of those is matched before BPE, so it is one id.
 *
 * As transformers' processor does on load, `<image>`/`<loc>`/`<seg>` pieces of the vocabulary that the file does not
 * list as added tokens are added with their ids. One divergence of tokenizers.js is corrected here: its
 * ByteFallback decoder turns an invalid UTF-8 byte run into one U+FFFD (TextDecoder's rule); Rust emits one U+FFFD
 * per byte. Decoding drops ids that are not in the vocabulary, as Rust does.
 *
 * @example
 * const tok = await GemmaTokenizer.fromPretrained("./paligemma2-3b-pt-224");
 * const ids = tok.encode("<loc0123> cat");          // [<bos>, <loc0123>, ▁cat]: <bos> first by default
 * ids[1] === tok.locTokenId(123);                     // true: one id per <locNNNN>
 * tok.decode([...ids, tok.eosTokenId], { skipSpecialTokens: true }); // "<loc0123> cat"
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as tokenizersJs from "@huggingface/tokenizers";
import type { TextDecoder as TokenDecoder } from "../data/types.js";

/** The part of tokenizers.js used here (its bundled .d.ts files do not resolve under NodeNext). */
interface TokenizersJs {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_added_tokens_decoder(): Map<number, { content: string; special: boolean }>;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
  decoder: unknown;
}
const { Tokenizer: TokenizersJs, ByteFallbackDecoder } = tokenizersJs as unknown as {
  Tokenizer: new (json: object, config: object) => TokenizersJs;
  ByteFallbackDecoder: abstract new (...args: never[]) => { text_decoder: unknown };
};

/** PaliGemma's extra tokens (transformers `processing_paligemma.py`: IMAGE_TOKEN, EXTRA_TOKENS). */
export const IMAGE_TOKEN = "<image>";
export const NUM_LOC_TOKENS = 1024; // <loc0000>..<loc1023>: 1024 bins per coordinate (big_vision)
export const NUM_SEG_TOKENS = 128; // <seg000>..<seg127>: the 128-entry VQ-VAE codebook (big_vision vae-oid)
const locToken = (i: number): string => `<loc${String(i).padStart(4, "0")}>`; // public codec: codecs/loc.ts
const segToken = (i: number): string => `<seg${String(i).padStart(3, "0")}>`;

/** A tokenizer file that is missing, unreadable or not a PaliGemma tokenizer; also bad arguments. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
  constructor(readonly file: string | undefined, detail: string, options?: { cause?: unknown }) {
    super(file === undefined ? detail : `${file}: ${detail}`, options);
  }
}

export interface EncodeOptions {
  /** Apply the tokenizer.json post-processor (Gemma: prepend `<bos>`). Default true, like transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (`<bos>`, `<eos>`, `<pad>`, `<unk>`, `<image>`); `<loc>`/`<seg>` stay. Default false. */
  skipSpecialTokens?: boolean;
}

/** The fields of `tokenizer_config.json` read here (all optional). */
interface TokenizerConfigJson {
  bos_token?: string | { content: string };
  eos_token?: string | { content: string };
  pad_token?: string | { content: string };
  unk_token?: string | { content: string };
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

const tokenName = (v: string | { content: string } | undefined, fallback: string): string =>
  typeof v === "string" ? v : typeof v?.content === "string" ? v.content : fallback;

/** Rust `String::from_utf8` then one U+FFFD per byte on failure (tokenizers `decoders/byte_fallback.rs`). */
const rustUtf8 = {
  fatal: new globalThis.TextDecoder("utf-8", { fatal: true }),
  decode(bytes: Uint8Array): string {
    try {
      return this.fatal.decode(bytes);
    } catch {
      return "\uFFFD".repeat(bytes.length);
    }
  },
};

/** Replace the UTF-8 decoder of every ByteFallback decoder in the (possibly nested) decoder tree. */
function patchByteFallback(decoder: unknown): void {
  if (decoder instanceof ByteFallbackDecoder) {
    decoder.text_decoder = rustUtf8;
  }
  const children = (decoder as { decoders?: unknown[] } | null)?.decoders;
  if (Array.isArray(children)) children.forEach(patchByteFallback);
}

interface AddedTokenJson {
  id: number;
  content: string;
  special: boolean;
  [key: string]: unknown;
}
interface TokenizerJson {
  added_tokens?: AddedTokenJson[];
  model: { type?: string; vocab?: Record<string, number> | [string, number][]; merges?: (string | [string, string])[]; unk_token?: string };
  [key: string]: unknown;
}

/** The tables of tokenizers.js's BPE model that {@link fillBpeTables} sets (names as in its BPE class). */
interface BpeModelTables {
  tokens_to_ids: Map<string, number>;
  vocab: string[];
  unk_token_id: number | undefined;
  unk_token: string | undefined;
  bpe_ranks: { get(key: string): number | undefined };
}

/**
 * Merge ranks keyed by `"left right"` (a string merge as the file has it). tokenizers.js asks with
 * `JSON.stringify([left, right])`; building its own map that way costs a split and a stringify per merge.
 */
class MergeRanks {
  constructor(private readonly ranks: Map<string, number>) {}
  get(jsonPair: string): number | undefined {
    const [left, right] = JSON.parse(jsonPair) as [string, string];
    return this.ranks.get(`${left} ${right}`);
  }
}

/**
 * Fast loading of a large BPE (Gemma's: 256k pieces, 580k merges). tokenizers.js builds its tables with
 * `Object.entries` over the vocabulary and a `JSON.stringify` key per merge: 2–3 s of CPU for Gemma, several
 * times more on a busy machine. When every merge is one `"a b"` string or a pair without spaces (so `"a b"` is
 * unambiguous, as the Rust library requires of string merges), the model is built empty and filled here with
 * the same contents: token → id, id → token, the unk id and the ranks. Returns undefined (tokenizers.js builds
 * them itself) for other models or merges.
 */
function splitBpeTables(json: TokenizerJson): { lean: TokenizerJson; fill: (model: BpeModelTables) => void } | undefined {
  const model = json.model;
  const vocab = model.vocab;
  const merges = model.merges;
  if (model.type !== "BPE" || vocab === undefined || Array.isArray(vocab) || !Array.isArray(merges)) return undefined;
  const ranks = new Map<string, number>();
  for (let i = 0; i < merges.length; i++) {
    const m = merges[i]!;
    let key: string;
    if (typeof m === "string") {
      const sp = m.indexOf(" ");
      if (sp < 0 || m.indexOf(" ", sp + 1) >= 0) return undefined; // not "a b": leave it to tokenizers.js
      key = m;
    } else {
      if (m.length !== 2 || m[0].includes(" ") || m[1].includes(" ")) return undefined;
      key = `${m[0]} ${m[1]}`;
    }
    ranks.set(key, i); // a repeated merge keeps its last rank, as in tokenizers.js (and the Rust HashMap)
  }
  const fill = (bpe: BpeModelTables): void => {
    const ids = new Map<string, number>();
    let maxId = -1;
    for (const token in vocab) {
      const id = vocab[token]!;
      ids.set(token, id);
      if (id > maxId) maxId = id;
    }
    const byId = new Array<string>(maxId + 1);
    for (const [token, id] of ids) byId[id] = token;
    // tokenizers.js's constructor has already put the added tokens into its (empty) tables: keep them on top.
    for (const [token, id] of bpe.tokens_to_ids) {
      ids.set(token, id);
      byId[id] = token;
    }
    bpe.tokens_to_ids = ids;
    bpe.vocab = byId;
    bpe.unk_token_id = model.unk_token === undefined ? undefined : ids.get(model.unk_token);
    bpe.bpe_ranks = new MergeRanks(ranks);
  };
  return { lean: { ...json, model: { ...model, vocab: {}, merges: [] } }, fill };
}

/**
 * What transformers' PaliGemmaProcessor does on load (`add_special_tokens(<image>)`, `add_tokens(EXTRA_TOKENS)`):
 * `<image>`, `<locNNNN>` and `<segNNN>` pieces that are in the model vocabulary but not listed as added tokens
 * become added tokens with their vocabulary ids, so each is matched as one token. Returns a copy when it adds any.
 */
function withPaliGemmaAddedTokens(json: TokenizerJson): TokenizerJson {
  const vocab = json.model?.vocab;
  const idOf = (t: string): number | undefined => {
    if (Array.isArray(vocab)) {
      const i = vocab.findIndex(([piece]) => piece === t); // Unigram: [piece, score][], id = index
      return i < 0 ? undefined : i;
    }
    return vocab?.[t];
  };
  const added = json.added_tokens ?? [];
  const listed = new Set(added.map((t) => t.content));
  const extra: AddedTokenJson[] = [];
  const want = [[IMAGE_TOKEN, true], ...Array.from({ length: NUM_LOC_TOKENS }, (_, i) => [locToken(i), false]),
    ...Array.from({ length: NUM_SEG_TOKENS }, (_, i) => [segToken(i), false])] as [string, boolean][];
  for (const [content, special] of want) {
    const id = listed.has(content) ? undefined : idOf(content);
    if (id !== undefined) extra.push({ id, content, special, single_word: false, lstrip: false, rstrip: false, normalized: false });
  }
  return extra.length === 0 ? json : { ...json, added_tokens: [...added, ...extra] };
}

/** PaliGemma's Gemma tokenizer. Implements the `TextDecoder` contract of `data/types.ts`. */
export class GemmaTokenizer implements TokenDecoder {
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly unkTokenId: number;
  readonly imageTokenId: number;
  /** Number of ids: highest id of the vocabulary and added tokens + 1. */
  readonly vocabSize: number;
  private readonly inner: TokenizersJs;
  private longestPiece = 0;
  private readonly locIds: Int32Array;
  private readonly segIds: Int32Array;

  /**
   * Wrap a parsed `tokenizer.json` (and optional `tokenizer_config.json`). `source` names the file in errors.
   * Throws {@link TokenizerError} when tokenizers.js cannot load it or a PaliGemma token is missing.
   */
  constructor(json: unknown, config: TokenizerConfigJson = {}, readonly source = "tokenizer.json") {
    if (json === null || typeof json !== "object" || !("model" in json)) {
      throw new TokenizerError(source, "not a tokenizer.json (no \"model\" object); use the file from the Hugging Face checkpoint");
    }
    const vocab = (json as TokenizerJson).model?.vocab as unknown;
    if (vocab === null || typeof vocab !== "object") {
      // tokenizers.js would accept it and encode every piece as <unk>
      const got = vocab === undefined ? "nothing" : `${typeof vocab === "string" ? "a string" : String(vocab)}`;
      throw new TokenizerError(source, `field "model.vocab": expected an object {piece: id} (BPE) or an array of [piece, score] (Unigram); got ${got}; use the file from the Hugging Face checkpoint`);
    }
    try {
      const full = withPaliGemmaAddedTokens(json as TokenizerJson);
      const split = splitBpeTables(full);
      // transformers' GemmaTokenizerFast defaults clean_up_tokenization_spaces to false; tokenizers.js to true.
      const cleanUp = config.clean_up_tokenization_spaces ?? false;
      this.inner = new TokenizersJs(split?.lean ?? full, { ...config, clean_up_tokenization_spaces: cleanUp });
      split?.fill((this.inner as unknown as { model: BpeModelTables }).model);
    } catch (e) {
      throw new TokenizerError(source, `tokenizers.js cannot load it: ${(e as Error).message}`, { cause: e });
    }
    patchByteFallback(this.inner.decoder);
    const need = (token: string, what: string): number => {
      const id = this.inner.token_to_id(token);
      if (id === undefined) throw new TokenizerError(source, `no ${what} token "${token}"; a PaliGemma tokenizer.json has it`);
      return id;
    };
    this.bosTokenId = need(tokenName(config.bos_token, "<bos>"), "bos");
    this.eosTokenId = need(tokenName(config.eos_token, "<eos>"), "eos");
    this.padTokenId = need(tokenName(config.pad_token, "<pad>"), "pad");
    this.unkTokenId = need(tokenName(config.unk_token, "<unk>"), "unk");
    this.imageTokenId = need(IMAGE_TOKEN, "image");
    const single = new Set(Array.from(this.inner.get_added_tokens_decoder().values(), (t) => t.content));
    const run = (n: number, name: (i: number) => string): Int32Array => {
      const ids = new Int32Array(n);
      const missing: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = this.inner.token_to_id(name(i));
        if (id === undefined || !single.has(name(i))) missing.push(name(i));
        else ids[i] = id;
      }
      if (missing.length > 0) {
        throw new TokenizerError(source, `${missing.length} of ${name(0)}..${name(n - 1)} are not in the vocabulary ` +
          `(first: ${missing[0]}); PaliGemma's tokenizer.json has each as one token`);
      }
      return ids;
    };
    this.locIds = run(NUM_LOC_TOKENS, locToken);
    this.segIds = run(NUM_SEG_TOKENS, segToken);
    // Highest id + 1 (tokenizers.js's id → token array has that length; get_vocab() would copy 256k entries).
    this.vocabSize = (this.inner as unknown as { model: { vocab: string[] } }).model.vocab.length;
  }

  /**
   * Characters of the longest piece in the vocabulary (added tokens included): no token covers more text, so the
   * first n tokens of a text come from at most its first n · maxPieceChars characters.
   */
  get maxPieceChars(): number {
    if (this.longestPiece === 0) {
      for (const piece of this.inner.get_vocab(true).keys()) this.longestPiece = Math.max(this.longestPiece, [...piece].length);
    }
    return this.longestPiece;
  }

  /**
   * Load `dir/tokenizer.json` (+ `dir/tokenizer_config.json` when present) from a checkpoint directory.
   *
   * @example
   * const tok = await GemmaTokenizer.fromPretrained("./paligemma2-3b-pt-224");
   */
  static async fromPretrained(dir: string): Promise<GemmaTokenizer> {
    const configPath = join(dir, "tokenizer_config.json");
    let config: TokenizerConfigJson = {};
    const text = await readFile(configPath, "utf-8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw new TokenizerError(configPath, `cannot read: ${e.message}`, { cause: e });
    });
    if (text !== undefined) {
      try {
        config = JSON.parse(text) as TokenizerConfigJson;
      } catch (e) {
        throw new TokenizerError(configPath, `invalid JSON: ${(e as Error).message}`, { cause: e });
      }
    }
    return GemmaTokenizer.fromFile(join(dir, "tokenizer.json"), config);
  }

  /** Load a `tokenizer.json` file; `config` is the parsed `tokenizer_config.json`, if any. */
  static async fromFile(path: string, config: TokenizerConfigJson = {}): Promise<GemmaTokenizer> {
    let text: string;
    try {
      text = await readFile(path, "utf-8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new TokenizerError(path, code === "ENOENT"
        ? "not found; a PaliGemma checkpoint directory has tokenizer.json (download it with the weights)"
        : `cannot read: ${(e as Error).message}`, { cause: e });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new TokenizerError(path, `invalid JSON: ${(e as Error).message}`, { cause: e });
    }
    return new GemmaTokenizer(json, config, path);
  }

  /**
   * Text → ids. Added tokens (`<image>`, `<bos>`, `<locNNNN>`, ...) in the text are matched first, as in HF.
   *
   * @example
   * tok.encode("detect cat", { addSpecialTokens: false }); // ids without the leading <bos>
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new TokenizerError(undefined, `encode: expected a string, got ${typeof text}`);
    return this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /**
   * Ids → text. Ids outside the vocabulary are dropped (as the Rust tokenizer does), so model output always
   * decodes; a non-integer id is a caller bug and throws.
   */
  decode(ids: readonly number[] | Int32Array, options: DecodeOptions = {}): string {
    const known: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id)) throw new TokenizerError(undefined, `decode: ids must be integers, got ${id}`);
      if (id >= 0 && id < this.vocabSize && this.inner.id_to_token(id) !== undefined) known.push(id);
    }
    if (known.length === 0) return ""; // tokenizers.js throws on an empty list
    return this.inner.decode(known, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The id of one token string (`"<eos>"`, `"▁cat"`), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /** The token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** The id of `<locNNNN>`, i in 0..1023 (a y or x coordinate bin). */
  locTokenId(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= NUM_LOC_TOKENS) {
      throw new TokenizerError(undefined, `locTokenId: got ${i}; expected an integer in 0..${NUM_LOC_TOKENS - 1}`);
    }
    return this.locIds[i]!;
  }

  /** The id of `<segNNN>`, i in 0..127 (a VQ-VAE codebook entry). */
  segTokenId(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= NUM_SEG_TOKENS) {
      throw new TokenizerError(undefined, `segTokenId: got ${i}; expected an integer in 0..${NUM_SEG_TOKENS - 1}`);
    }
    return this.segIds[i]!;
  }
}
