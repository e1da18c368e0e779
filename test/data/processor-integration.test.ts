/**
 * Dataset → real PaliGemmaProcessor (the project's Collator) → ModelBatch: a synthetic detection set batched
 * with the fixture tokenizer (test/fixtures/tokenizer) and the 224 px preprocessor config
 * (test/fixtures/processor). Checks shapes, that every `<locNNNN>` of a suffix is one token id, that the labelled
 * tokens are exactly suffix + <eos>, token-length describe(), and that no tensor is left behind.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { useBackend } from "../helpers/backends.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { loadDataset } from "../../src/data/dataset.js";
import { synthDetection } from "../../src/data/synth/shapes.js";
import { parseLocText } from "../../src/codecs/loc.js";
import { writeProcessorFixture } from "../helpers/checkpoints.js";

let tmp: { path: string; cleanup: () => Promise<void> };
let processor: PaliGemmaProcessor;

before(async () => {
  await useBackend("cpu");
  tmp = await makeTmpDir();
  const ckpt = join(tmp.path, "ckpt");
  await writeProcessorFixture(ckpt);
  processor = await PaliGemmaProcessor.fromPretrained(ckpt);
  await synthDetection({ out: join(tmp.path, "det"), seed: 8, counts: { train: 5, valid: 0, test: 0 } });
});
after(() => tmp.cleanup());

describe("JsonlDataset.batches with the real PaliGemmaProcessor", () => {
  it("yields model-ready batches whose labelled tokens are the <loc> suffixes + <eos>", async () => {
    const { train } = await loadDataset(join(tmp.path, "det"), { policy: "error" });
    const tensorsBefore = tf.memory().numTensors;
    const locIds = new Set([...Array(1024).keys()].map((i) => processor.tokenizer.locTokenId(i)));
    const eos = processor.tokenizer.idToToken(processor.tokenizer.eosTokenId)!;
    let rows = 0;
    for await (const batch of train!.batches({ batchSize: 2, shuffle: true, seed: 1, collator: processor })) {
      const B = batch.inputIds.shape[0];
      assert.deepEqual(batch.pixelValues.shape, [B, 3, 224, 224]);
      const ids = batch.inputIds.arraySync() as number[][];
      const labels = batch.labels!.arraySync() as number[][];
      for (let r = 0; r < B; r++) {
        const labelled = labels[r].filter((l) => l !== -100);
        const suffix = processor.decode(labelled);
        assert.ok(suffix.endsWith(eos), suffix);
        const text = suffix.slice(0, -eos.length);
        const objects = parseLocText(text);
        assert.equal(labelled.filter((id) => locIds.has(id)).length, 4 * objects.length, "each <locNNNN> is one token");
        assert.equal(objects.length, text === "" ? 0 : text.split(" ; ").length);
        assert.ok(ids[r].length >= labelled.length + 256);
        rows++;
      }
      tf.dispose(Object.values(batch));
    }
    assert.equal(rows, 5);
    assert.equal(tf.memory().numTensors, tensorsBefore);
  });

  it("describe() counts tokens with the tokenizer: 4 loc tokens per object and the class name", async () => {
    const { train } = await loadDataset(join(tmp.path, "det"));
    const chars = train!.describe();
    const toks = train!.describe({ tokenizer: { encode: (t) => processor.tokenizer.encode(t, { addSpecialTokens: false }) } });
    assert.equal(toks.lengthUnit, "tokens");
    assert.ok(toks.suffixLength.max < chars.suffixLength.max / 3, "a <loc> token is 9 characters but one token");
    const one = (await train!.get(0)).suffix;
    const n = processor.tokenizer.encode(one, { addSpecialTokens: false }).length;
    assert.ok(n >= 5 * parseLocText(one).length);
  });
});
