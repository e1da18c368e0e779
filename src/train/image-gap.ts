/**
 * The image-use health signal: the teacher-forced eval loss with the images shuffled across the eval set, beside
 * the true loss. A model that reads the image does worse when it sees another example's image (gap > 0); a model
 * that has learnt a text-only shortcut (templates, priors) does exactly as well (gap ≈ 0). Issue 10 describes a
 * 15-minute pretraining whose projected image features collapsed while the loss looked fine: this catches it.
 *
 *     const shuffled = await evalLoss(model, shuffledImages(evalDataset), collator, 8);
 *     const gap = shuffled.loss - trueLoss;   // eval_image_gap
 *
 * The shuffle is a fixed derangement (example i gets the image of example i+1, the last one the first's), so the
 * number is deterministic and every example sees a foreign image.
 */
import type { ExampleDataset } from "../data/types.js";

/** Below this gap (nats per label token) after warm-up, the Trainer warns that the image is not used. */
export const IMAGE_GAP_WARN_BELOW = 0.01;

/** `dataset` with each example's image replaced by the next example's (cyclically). Needs ≥ 2 examples. */
export function shuffledImages(dataset: ExampleDataset): ExampleDataset {
  const n = dataset.length;
  if (n < 2) throw new RangeError(`shuffledImages: needs at least 2 examples to swap images, got ${n}`);
  return {
    length: n,
    async get(i: number) {
      const [own, other] = await Promise.all([dataset.get(i), dataset.get((i + 1) % n)]);
      return { ...own, image: other.image };
    },
  };
}

/** The warning text when `gap` says the model ignores the image, else null. */
export function imageGapWarning(gap: number, step: number, warmupSteps: number): string | null {
  if (step < Math.max(1, warmupSteps) || !(Math.abs(gap) < IMAGE_GAP_WARN_BELOW)) return null;
  return `WARNING eval_image_gap ${gap.toFixed(4)} at step ${step}: the eval loss does not change when images are shuffled ` +
    `across the eval set, so the model is not using the image (a text-only shortcut). Check that the vision tower and ` +
    `projector hold pretrained weights, that the prompts do not give the answer away, and try a lower learning rate.`;
}
