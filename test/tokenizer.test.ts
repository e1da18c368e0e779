/**
 * GemmaTokenizer against transformers' GemmaTokenizerFast (Rust tokenizers) on the project's small Gemma-style
 * tokenizer.json. Reference ids and strings: test/fixtures/tokenizer/cases.json, made by
 * test/fixtures/tokenizer/gen_tokenizer.py (tokenizers 0.21.4, transformers 4.47.1).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GemmaTokenizer, TokenizerError } from "../src/io/tokenizer.js";
import { repoRoot } from "./helpers/paths.js";
import { withTmpDir } from "./helpers/tmp.js";

const DIR = join(repoRoot(), "test", "fixtures", "tokenizer");

interface EncodeCase {
  text: string;
  ids: number[];
  ids_with_special_tokens: number[];
  tokens: string[];
  decoded: string;
  decoded_with_special_tokens: string;
  decoded_skip_special: string;
}
interface Cases {
  vocab_size: number;
  special_ids: Record<string, number>;
  encode: EncodeCase[];
  decode: { ids: number[]; decoded: string; decoded_skip_special: string }[];
}

const locToken = (i: number) => `<loc${String(i).padStart(4, "0")}>`;
const segToken = (i: number) => `<seg${String(i).padStart(3, "0")}>`;
const cases = JSON.parse(await readFile(join(DIR, "cases.json"), "utf-8")) as Cases;
const tok = await GemmaTokenizer.fromPretrained(DIR);

describe("GemmaTokenizer equals transformers' GemmaTokenizerFast", () => {
  for (const c of cases.encode) {
    test(`encode/decode ${JSON.stringify(c.text.slice(0, 40))}`, () => {
      // gen_tokenizer.py: hf(text, add_special_tokens=False)["input_ids"], hf(text)["input_ids"]
      assert.deepEqual(tok.encode(c.text, { addSpecialTokens: false }), c.ids);
      assert.deepEqual(tok.encode(c.text), c.ids_with_special_tokens);
      assert.deepEqual(c.ids.map((id) => tok.idToToken(id)), c.tokens);
      // gen_tokenizer.py: hf.decode(ids), hf.decode(ids_with_special), hf.decode(..., skip_special_tokens=True)
      assert.equal(tok.decode(c.ids), c.decoded);
      assert.equal(tok.decode(c.ids_with_special_tokens), c.decoded_with_special_tokens);
      assert.equal(tok.decode(c.ids_with_special_tokens, { skipSpecialTokens: true }), c.decoded_skip_special);
    });
  }

  for (const d of cases.decode) {
    // invalid / truncated UTF-8 byte runs (one U+FFFD per byte, as Rust), <unk>, ids outside the vocabulary
    test(`decode ${JSON.stringify(d.ids)}`, () => {
      assert.equal(tok.decode(d.ids), d.decoded);
      assert.equal(tok.decode(d.ids, { skipSpecialTokens: true }), d.decoded_skip_special);
      assert.equal(tok.decode(Int32Array.from(d.ids)), d.decoded);
    });
  }

  test("special token ids and vocabulary size", () => {
    const s = cases.special_ids;
    assert.equal(tok.padTokenId, s["<pad>"]);
    assert.equal(tok.eosTokenId, s["<eos>"]);
    assert.equal(tok.bosTokenId, s["<bos>"]);
    assert.equal(tok.unkTokenId, s["<unk>"]);
    assert.equal(tok.imageTokenId, s["<image>"]);
    assert.equal(tok.locTokenId(0), s["<loc0000>"]);
    assert.equal(tok.locTokenId(1023), s["<loc1023>"]);
    assert.equal(tok.segTokenId(0), s["<seg000>"]);
    assert.equal(tok.segTokenId(127), s["<seg127>"]);
    assert.equal(tok.vocabSize, cases.vocab_size);
    assert.equal(tok.tokenToId("<image>"), s["<image>"]);
    assert.equal(tok.tokenToId("no such token"), undefined);
    assert.equal(tok.idToToken(tok.vocabSize), undefined);
  });
});

describe("PaliGemma tokens", () => {
  test("every <locNNNN> and <segNNN> encodes to its one id, and survives skipSpecialTokens", () => {
    const text = Array.from({ length: 1024 }, (_, i) => locToken(i)).join("") + Array.from({ length: 128 }, (_, i) => segToken(i)).join("");
    const ids = tok.encode(text, { addSpecialTokens: false });
    assert.equal(ids.length, 1024 + 128);
    ids.slice(0, 1024).forEach((id, i) => assert.equal(id, tok.locTokenId(i), locToken(i)));
    ids.slice(1024).forEach((id, i) => assert.equal(id, tok.segTokenId(i), segToken(i)));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(tok.decode([tok.bosTokenId, ...ids, tok.eosTokenId], { skipSpecialTokens: true }), text);
  });

  test("a detection answer round-trips with <eos>/<pad> removed", () => {
    const answer = "<loc0000><loc0512><loc1023><loc0001> red car ; <loc0100><loc0200><loc0300><loc0400> person";
    const ids = [...tok.encode(answer, { addSpecialTokens: false }), tok.eosTokenId, tok.padTokenId, tok.padTokenId];
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), answer);
    assert.equal(tok.decode(ids), `${answer}<eos><pad><pad>`);
  });

  test("decode(encode(x)) === x for every fixture text", () => {
    for (const c of cases.encode) assert.equal(tok.decode(tok.encode(c.text, { addSpecialTokens: false })), c.text);
  });

  const badIndex: [string, () => number][] = [
    ["locTokenId(1024)", () => tok.locTokenId(1024)],
    ["locTokenId(-1)", () => tok.locTokenId(-1)],
    ["locTokenId(1.5)", () => tok.locTokenId(1.5)],
    ["segTokenId(128)", () => tok.segTokenId(128)],
  ];
  for (const [name, f] of badIndex) {
    test(`${name} throws with the valid range`, () => assert.throws(f, (e: Error) => e instanceof TokenizerError && /expected an integer in 0\.\.(1023|127)/.test(e.message)));
  }

  test("bad arguments throw; unknown ids decode to nothing", () => {
    assert.throws(() => tok.decode([1.5]), /ids must be integers, got 1.5/);
    assert.throws(() => tok.encode(42 as unknown as string), /expected a string, got number/);
    assert.equal(tok.decode([]), "");
    assert.equal(tok.decode([-1, 1e9]), "");
  });
});

describe("loading tokenizer.json", () => {
  test("<image>/<loc>/<seg> only in the vocabulary (not added tokens) still encode to one id each, as after HF's add_tokens", async () => {
    await withTmpDir(async (dir) => {
      await editJson(dir, (j) => {
        j.added_tokens = j.added_tokens.filter((t: { content: string }) => !/^<(loc|seg)\d+>$|^<image>$/.test(t.content));
      });
      const t = await GemmaTokenizer.fromPretrained(dir);
      const text = "<image><loc0000><loc0731><seg127> cat";
      assert.deepEqual(t.encode(text, { addSpecialTokens: false }), tok.encode(text, { addSpecialTokens: false }));
      assert.equal(t.locTokenId(731), tok.locTokenId(731));
      assert.equal(t.decode(t.encode(text), { skipSpecialTokens: true }), "<loc0000><loc0731><seg127> cat"); // <image> special
    });
  });

  test("fromFile without tokenizer_config.json gives the same ids (Gemma defaults)", async () => {
    const t = await GemmaTokenizer.fromFile(join(DIR, "tokenizer.json"));
    for (const c of cases.encode) assert.deepEqual(t.encode(c.text), c.ids_with_special_tokens);
    // no clean_up_tokenization_spaces (tokenizers.js would default it to true and eat the space before ",")
    assert.equal(t.decode(t.encode("a , b .", { addSpecialTokens: false })), "a , b .");
  });

  test('merges written as "a b" strings (tokenizer.json from tokenizers < 0.20, like the hub\'s Gemma files) give the same ids', async () => {
    await withTmpDir(async (dir) => {
      await editJson(dir, (j) => {
        j.model.merges = j.model.merges.map((m: [string, string]) => m.join(" "));
      });
      const t = await GemmaTokenizer.fromPretrained(dir);
      for (const c of cases.encode) assert.deepEqual(t.encode(c.text), c.ids_with_special_tokens);
    });
  });

  const broken: [string, (dir: string) => Promise<void>, RegExp][] = [
    ["missing", async () => {}, /tokenizer\.json: not found; a PaliGemma checkpoint directory has tokenizer\.json/],
    ["not JSON", (d) => writeFile(join(d, "tokenizer.json"), "{ not json"), /tokenizer\.json: invalid JSON/],
    ["no model", (d) => writeFile(join(d, "tokenizer.json"), "{}"), /tokenizer\.json: not a tokenizer\.json \(no "model" object\)/],
    ["no <image>", (d) => editJson(d, (j) => {
      j.added_tokens = j.added_tokens.filter((t: { content: string }) => t.content !== "<image>");
      delete j.model.vocab["<image>"];
    }), /tokenizer\.json: no image token "<image>"/],
    ["loc tokens not in the vocabulary", (d) => editJson(d, (j) => {
      j.added_tokens = j.added_tokens.filter((t: { content: string }) => !t.content.startsWith("<loc05"));
      for (const k of Object.keys(j.model.vocab)) if (k.startsWith("<loc05")) delete j.model.vocab[k];
    }), /tokenizer\.json: 100 of <loc0000>\.\.<loc1023> are not in the vocabulary \(first: <loc0500>\)/],
    ["bad tokenizer_config.json", (d) => copyTokenizerWithConfig(d, "{oops"), /tokenizer_config\.json: invalid JSON/],
  ];
  for (const [name, make, re] of broken) {
    test(`${name}: TokenizerError naming the file`, async () => {
      await withTmpDir(async (dir) => {
        await make(dir);
        await assert.rejects(GemmaTokenizer.fromPretrained(dir), (e: Error) => {
          assert.ok(e instanceof TokenizerError, `${e.name}: ${e.message}`);
          assert.match(e.message, re);
          assert.ok(e.message.startsWith(dir), e.message);
          return true;
        });
      });
    });
  }
});

async function editJson(dir: string, edit: (j: any) => void): Promise<void> {
  const j = JSON.parse(await readFile(join(DIR, "tokenizer.json"), "utf-8"));
  edit(j);
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(j));
}

async function copyTokenizerWithConfig(dir: string, config: string): Promise<void> {
  await copyFile(join(DIR, "tokenizer.json"), join(dir, "tokenizer.json"));
  await writeFile(join(dir, "tokenizer_config.json"), config);
}
