/**
 * A tiny fake dataset + collator over the golden PaliGemma inputs (`test/fixtures/golden/paligemma2-tiny`
 * outputs.safetensors `inputs.*`, 2 rows), so trainer tests do not depend on src/data's processor.
 *
 * An example's `image` names a golden row ("0" or "1"); `prefix` is a pixel scale ("1", "0.9", … or "nan" to
 * poison the pixels), so examples built from the same row still differ. `suffix` is unused.
 *
 *     const ds = goldenDataset([{ row: 0 }, { row: 1, scale: 0.8 }]);
 *     const collator = await GoldenCollator.load();
 */
import { tf } from "../../src/tf.js";
import type { CollateOptions, Collator, Example, ExampleDataset, ModelBatch } from "../../src/data/types.js";
import { Golden } from "../helpers/golden.js";

export interface RowSpec {
  row: 0 | 1;
  scale?: number | "nan";
}

export function goldenDataset(specs: readonly RowSpec[]): ExampleDataset {
  const examples: Example[] = specs.map((s, i) => ({ image: String(s.row), prefix: String(s.scale ?? 1), suffix: "", source: `golden:${i}` }));
  return { length: examples.length, get: async (i) => examples[i]! };
}

/** Examples k = 0..n-1: row k % 2, pixel scale 1 − 0.05·k (all different). */
export function variedDataset(n: number): ExampleDataset {
  return goldenDataset(Array.from({ length: n }, (_, k) => ({ row: (k % 2) as 0 | 1, scale: 1 - 0.05 * k })));
}

const KEYS = ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"] as const;

export class GoldenCollator implements Collator {
  private constructor(private readonly t: Record<(typeof KEYS)[number], tf.Tensor>) {}

  static async load(): Promise<GoldenCollator> {
    const g = await Golden.open();
    try {
      const t = {} as Record<(typeof KEYS)[number], tf.Tensor>;
      for (const k of KEYS) t[k] = tf.keep(await g.tensor(`inputs.${k}`));
      return new GoldenCollator(t);
    } finally {
      await g.close();
    }
  }

  async collate(examples: readonly Example[], options: CollateOptions = {}): Promise<ModelBatch> {
    const rows = examples.map((e) => Number(e.image));
    const scales = examples.map((e) => (e.prefix === "nan" ? NaN : Number(e.prefix)));
    return tf.tidy(() => {
      const idx = tf.tensor1d(rows, "int32");
      const px = tf.mul(tf.gather(this.t.pixel_values, idx), tf.tensor4d(scales, [rows.length, 1, 1, 1]));
      const ids = tf.gather(this.t.input_ids, idx);
      const mask = tf.gather(this.t.attention_mask, idx);
      const types = tf.gather(this.t.token_type_ids, idx);
      if (!options.forGeneration) {
        return { pixelValues: px, inputIds: ids, attentionMask: mask, tokenTypeIds: types, labels: tf.gather(this.t.labels, idx) };
      }
      // prompt = the prefix part (token type 0), right-padded with pad 0 / mask 0
      const t = types.arraySync() as number[][];
      const id = ids.arraySync() as number[][];
      const lens = t.map((r) => r.indexOf(1) < 0 ? r.length : r.indexOf(1));
      const L = Math.max(...lens);
      const pIds = id.map((r, b) => [...r.slice(0, lens[b]), ...new Array(L - lens[b]!).fill(0)]);
      const pMask = lens.map((n) => [...new Array(n).fill(1), ...new Array(L - n).fill(0)]);
      return {
        pixelValues: px,
        inputIds: tf.tensor2d(pIds, [rows.length, L], "int32"),
        attentionMask: tf.tensor2d(pMask, [rows.length, L], "int32"),
        tokenTypeIds: tf.zeros([rows.length, L], "int32"),
      };
    });
  }

  dispose(): void {
    tf.dispose(Object.values(this.t));
  }
}
