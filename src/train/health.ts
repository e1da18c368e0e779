/**
 * The NaN guard's notion of a good checkpoint. When the loss or the gradient norm of a step is NaN/±Inf, training
 * stops; the checkpoint it points the user to must be one worth resuming from, not merely the newest: at lr 1e30 the
 * weights blow up (max |w| 5e29) a step or two before the loss turns NaN, and a checkpoint saved in between is
 * finite but useless. So every checkpoint records, when it is saved, what was checked:
 *
 *   - loss: the last step's loss is finite and at most LOSS_FACTOR × the run's first step loss (not diverging);
 *   - weights: every trainable value is finite and max |w| ≤ max(WEIGHT_FACTOR × max |w| at the start, WEIGHT_FLOOR).
 *
 * The newest checkpoint passing both is the run's last good checkpoint: rotation keeps it, and the NaN error names it
 * with the figures checked (and says why newer ones were passed over).
 *
 *     const h = measureHealth(step, loss, maxAbsWeight(params), reference);
 *     describeHealth(h); // "loss 2.31 (finite, ≤ 10 × first 2.52); weights finite, max |w| 0.84 ≤ 100"
 */
import { tf } from "../tf.js";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { checkpointStep } from "./checkpoint.js";

/** A loss above LOSS_FACTOR × the first step's loss counts as diverging. */
export const LOSS_FACTOR = 10;
/** Weights above WEIGHT_FACTOR × their starting max |w| (and above WEIGHT_FLOOR) count as diverging. */
export const WEIGHT_FACTOR = 100;
export const WEIGHT_FLOOR = 100;

/** What a run's checkpoints are compared with: measured at its first step. */
export interface HealthReference {
  firstLoss: number;
  initialMaxAbsWeight: number;
}

/** The verdict on one checkpoint and the figures behind it. */
export interface CheckpointHealth {
  step: number;
  loss: number;
  lossBound: number;
  maxAbsWeight: number; // NaN when some weight is NaN
  weightBound: number;
  weightsFinite: boolean;
  good: boolean;
  /** Why it is not good (empty when good). */
  reasons: string[];
}

/** max |w| over `vars`; NaN if any value is NaN, Infinity if any is ±Infinity. */
export function maxAbsWeight(vars: Iterable<tf.Tensor>): number {
  let m = 0;
  for (const v of vars) {
    const [max, bad] = tf.tidy(() => {
      const a = tf.abs(v);
      return [tf.max(a), tf.any(tf.isNaN(a))];
    }).map((t) => {
      const x = t.dataSync()[0]!;
      t.dispose();
      return x;
    });
    if (bad) return NaN;
    m = Math.max(m, max!);
  }
  return m;
}

const fmt = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(3)).toString() : String(x));

/** The verdict for a checkpoint saved after `step` whose last step loss was `loss`. */
export function measureHealth(step: number, loss: number, maxAbs: number, ref: HealthReference): CheckpointHealth {
  const lossBound = LOSS_FACTOR * ref.firstLoss;
  const weightBound = Math.max(WEIGHT_FACTOR * ref.initialMaxAbsWeight, WEIGHT_FLOOR);
  const reasons: string[] = [];
  if (!Number.isFinite(loss)) reasons.push(`loss ${loss} is not finite`);
  else if (loss > lossBound) reasons.push(`loss ${fmt(loss)} > ${LOSS_FACTOR} × first loss ${fmt(ref.firstLoss)} (diverging)`);
  const weightsFinite = Number.isFinite(maxAbs);
  if (!weightsFinite) reasons.push(`weights are not finite (max |w| ${maxAbs})`);
  else if (maxAbs > weightBound) reasons.push(`max |w| ${fmt(maxAbs)} > ${fmt(weightBound)} (diverging)`);
  return { step, loss, lossBound, maxAbsWeight: maxAbs, weightBound, weightsFinite, good: reasons.length === 0, reasons };
}

/** One line saying what was checked and what was found. */
export function describeHealth(h: CheckpointHealth): string {
  if (!h.good) return h.reasons.join("; ");
  return `loss ${fmt(h.loss)} (finite, ≤ ${LOSS_FACTOR} × first loss = ${fmt(h.lossBound)}); weights finite, max |w| ${fmt(h.maxAbsWeight)} ≤ ${fmt(h.weightBound)}`;
}

/**
 * The NaN guard's answer: the last good checkpoint (if still on disk) and what was checked: its health, and the
 * newer checkpoints passed over as unhealthy (`healthOf`: this run's verdicts by path).
 */
export async function lastGoodCheckpoint(lastGood: string | null, healthOf: ReadonlyMap<string, CheckpointHealth>): Promise<{ path: string | null; checked: string }> {
  const good = lastGood && (await stat(lastGood).then(() => true, () => false)) ? lastGood : null;
  const goodStep = good ? checkpointStep(good)! : -1;
  const parts: string[] = [];
  const h = good ? healthOf.get(good) : undefined;
  if (good) parts.push(h ? describeHealth(h) : "found healthy when it was saved");
  const passed = [...healthOf].filter(([, x]) => !x.good && x.step > goodStep).map(([p, x]) => `${basename(p)} (${describeHealth(x)})`);
  if (passed.length) parts.push(`passed over ${passed.join(", ")}`);
  return { path: good, checked: parts.join("; ") };
}
