/** Errors of training, each naming what went wrong, where, and what to do. */

/** A training run cannot start or continue (bad dataset, incompatible checkpoint, …). */
export class TrainingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TrainingError";
  }
}

/**
 * The loss (or the gradient norm) became NaN or ±Inf: training stopped before the bad update was applied.
 * `lastCheckpoint` is the newest checkpoint whose loss and weights were finite and not diverging (health.ts; kept
 * by rotation), or null when there is none; `checked` says what was verified for it and why newer ones were passed over.
 */
export class NonFiniteLossError extends TrainingError {
  constructor(
    readonly step: number,
    readonly what: "loss" | "gradient norm",
    readonly value: number,
    readonly lastCheckpoint: string | null,
    readonly microBatch?: number[],
    readonly checked?: string,
  ) {
    super(
      `training stopped at step ${step}: the ${what} is ${value}` +
        (microBatch ? ` (micro-batch of examples ${microBatch.join(", ")})` : "") +
        `; the update was not applied. ` +
        (lastCheckpoint
          ? `Last good checkpoint: ${lastCheckpoint} (kept)${checked ? `: ${checked}` : ""}; resume from it with a lower learningRate or a smaller maxGradNorm.`
          : `No good checkpoint was saved${checked ? ` (${checked})` : ""}; lower learningRate or maxGradNorm and start again.`),
    );
    this.name = "NonFiniteLossError";
  }
}
