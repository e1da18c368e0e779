/** A bad argument to a display builder: names the argument and says what was expected. */
export class DisplayError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "DisplayError";
  }
}

/** A short, safe description of a value for error messages. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? v.slice(0, 60) + "…" : v);
  if (v instanceof Uint8Array) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === "object") return `object with keys [${Object.keys(v).slice(0, 8).join(", ")}]`;
  return String(v);
}
