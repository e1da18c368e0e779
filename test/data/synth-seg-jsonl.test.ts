/**
 * `data synth segmentation` → `<seg>` JSONL (issue 11: "writes <seg> JSONL that the segmentation tutorial trains
 * on"): the lines load through `loadDataset`, batch through the real PaliGemmaProcessor with each `<segNNN>` and
 * `<locNNNN>` one labelled token, and decode back (segmentationFromPaligemma with the same VQ-VAE) to masks that
 * match the COCO polygons written beside them, object by object, above a stated IoU.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { useBackend } from "../helpers/backends.js";
import { makeTmpDir } from "../helpers/tmp.js";
import { loadSegVae } from "../../src/codecs/vqvae/default.js";
import type { VqVae } from "../../src/codecs/vqvae/model.js";
import { segmentationFromPaligemma } from "../../src/codecs/segmentation.js";
import { parseLocText } from "../../src/codecs/loc.js";
import { segmentationToMask } from "../../src/data/converters/coco-mask.js";
import type { CocoDataset } from "../../src/data/converters/coco.js";
import { loadDataset } from "../../src/data/dataset.js";
import { PaliGemmaProcessor } from "../../src/data/processor.js";
import { SHAPE_CLASSES, synthSegmentation } from "../../src/data/synth/shapes.js";
import { writeProcessorFixture } from "../helpers/checkpoints.js";

// Per object: decoded <seg> mask (pasted into the <loc> box) vs the COCO polygon's mask. The shapes are simple
// (our codec measures ~0.9 on them); the <loc> box quantisation costs a little more on small objects.
const MIN_MEAN_IOU = 0.75;
const MIN_OBJECT_IOU = 0.4;

let tmp: { path: string; cleanup: () => Promise<void> };
let vae: VqVae;
const out = () => join(tmp.path, "seg");

before(async () => {
  await useBackend("wasm");
  tmp = await makeTmpDir();
  vae = await loadSegVae();
  await synthSegmentation({ out: out(), seed: 5, counts: { train: 6, valid: 2, test: 0 }, vae });
});
after(async () => {
  vae.dispose();
  await tmp.cleanup();
});

describe("synthSegmentation writes <seg> JSONL", () => {
  it("one line per image, prefix 'segment …', every object <loc>×4 <seg>×16 name; masks match the COCO polygons", async () => {
    for (const split of ["train", "valid"]) {
      const coco = JSON.parse(await readFile(join(out(), split, "_annotations.coco.json"), "utf8")) as CocoDataset;
      const lines = (await readFile(join(out(), split, "annotations.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(lines.length, coco.images.length);
      const ious: number[] = [];
      coco.images.forEach((im, i) => {
        const line = lines[i];
        assert.equal(line.image, im.file_name);
        assert.equal(line.prefix, `segment ${SHAPE_CLASSES.join(" ; ")}`);
        const anns = coco.annotations.filter((a) => a.image_id === im.id);
        const objects = parseLocText(line.suffix);
        assert.equal(objects.length, anns.length);
        assert.ok(objects.every((o) => o.segs.length === 16 && o.locs.length === 4));
        const dets = segmentationFromPaligemma(line.suffix, vae, { imageWidth: im.width, imageHeight: im.height });
        assert.equal(dets.length, anns.length);
        const hw = im.width * im.height;
        anns.forEach((a, k) => {
          assert.equal(dets.className![k], SHAPE_CLASSES[a.category_id - 1]);
          const want = segmentationToMask(a.segmentation!, im.width, im.height).data;
          const got = dets.mask!.data.subarray(k * hw, (k + 1) * hw);
          let [inter, union] = [0, 0];
          for (let p = 0; p < hw; p++) {
            if (want[p] && got[p]) inter++;
            if (want[p] || got[p]) union++;
          }
          ious.push(inter / union);
        });
      });
      const mean = ious.reduce((a, b) => a + b, 0) / ious.length;
      assert.ok(mean >= MIN_MEAN_IOU, `${split}: mean IoU ${mean.toFixed(3)} over ${ious.length} objects`);
      assert.ok(Math.min(...ious) >= MIN_OBJECT_IOU, `${split}: worst object IoU ${Math.min(...ious).toFixed(3)}`);
    }
  });

  it("vae: null writes the COCO files only; a VQ-VAE path that does not load throws before anything is written", async () => {
    const plain = join(tmp.path, "plain");
    await synthSegmentation({ out: plain, seed: 5, counts: { train: 1, valid: 0, test: 0 }, vae: null });
    assert.deepEqual((await readdir(join(plain, "train"))).sort(), ["_annotations.coco.json", "train_0000.png"]);
    const nowhere = join(tmp.path, "nowhere");
    await assert.rejects(synthSegmentation({ out: nowhere, counts: { train: 1, valid: 0, test: 0 }, vae: join(tmp.path, "no.npz") }), /no\.npz: cannot read/);
    await assert.rejects(stat(nowhere), /ENOENT/);
  });

  it("loads through loadDataset and batches through the real processor: each <segNNN> is one labelled token", async () => {
    const ckpt = join(tmp.path, "ckpt");
    await writeProcessorFixture(ckpt);
    const processor = await PaliGemmaProcessor.fromPretrained(ckpt);
    const { train, valid } = await loadDataset(out(), { policy: "error" });
    assert.equal(train!.length, 6);
    assert.equal(valid!.length, 2);
    const segIds = new Set(Array.from({ length: 128 }, (_, i) => processor.tokenizer.tokenToId(`<seg${String(i).padStart(3, "0")}>`)));
    assert.ok(![...segIds].includes(undefined as never) && segIds.size === 128);
    let objects = 0;
    for await (const batch of train!.batches({ batchSize: 3, collator: processor })) {
      const labels = batch.labels!.arraySync() as number[][];
      for (const row of labels) {
        const labelled = row.filter((l) => l !== -100);
        const text = processor.decode(labelled);
        const n = parseLocText(text).length;
        assert.equal(labelled.filter((id) => segIds.has(id)).length, 16 * n, text);
        objects += n;
      }
      tf.dispose(Object.values(batch));
    }
    assert.ok(objects >= 6);
  });
});
