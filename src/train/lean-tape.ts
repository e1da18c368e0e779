/**
 * A leaner TF.js gradient tape: activations and gradients released as soon as the backward pass is done with them,
 * as PyTorch's autograd does, instead of all at the end of `tf.variableGrads`.
 *
 * TF.js (tfjs-core 4.x `engine.ts`, `tape.ts`) keeps, until the whole backward pass ends:
 *   1. a clone of every tensor a kernel's gradient config names in `inputsToSave`. For Add, Sub, AddN, Reshape,
 *      Slice, Sum, Mean and Concat the gradient reads only `.shape`/`.rank` of them (`reshape(dy, x.shape)`,
 *      broadcast reduction axes, split sizes), yet the clone keeps the buffer alive: the residual stream at every
 *      `x + f(x)`, every pre-reshape matmul output. PyTorch saves nothing for add/view. Here those kernels save a
 *      {@link SavedShape} (shape and dtype, no data), so the forward pass's `tf.tidy` frees the buffers.
 *   2. every node's saved tensors and every intermediate gradient (output gradients, and the partial gradients
 *      of a tensor used twice, which are summed but not freed). Here, once the backward pass has moved on past a
 *      node (when the next node's gradient is asked for), that node's saved tensors, its output gradients and
 *      the partial gradients summed into them are disposed. A gradient a node hands on unchanged (the same tensor
 *      object) is never disposed early.
 * Gradients are the same ops on the same values; only lifetimes change.
 *
 *     const { value, grads } = withLeanTape(() => tf.variableGrads(loss, varList));
 *
 * It patches three methods of the TF.js engine for the duration of the call (restored afterwards, also on throw);
 * an engine without them (another TF.js major) is left alone and the call runs as before.
 */
import { tf } from "../tf.js";

/** Kernels whose registered gradient reads only the shape, rank and dtype of its saved tensors. */
export const SHAPE_ONLY_GRADIENT_KERNELS: ReadonlySet<string> = new Set(["Add", "Sub", "AddN", "Reshape", "Slice", "Sum", "Mean", "Concat"]);

/** What a shape-only kernel saves for its gradient: a tensor's metadata without its data. */
export class SavedShape {
  readonly rank: number;
  readonly size: number;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: tf.DataType,
  ) {
    this.rank = shape.length;
    this.size = shape.reduce((a, b) => a * b, 1);
  }

  /** The engine disposes saved tensors after the backward pass; there is nothing to free. */
  dispose(): void {}
}

type Grads = Record<string, () => tf.Tensor>;
interface TapeNode {
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Grads;
}
interface Engine {
  getTensorsForGradient(kernelName: string, inputs: unknown, outputs: tf.Tensor[]): tf.Tensor[];
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  addTapeNode(...args: unknown[]): void;
  keep<T extends tf.Tensor>(t: T): T;
  clone<T extends tf.Tensor>(t: T): T;
  state: { activeTape: TapeNode[] | null };
}
const PATCHED = ["getTensorsForGradient", "saveTensorsForBackwardMode", "addTapeNode"] as const;

let active = false;

/** Run `f` (a gradient computation such as `tf.variableGrads`) with the lean tape described above. */
export function withLeanTape<T>(f: () => T): T {
  const engine = tf.engine() as unknown as Partial<Engine>;
  if (active || PATCHED.some((m) => typeof engine[m] !== "function")) return f();
  const e = engine as Engine;
  const originals = PATCHED.map((m) => [m, Object.prototype.hasOwnProperty.call(e, m), e[m]] as const);
  const { getTensorsForGradient, saveTensorsForBackwardMode, addTapeNode } = e;

  /** Gradients produced for each tensor id (partial sums included) and tensors handed on unchanged (never freed early). */
  const produced = new Map<number, tf.Tensor[]>();
  const handedOn = new Set<tf.Tensor>();
  let pending: tf.Tensor[] = [];
  const release = () => {
    for (const t of pending) if (!handedOn.has(t)) t.dispose();
    pending = [];
  };

  e.getTensorsForGradient = function (kernelName, inputs, outputs) {
    const tensors = getTensorsForGradient.call(this, kernelName, inputs, outputs);
    return SHAPE_ONLY_GRADIENT_KERNELS.has(kernelName) ? (tensors.map((t) => new SavedShape(t.shape, t.dtype)) as unknown as tf.Tensor[]) : tensors;
  };
  e.saveTensorsForBackwardMode = function (tensors) {
    if (!tensors.some((t) => (t as unknown) instanceof SavedShape)) return saveTensorsForBackwardMode.call(this, tensors);
    return tensors.map((t) => ((t as unknown) instanceof SavedShape ? t : this.keep(this.clone(t))));
  };
  e.addTapeNode = function (...args: unknown[]) {
    addTapeNode.apply(this, args);
    const tape = this.state.activeTape;
    const node = tape?.[tape.length - 1];
    const gradient = node?.gradient;
    if (!node || !gradient) return;
    node.gradient = (dys) => {
      release(); // the backward pass has moved past the previous node
      const grads = gradient(dys);
      const own = dys.filter((d): d is tf.Tensor => d != null);
      pending.push(...(node.saved ?? []), ...own);
      for (const o of node.outputs) pending.push(...(produced.get(o.id) ?? []));
      const wrapped: Grads = {};
      for (const [name, g] of Object.entries(grads)) {
        wrapped[name] = () => {
          const dx = g();
          if (own.includes(dx)) handedOn.add(dx);
          const x = node.inputs[name];
          if (x) produced.set(x.id, [...(produced.get(x.id) ?? []), dx]);
          return dx;
        };
      }
      return wrapped;
    };
  };
  active = true;
  try {
    return f();
  } finally {
    active = false;
    for (const [m, own, fn] of originals) {
      if (own) (e as unknown as Record<string, unknown>)[m] = fn;
      else delete (e as unknown as Record<string, unknown>)[m];
    }
  }
}
