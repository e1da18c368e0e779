/**
 * The committed `models/paligemma2-nano-pt-224/` is a real PaliGemma 2 checkpoint for this library's loaders:
 * config, BF16 weights, Gemma-style tokenizer (ids PaliGemma's order), processor; and its files are exactly what
 * `src/nano/checkpoint.ts` describes (one source of truth).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { tf } from "../../src/tf.js";
import { repoRoot } from "../helpers/paths.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { GemmaTokenizer } from "../../src/io/tokenizer.js";
import { SafetensorsCheckpoint } from "../../src/io/safetensors.js";
import { loadPaliGemmaConfig } from "../../src/config/paligemma.js";
import { makeManifest } from "../../src/data/synth/manifests.js";
import { Random } from "../../src/data/synth/common.js";
import { locToken } from "../../src/codecs/loc.js";
import {
  NANO_CONFIG_JSON, NANO_GENERATION_CONFIG, NANO_NAME, NANO_PREPROCESSOR_CONFIG, NANO_TOKENIZER_CONFIG,
  nanoConfig, nanoTokenizerJson,
} from "../../src/nano/checkpoint.js";

const DIR = join(repoRoot(), "models", NANO_NAME);
const readJson = async (f: string): Promise<unknown> => JSON.parse(await readFile(join(DIR, f), "utf-8"));

describe(NANO_NAME, () => {
  it("its JSON files are the ones src/nano/checkpoint.ts writes", async () => {
    assert.deepEqual(await readJson("config.json"), NANO_CONFIG_JSON);
    assert.deepEqual(await readJson("tokenizer.json"), nanoTokenizerJson());
    assert.deepEqual(await readJson("tokenizer_config.json"), NANO_TOKENIZER_CONFIG);
    assert.deepEqual(await readJson("preprocessor_config.json"), NANO_PREPROCESSOR_CONFIG);
    assert.deepEqual(await readJson("generation_config.json"), NANO_GENERATION_CONFIG);
  });

  it("tokenizer: Gemma's special ids, <loc>/<seg>/<image> in PaliGemma's order, matching config.json", async () => {
    const tok = await GemmaTokenizer.fromPretrained(DIR);
    const cfg = await loadPaliGemmaConfig(DIR);
    assert.deepEqual(["<pad>", "<eos>", "<bos>", "<unk>"].map((t) => tok.tokenToId(t)), [0, 1, 2, 3]);
    assert.deepEqual([tok.padTokenId, tok.eosTokenId, tok.bosTokenId, tok.unkTokenId], [0, 1, 2, 3]);
    assert.equal(tok.imageTokenId, cfg.imageTokenIndex);
    assert.equal(tok.vocabSize, cfg.textConfig.vocabSize);
    assert.equal(tok.segTokenId(0), tok.locTokenId(1023) + 1); // loc0000..loc1023, seg000..seg127, <image>
    assert.equal(tok.imageTokenId, tok.segTokenId(127) + 1);
    assert.equal(tok.locTokenId(1), tok.locTokenId(0) + 1);
    assert.deepEqual(tok.encode("\n", { addSpecialTokens: false }), [tok.tokenToId("\n")]);
  });

  it("round-trips a manifest's JSON, <loc> detections and non-ASCII text (byte fallback)", async () => {
    const tok = await GemmaTokenizer.fromPretrained(DIR);
    const rng = new Random(11);
    for (let i = 0; i < 5; i++) {
      const json = JSON.stringify(makeManifest(rng));
      const ids = tok.encode(json, { addSpecialTokens: false });
      assert.equal(ids.length, json.length, "one token per ASCII character");
      assert.equal(tok.decode([tok.bosTokenId, ...ids, tok.eosTokenId], { skipSpecialTokens: true }), json);
    }
    const locs = (bins: number[]): string => bins.map(locToken).join("");
    const det = `${locs([12, 345, 678, 1023])} cat ; ${locs([0, 1, 2, 3])} five-point star`;
    const ids = tok.encode(det, { addSpecialTokens: false });
    assert.deepEqual(ids.slice(0, 4), [12, 345, 678, 1023].map((b) => tok.locTokenId(b)));
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), det);
    const text = "Größe  € 5\tok 🙂";
    const enc = tok.encode(text);
    assert.equal(enc[0], tok.bosTokenId);
    assert.ok(enc.some((id) => id >= 4 && id < 260), "bytes outside the character set use <0xNN> pieces");
    assert.equal(tok.decode(enc, { skipSpecialTokens: true }), text);
  });

  it("fromPretrained loads the BF16 weights and the processor's batch runs through the model", async () => {
    const ckpt = await SafetensorsCheckpoint.open(DIR);
    const dtypes = new Set(ckpt.keys().map((k) => ckpt.info(k).dtype));
    await ckpt.close();
    assert.deepEqual([...dtypes], ["BF16"]);
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(DIR);
    const processor = await PaliGemmaProcessor.fromPretrained(DIR);
    assert.deepEqual(model.config, nanoConfig());
    let n = 0;
    for (const v of model.namedParameters().values()) n += v.size;
    assert.ok(n > 1e6 && n < 30e6, `tens of millions of parameters at most, got ${n}`);
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#c84" } }).png().toBuffer();
    const before = tf.memory().numTensors;
    const batch = await processor.call({ images: [png], prefixes: ["ocr"], suffixes: ["RT-0042"] });
    const { logits, loss } = model.forward(batch);
    const L = 196 + 1 + "ocr\n".length + "RT-0042".length + 1;
    assert.deepEqual(logits.shape, [1, L, nanoConfig().textConfig.vocabSize]);
    const lossValue = (await loss!.data())[0]!;
    assert.ok(Number.isFinite(lossValue) && lossValue > 0, `loss ${lossValue}`);
    tf.dispose([logits, loss!, ...Object.values(batch)]);
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
});
