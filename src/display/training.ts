/**
 * Training progress as data: a reducer from the trainer's events (onTrainBegin, onStepEnd, onLog, onEvaluate,
 * onSave, onTrainEnd) to a `TrainingPayload`, and a throttle that decides when a live display is updated (≤ 2/s by
 * default, always on the last event). Knows nothing about Jupyter; `kernel/live.ts` sends the payload and the
 * CLI prints it with `formatProgressLine`.
 *
 * @example
 * const t = new TrainingProgress({ maxSteps: 100 });
 * t.onLog({ step: 10, loss: 2.1, learningRate: 1e-4, epoch: 0.1 });
 * t.payload().series[0]; // { name: "loss", points: [{ step: 10, value: 2.1 }] }
 */
import type { TrainingPayload, SeriesPoint } from "./protocol.js";
import type { TrainerEventMap } from "../events/trainer.js";
import { DisplayError } from "./errors.js";

/**
 * The Trainer's events as the dashboard takes them: the types of src/events/trainer.ts, with only the fields it
 * needs required, so hand-made events (`live.onLog({ step, loss })`) work too. Extra numeric fields of a log
 * record (`gradNorm`, anything a callback adds) become curves.
 */
export type TrainBeginEvent = Partial<TrainerEventMap["trainBegin"]> & { title?: string };
export type StepEndEvent = Pick<TrainerEventMap["stepEnd"], "step"> & Partial<TrainerEventMap["stepEnd"]>;
export type LogEvent = Pick<TrainerEventMap["log"], "step"> & Partial<TrainerEventMap["log"]>;
export type EvaluateEvent = Pick<TrainerEventMap["evaluate"], "step" | "metrics"> & Partial<TrainerEventMap["evaluate"]>;
export type SaveEvent = TrainerEventMap["save"];
export type TrainEndEvent = Partial<TrainerEventMap["trainEnd"]>;

/**
 * The handlers the dashboard implements: a structural subset of src/events/trainer.ts `TrainerCallback`, so a
 * `TrainingProgress`/`LiveTraining` can be passed to the Trainer as a callback (the `control` argument is ignored).
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

const SKIP_SERIES = new Set(["step", "epoch"]); // the x axis and the progress line; every other scalar is a curve

/** Accumulates events into the dashboard state. Implements `TrainingEvents`. */
export class TrainingProgress implements TrainingEvents {
  private readonly now: () => number;
  private readonly maxPoints: number;
  private readonly series = new Map<string, SeriesPoint[]>();
  private state: Omit<TrainingPayload, "series" | "elapsedSeconds" | "etaSeconds" | "evaluations">;
  private readonly evaluations: TrainingPayload["evaluations"] = [];
  private startMs: number;
  private firstStep: number | null = null;
  private firstStepMs = 0;

  constructor(options: TrainingProgressOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxPoints = options.maxPoints ?? 1000;
    this.startMs = this.now();
    this.state = { version: 1, view: "training", status: "running", step: 0, maxSteps: null, epoch: null, numEpochs: null, samplesPerSecond: null, checkpoints: [] };
    this.onTrainBegin(options);
  }

  onTrainBegin(e: TrainBeginEvent): void {
    if (e.maxSteps !== undefined) {
      if (!(Number.isInteger(e.maxSteps) && e.maxSteps > 0)) throw new DisplayError("maxSteps", `expected a positive integer; got ${e.maxSteps}`);
      this.state.maxSteps = e.maxSteps;
    }
    if (e.numEpochs !== undefined) this.state.numEpochs = e.numEpochs;
    if (e.title !== undefined) this.state.title = e.title;
  }

  onStepEnd(e: StepEndEvent): void {
    this.advance(e.step, e.epoch);
  }

  onLog(e: LogEvent): void {
    this.advance(e.step, e.epoch);
    if (e.samplesPerSecond !== undefined && Number.isFinite(e.samplesPerSecond)) this.state.samplesPerSecond = e.samplesPerSecond;
    for (const [k, v] of Object.entries(e as object)) if (!SKIP_SERIES.has(k) && typeof v === "number") this.push(k, e.step, v);
  }

  onEvaluate(e: EvaluateEvent): void {
    if (typeof e?.metrics !== "object" || e.metrics === null) throw new DisplayError("onEvaluate.metrics", "expected { metricName: number }");
    this.advance(e.step, e.epoch);
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(e.metrics)) if (typeof v === "number") metrics[k] = v;
    this.evaluations.push({ step: e.step, metrics });
  }

  onSave(e: SaveEvent): void {
    this.state.checkpoints.push({ step: e.step, path: String(e.checkpoint ?? "") });
  }

  onTrainEnd(e: TrainEndEvent = {}): void {
    if (e.globalStep !== undefined) this.advance(e.globalStep);
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
    const { step, maxSteps } = this.state;
    if (this.state.status === "running" && maxSteps !== null && this.firstStep !== null && step > this.firstStep) {
      const perStep = (this.now() - this.firstStepMs) / 1000 / (step - this.firstStep);
      eta = Math.max(0, (maxSteps - step) * perStep);
    } else if (this.state.status !== "running") eta = 0;
    return {
      ...this.state,
      evaluations: this.evaluations.map((x) => ({ step: x.step, metrics: { ...x.metrics } })),
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
