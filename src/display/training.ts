/**
 * Training progress as data: a reducer from the trainer's events (onTrainBegin, onStepEnd, onLog, onEvaluate,
 * onSave, onTrainEnd) to a `TrainingPayload`, and a throttle that decides when a live display is updated (≤ 2/s by
 * default, always on the last event). Knows nothing about Jupyter; `kernel/live.ts` sends the payload and the
 * CLI prints it with `formatProgressLine`.
 *
 * @example
 * const t = new TrainingProgress({ totalSteps: 100 });
 * t.onLog({ step: 10, loss: 2.1, learningRate: 1e-4, epoch: 0.1 });
 * t.payload().series[0]; // { name: "loss", points: [{ step: 10, value: 2.1 }] }
 */
import type { TrainingPayload, SeriesPoint } from "./protocol.js";
import { DisplayError } from "./errors.js";

export interface TrainBeginEvent {
  totalSteps?: number;
  /** The Trainer's name for `totalSteps` (src/train/events.ts `trainBegin`). */
  maxSteps?: number;
  numEpochs?: number;
  title?: string;
}
export interface StepEndEvent {
  step: number;
  totalSteps?: number;
  epoch?: number;
}
/** HF-style log record: `{ loss, learningRate, epoch, step, samplesPerSecond, … }`; every other number field becomes a curve too. */
export interface LogEvent {
  step: number;
  epoch?: number;
  loss?: number;
  learningRate?: number;
  samplesPerSecond?: number;
  gradNorm?: number;
}
export interface EvaluateEvent {
  step: number;
  metrics: Record<string, number>;
}
export interface SaveEvent {
  step: number;
  /** Checkpoint directory (`checkpoint` in the Trainer's `save` event). */
  path?: string;
  checkpoint?: string;
}
export interface TrainEndEvent {
  step?: number;
  /** The Trainer's final step (src/train/events.ts `trainEnd`). */
  globalStep?: number;
  status?: "done" | "stopped" | "failed";
  message?: string;
}

/**
 * The trainer's event vocabulary (every handler optional), as the display layer consumes it: a structural subset
 * of src/train/events.ts `TrainerCallback`, so a `TrainingProgress`/`LiveTraining` can be passed to the Trainer as
 * a callback (extra fields such as `gradNorm` become curves; the `control` argument is ignored).
 */
export interface TrainingEvents {
  onTrainBegin?(e: TrainBeginEvent): void;
  onStepEnd?(e: StepEndEvent): void;
  onLog?(e: LogEvent): void;
  onEvaluate?(e: EvaluateEvent): void;
  onSave?(e: SaveEvent): void;
  onTrainEnd?(e: TrainEndEvent): void;
}

export interface TrainingProgressOptions extends TrainBeginEvent {
  /** Clock in milliseconds (tests inject one). Default `Date.now`. */
  now?: () => number;
  /** Points kept per series; older points are thinned to every other one beyond it. Default 1000. */
  maxPoints?: number;
}

const SKIP_SERIES = new Set(["step", "epoch", "samplesPerSecond"]);

/** Accumulates events into the dashboard state. Implements `TrainingEvents`. */
export class TrainingProgress implements TrainingEvents {
  private readonly now: () => number;
  private readonly maxPoints: number;
  private readonly series = new Map<string, SeriesPoint[]>();
  private state: Omit<TrainingPayload, "series" | "elapsedSeconds" | "etaSeconds">;
  private startMs: number;
  private firstStep: number | null = null;
  private firstStepMs = 0;

  constructor(options: TrainingProgressOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxPoints = options.maxPoints ?? 1000;
    this.startMs = this.now();
    this.state = { version: 1, status: "running", step: 0, totalSteps: null, epoch: null, numEpochs: null, samplesPerSecond: null, evaluation: null, checkpoints: [] };
    this.onTrainBegin(options);
  }

  onTrainBegin(e: TrainBeginEvent): void {
    const total = e.totalSteps ?? e.maxSteps;
    if (total !== undefined) {
      if (!(Number.isInteger(total) && total > 0)) throw new DisplayError("totalSteps", `expected a positive integer; got ${total}`);
      this.state.totalSteps = total;
    }
    if (e.numEpochs !== undefined) this.state.numEpochs = e.numEpochs;
    if (e.title !== undefined) this.state.title = e.title;
  }

  onStepEnd(e: StepEndEvent): void {
    this.advance(e.step, e.epoch);
    if (e.totalSteps !== undefined) this.state.totalSteps = e.totalSteps;
  }

  onLog(e: LogEvent): void {
    this.advance(e.step, e.epoch);
    if (e.samplesPerSecond !== undefined && Number.isFinite(e.samplesPerSecond)) this.state.samplesPerSecond = e.samplesPerSecond;
    for (const [k, v] of Object.entries(e as object)) if (!SKIP_SERIES.has(k) && typeof v === "number") this.push(k, e.step, v);
  }

  onEvaluate(e: EvaluateEvent): void {
    if (typeof e?.metrics !== "object" || e.metrics === null) throw new DisplayError("onEvaluate.metrics", "expected { metricName: number }");
    this.advance(e.step);
    this.state.evaluation = { step: e.step, metrics: { ...e.metrics } };
    const loss = e.metrics.evalLoss ?? e.metrics.eval_loss ?? e.metrics.loss;
    if (typeof loss === "number") this.push("evalLoss", e.step, loss);
  }

  onSave(e: SaveEvent): void {
    this.state.checkpoints.push({ step: e.step, path: String(e.path ?? e.checkpoint ?? "") });
  }

  onTrainEnd(e: TrainEndEvent = {}): void {
    const step = e.step ?? e.globalStep;
    if (step !== undefined) this.advance(step);
    this.state.status = e.status ?? "done";
    if (e.message !== undefined) this.state.message = e.message;
  }

  /** Is training over (onTrainEnd seen)? */
  get finished(): boolean {
    return this.state.status !== "running";
  }

  /** The current dashboard payload (a fresh object each call). */
  payload(): TrainingPayload {
    const elapsed = (this.now() - this.startMs) / 1000;
    let eta: number | null = null;
    const { step, totalSteps } = this.state;
    if (this.state.status === "running" && totalSteps !== null && this.firstStep !== null && step > this.firstStep) {
      const perStep = (this.now() - this.firstStepMs) / 1000 / (step - this.firstStep);
      eta = Math.max(0, (totalSteps - step) * perStep);
    } else if (this.state.status !== "running") eta = 0;
    return {
      ...this.state,
      evaluation: this.state.evaluation && { step: this.state.evaluation.step, metrics: { ...this.state.evaluation.metrics } },
      checkpoints: [...this.state.checkpoints],
      elapsedSeconds: elapsed,
      etaSeconds: eta,
      series: [...this.series.entries()].map(([name, points]) => ({ name, points: [...points] })),
    };
  }

  private advance(step: number, epoch?: number): void {
    if (!(Number.isInteger(step) && step >= 0)) throw new DisplayError("step", `expected a non-negative integer; got ${step}`);
    if (this.firstStep === null) {
      this.firstStep = step;
      this.firstStepMs = this.now();
    }
    this.state.step = Math.max(this.state.step, step);
    if (epoch !== undefined && Number.isFinite(epoch)) this.state.epoch = epoch;
  }

  private push(name: string, step: number, value: number): void {
    let pts = this.series.get(name);
    if (!pts) this.series.set(name, (pts = []));
    pts.push({ step, value });
    if (pts.length > this.maxPoints) this.series.set(name, pts.filter((_, i) => i % 2 === 0 || i === pts!.length - 1));
  }
}

/** Rate limiter for live displays: at most one update per `intervalMs`, the final one always. */
export class Throttle {
  private last = -Infinity;
  constructor(
    readonly intervalMs = 500,
    private readonly now: () => number = Date.now,
  ) {
    if (!(intervalMs >= 0)) throw new DisplayError("intervalMs", `expected ≥ 0; got ${intervalMs}`);
  }

  /** True (and the clock restarts) when an update may be sent now; `force` for the last one. */
  ready(force = false): boolean {
    const t = this.now();
    if (!force && t - this.last < this.intervalMs) return false;
    this.last = t;
    return true;
  }
}
