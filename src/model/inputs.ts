/**
 * Validation of forward inputs at the edge: wrong dtypes, ranks or sizes throw here with the argument named,
 * never deep inside TF.js.
 */
import { tf } from "../tf.js";
import type { PaliGemmaConfig } from "../config/types.js";

export interface ForwardInputs {
  pixelValues?: tf.Tensor | null; // float32[B,3,H,W], in [-1, 1]
  inputIds: tf.Tensor; // int32[B,L]
  attentionMask?: tf.Tensor | null; // int32[B,L], 1 = real token; default all ones
  tokenTypeIds?: tf.Tensor | null; // int32[B,L], 0 = image+prefix, 1 = suffix (and pads)
  labels?: tf.Tensor | null; // int32[B,L], −100 = ignored
}

export interface HostInputs {
  B: number;
  L: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array | null;
  labels: Int32Array | null;
}

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

function intRows(name: string, t: tf.Tensor, B?: number, L?: number): Int32Array {
  if (!(t instanceof tf.Tensor)) throw new InputError(`${name}: expected a tf.Tensor (use paligemma-ts's tf), got ${typeof t}`);
  if (t.rank !== 2) throw new InputError(`${name}: expected shape [B, L], got [${t.shape}]`);
  if (t.dtype !== "int32") throw new InputError(`${name}: expected dtype int32, got ${t.dtype} (tf.tensor2d(ids, shape, "int32"))`);
  if (B !== undefined && (t.shape[0] !== B || t.shape[1] !== L)) {
    throw new InputError(`${name}: shape [${t.shape}] does not match inputIds [${B}, ${L}]`);
  }
  return t.dataSync() as Int32Array;
}

export function readInputs(x: ForwardInputs, cfg: PaliGemmaConfig): HostInputs {
  const inputIds = intRows("inputIds", x.inputIds);
  const [B, L] = x.inputIds.shape as number[];
  if (L < 1) throw new InputError("inputIds: empty sequence");
  const V = cfg.textConfig.vocabSize;
  for (let i = 0; i < inputIds.length; i++) {
    if (inputIds[i] < 0 || inputIds[i] >= V) {
      throw new InputError(`inputIds: id ${inputIds[i]} at [${Math.floor(i / L)}, ${i % L}] is outside the vocabulary (0..${V - 1})`);
    }
  }
  const attentionMask = x.attentionMask ? intRows("attentionMask", x.attentionMask, B, L) : new Int32Array(B * L).fill(1);
  const tokenTypeIds = x.tokenTypeIds ? intRows("tokenTypeIds", x.tokenTypeIds, B, L) : null;
  const labels = x.labels ? intRows("labels", x.labels, B, L) : null;
  const px = x.pixelValues;
  if (px) {
    const vc = cfg.visionConfig;
    const want = [B, vc.numChannels, vc.imageSize, vc.imageSize];
    if (px.dtype !== "float32" || px.rank !== 4 || px.shape.some((d, i) => d !== want[i])) {
      throw new InputError(`pixelValues: expected float32[${want}], got ${px.dtype}[${px.shape}]`);
    }
  }
  return { B, L, inputIds, attentionMask, tokenTypeIds, labels };
}
