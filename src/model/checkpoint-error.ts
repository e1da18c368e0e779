/** The error of checkpoint loading: a checkpoint (or adapter) that does not match its config. A leaf module. */
export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = "CheckpointError";
  }
}
