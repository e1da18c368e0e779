/**
 * Generated segmentation text → `Detections` with masks: `<loc>`×4 `<seg>`×16 label objects (parsed by
 * codecs/loc.ts `parseLocText`, total), boxes in pixels as `Detections.fromLocObjects` gives them, masks decoded
 * by the VQ-VAE and pasted into each box as big_vision's evaluator does (codecs/seg.ts `decodeSegMasks`).
 * Objects without exactly 16 `<seg>` codes, inverted boxes and labels outside `classes` are dropped; any text
 * gives a (possibly empty) result, never an exception. Bad options throw.
 *
 * @example
 *   const vae = await VqVae.load("vae-oid.npz");
 *   const dets = segmentationFromPaligemma(generated, vae, { imageWidth: 640, imageHeight: 480, classes: ["cat"] });
 *   dets.mask!.data; // uint8[N·480·640]
 *   evaluate(preds, refs, ["mask_map", "miou"], { classes, imageSizes, parseSegmentation: segmentationParser(vae) });
 */
import { Detections, type FromPaligemmaOptions } from "./detections.js";
import { checkImageSize, parseLocText, type LocObject } from "./loc.js";
import { decodeSegMasks } from "./seg.js";
import type { VqVae } from "./vqvae/model.js";
import { SEG_TOKENS_PER_MASK } from "./vqvae/model.js";

/** Text → Detections with masks (see the module doc). */
export function segmentationFromPaligemma(text: string, vae: VqVae, options: FromPaligemmaOptions): Detections {
  checkImageSize(options);
  const objects: LocObject[] = parseLocText(text).filter(
    (o) =>
      o.segs.length === SEG_TOKENS_PER_MASK &&
      o.locs[2] >= o.locs[0] &&
      o.locs[3] >= o.locs[1] &&
      (!options.classes || options.classes.includes(o.label)),
  );
  const boxes = Detections.fromLocObjects(objects, options); // keeps every object that passed the filter
  const masks = decodeSegMasks(vae, objects.map((o) => ({ codes: o.segs, locs: o.locs })), options);
  const hw = options.imageWidth * options.imageHeight;
  const data = new Uint8Array(objects.length * hw);
  masks.forEach((m, i) => data.set(m, i * hw));
  return new Detections({
    xyxy: boxes.xyxy,
    classId: boxes.classId,
    className: boxes.className,
    mask: { data, width: options.imageWidth, height: options.imageHeight },
  });
}

/** The `parseSegmentation` hook of the metrics registry (eval/registry.ts), bound to a loaded VQ-VAE. */
export function segmentationParser(vae: VqVae): (text: string, options: FromPaligemmaOptions) => Detections {
  return (text, options) => segmentationFromPaligemma(text, vae, options);
}
