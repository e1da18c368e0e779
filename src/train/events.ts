/**
 * The Trainer's event vocabulary (fixed, typed; fastai-style: display code lives outside the trainer). Events
 * reach callback objects (`{ onLog(e) {…} }`, awaited in order) and async iterators (`trainer.events()`).
 *
 *     const trainer = new Trainer({ model, args, trainDataset, collator, callbacks: [{
 *       onLog: (e) => console.log(e.step, e.loss, e.learningRate),
 *       onEvaluate: (e, control) => { if (e.metrics.eval_loss < 0.1) control.shouldTrainingStop = true; },
 *     }] });
 *     const run = trainer.train();
 *     for await (const e of trainer.events()) if (e.type === "log") draw(e);
 *     await run;
 */

/** Training-progress record (one per `loggingSteps`). */
export interface LogEvent {
  step: number;
  /** Fractional epoch (HF `state.epoch`). */
  epoch: number;
  /** Mean micro-batch loss since the previous log. */
  loss: number;
  /** HF's logged `learning_rate`: the scheduler's rate after this step, i.e. the next step's rate. */
  learningRate: number;
  /** Global L2 norm of the accumulated gradients before clipping, at this step. */
  gradNorm: number;
  /** Training examples per second since the previous log. */
  samplesPerSecond: number;
}

export interface TrainerEventMap {
  trainBegin: { maxSteps: number; numEpochs: number; globalStep: number; trainableParameters: number; resumedFrom: string | null };
  epochBegin: { epoch: number };
  stepBegin: { step: number };
  /** After an optimizer step. `loss` is the mean of its micro-batch losses. */
  stepEnd: { step: number; epoch: number; loss: number; learningRate: number; gradNorm: number };
  log: LogEvent;
  /** Metrics of an evaluation (`eval_loss`, computeMetrics' keys prefixed `eval_`, timing). */
  evaluate: { step: number; epoch: number; metrics: Record<string, number> };
  save: { step: number; checkpoint: string };
  epochEnd: { epoch: number };
  /**
   * Last event of every run: "done" (maxSteps / epochs reached), "stopped" (early stopping or a callback's
   * `control.shouldTrainingStop`), "failed" (then `message` says why and `metrics` is null; train() rejects).
   * The Trainer always sets `status` (optional in the type only so that hand-made events stay valid).
   */
  trainEnd: { globalStep: number; status?: "done" | "stopped" | "failed"; message?: string; metrics: TrainOutputMetrics | null; bestModelCheckpoint: string | null };
}

export type TrainerEventType = keyof TrainerEventMap;

/** One event, tagged: `{ type: "log", step, loss, … }`. */
export type TrainerEvent = { [K in TrainerEventType]: { type: K } & TrainerEventMap[K] }[TrainerEventType];

/** Flags a callback may set, read by the trainer after each event (HF `TrainerControl`). */
export interface TrainerControl {
  shouldTrainingStop: boolean;
}

type HandlerName<K extends string> = `on${Capitalize<K>}`;

/** A callbacks object: any subset of `onTrainBegin`, `onEpochBegin`, `onStepBegin`, `onStepEnd`, `onLog`, … */
export type TrainerCallback = {
  [K in TrainerEventType as HandlerName<K>]?: (event: TrainerEventMap[K], control: TrainerControl) => void | Promise<void>;
};

export interface TrainOutputMetrics {
  trainRuntime: number;
  trainSamplesPerSecond: number;
  trainStepsPerSecond: number;
  /** Mean micro-batch loss over the steps run in this call. */
  trainLoss: number;
  epoch: number;
}

/** Valid handler names, for checking callback objects. */
export const CALLBACK_NAMES = [
  "onTrainBegin", "onEpochBegin", "onStepBegin", "onStepEnd", "onLog", "onEvaluate", "onSave", "onEpochEnd", "onTrainEnd",
] as const;

/** A buffered async iterator fed by `push`, finished by `close` (or failed by `fail`). */
export class EventChannel<T> implements AsyncIterableIterator<T> {
  private queue: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private done = false;
  private error: unknown = null;

  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value, done: false });
    } else this.queue.push(value);
  }

  close(): void {
    this.done = true;
    if (this.waiting && this.queue.length === 0) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    if (this.waiting) {
      const w = this.waiting; // nothing queued: the pending next() rejects at once
      this.waiting = null;
      w.reject(error);
    } else this.error = error; // rejected after the queued events are read
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.done) {
      if (this.error !== null) {
        const e = this.error;
        this.error = null;
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.done = true;
    this.queue = [];
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** Delivers events to callback objects (in order, awaited) and to open channels. */
export class EventBus {
  private readonly channels = new Set<EventChannel<TrainerEvent>>();

  constructor(private readonly callbacks: TrainerCallback[]) {
    for (const [i, cb] of callbacks.entries()) {
      for (const key of Object.keys(cb)) {
        if (key.startsWith("on") && !(CALLBACK_NAMES as readonly string[]).includes(key)) {
          throw new Error(`callbacks[${i}].${key}: not a Trainer event; use one of ${CALLBACK_NAMES.join(", ")}`);
        }
      }
    }
  }

  /** A new iterator over the events emitted from now on; it ends when training ends. */
  subscribe(): EventChannel<TrainerEvent> {
    const ch = new EventChannel<TrainerEvent>();
    this.channels.add(ch);
    return ch;
  }

  async emit<K extends TrainerEventType>(type: K, event: TrainerEventMap[K], control: TrainerControl): Promise<void> {
    const name = `on${type[0]!.toUpperCase()}${type.slice(1)}` as HandlerName<K>;
    for (const cb of this.callbacks) {
      const fn = (cb as Record<string, ((e: unknown, c: TrainerControl) => unknown) | undefined>)[name];
      if (fn) await fn.call(cb, event, control);
    }
    for (const ch of this.channels) ch.push({ type, ...event } as TrainerEvent);
  }

  /** End every open iterator (with `error`, when training failed). */
  finish(error?: unknown): void {
    for (const ch of this.channels) error === undefined ? ch.close() : ch.fail(error);
    this.channels.clear();
  }
}
