/**
 * Delivery of the Trainer's events (types in src/events/trainer.ts, re-exported here so imports keep working). Events
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

export {
  CALLBACK_NAMES,
  type HandlerName,
  type LogEvent,
  type TrainerCallback,
  type TrainerControl,
  type TrainerEvent,
  type TrainerEventMap,
  type TrainerEventType,
  type TrainOutputMetrics,
} from "../events/trainer.js";
import { CALLBACK_NAMES, type HandlerName, type TrainerCallback, type TrainerControl, type TrainerEvent, type TrainerEventMap, type TrainerEventType } from "../events/trainer.js";

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
