/**
 * The bitsandbytes fixture `test/fixtures/nf4/bnb_nf4.safetensors` (made by test/fixtures/nf4/gen_bnb_nf4.py with
 * bitsandbytes 0.50.2 on CPU): inputs, packed codes, absmax, double-quantized state and dequantized outputs.
 */
import { join } from "node:path";
import { SafetensorsFile } from "../../src/io/safetensors.js";
import { repoRoot } from "../helpers/paths.js";

export const BNB_FIXTURE = join(repoRoot(), "test", "fixtures", "nf4", "bnb_nf4.safetensors");

export interface BnbCase {
  name: string;
  shape: [number, number];
  x: Float32Array;
  nf4: { packed: Uint8Array; absmax: Float32Array; dequant: Float32Array };
  nf4dq: { qabsmax: Uint8Array; absmax2: Float32Array; offset: number; dequant: Float32Array };
  int8?: { q: Int8Array; absmax: Float32Array; dequant: Float32Array };
}

export interface BnbFixture {
  meta: { bitsandbytes: string; torch: string; blocksize: number };
  nf4Code: Float32Array;
  dynamicCode: Float32Array;
  cases: BnbCase[];
}

export async function loadBnbFixture(): Promise<BnbFixture> {
  const f = await SafetensorsFile.open(BNB_FIXTURE);
  try {
    const meta = JSON.parse(f.metadata["meta"]!) as BnbFixture["meta"] & { cases: Record<string, { shape: [number, number]; int8: boolean }> };
    const raw = async (k: string) => (await f.readRaw(k)).slice();
    const f32 = async (k: string) => new Float32Array((await raw(k)).buffer);
    const cases: BnbCase[] = [];
    for (const [name, c] of Object.entries(meta.cases)) {
      const p = `case.${name}.`;
      cases.push({
        name,
        shape: c.shape,
        x: await f32(p + "x"),
        nf4: { packed: await raw(p + "nf4.packed"), absmax: await f32(p + "nf4.absmax"), dequant: await f32(p + "nf4.dequant") },
        nf4dq: {
          qabsmax: await raw(p + "nf4dq.qabsmax"),
          absmax2: await f32(p + "nf4dq.absmax2"),
          offset: (await f32(p + "nf4dq.offset"))[0]!,
          dequant: await f32(p + "nf4dq.dequant"),
        },
        int8: c.int8
          ? { q: new Int8Array((await raw(p + "int8.q")).buffer), absmax: await f32(p + "int8.absmax"), dequant: await f32(p + "int8.dequant") }
          : undefined,
      });
    }
    return { meta, nf4Code: await f32("code.nf4"), dynamicCode: await f32("code.dynamic"), cases };
  } finally {
    await f.close();
  }
}

/** Index of the first element whose float32 bits differ, or -1 (NaN payloads and ±0 count as different). */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

export function firstByteDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
