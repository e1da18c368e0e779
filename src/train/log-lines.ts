/**
 * The Trainer's console output, as HF `transformers.Trainer` prints it: one Python-dict line per log / evaluation
 * / end of training (`{'loss': 2.1234, 'grad_norm': 0.91, 'learning_rate': 4.5e-05, 'epoch': 0.5}`), so users can
 * compare runs with their Python notebooks line by line. Where lines go is a `TrainerLogger` (console by default;
 * the CLI passes one that keeps its progress bar intact); how much is printed follows `TrainingArguments.logLevel`.
 *
 *     formatLogDict({ loss: 2.12345, grad_norm: 0.5, learning_rate: 4.5e-5, epoch: 0.5 });
 *     // "{'loss': 2.1235, 'grad_norm': 0.5, 'learning_rate': 4.5e-05, 'epoch': 0.5}"
 */
import type { LogLevel } from "./arguments.js";

/** Where the Trainer's lines go. */
export interface TrainerLogger {
  info(line: string): void;
  warn(line: string): void;
}

/** The default: `console.log` / `console.warn` (what a notebook cell or a terminal shows). */
export const CONSOLE_LOGGER: TrainerLogger = { info: (l) => console.log(l), warn: (l) => console.warn(l) };

/** A logger that respects `logLevel`: info lines unless warning/error/critical; warnings unless error/critical. */
export function leveledLogger(logger: TrainerLogger, level: LogLevel): TrainerLogger {
  const quietInfo = level === "warning" || level === "error" || level === "critical";
  const quietWarn = level === "error" || level === "critical";
  return { info: (l) => (quietInfo ? undefined : logger.info(l)), warn: (l) => (quietWarn ? undefined : logger.warn(l)) };
}

/** A number as Python's `repr(float)` writes it (`4.5e-05`, `2.0`, `nan`, `inf`). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  const a = Math.abs(x);
  if (a < 1e-4 || a >= 1e16) {
    const [m, e] = x.toExponential().split("e");
    const exp = Number(e);
    return `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return String(x);
}

/** HF rounds the logged training loss to 4 decimals (`round(tr_loss / steps, 4)`). */
export const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** `{'key': value, …}` in insertion order, values as Python floats (integers stay integers when `ints` names them). */
export function formatLogDict(values: Record<string, number>, ints: readonly string[] = []): string {
  const parts = Object.entries(values).map(([k, v]) => `'${k}': ${ints.includes(k) && Number.isInteger(v) ? String(v) : pyFloat(v)}`);
  return `{${parts.join(", ")}}`;
}
