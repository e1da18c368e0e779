/**
 * The one error class of `src/config/`: a config value that cannot be used, named by its dotted JSON path.
 *
 * Message format (STYLE.md habit 3, "field X: got Y; use Z"):
 *   `<file>: field <field>: got <value>; <fix>`
 * e.g. `config.json: field text_config.hidden_size: got "abc"; expected a positive integer`.
 */

/** How a JSON value is shown after `got`: JSON text, shortened; `undefined` says the key is missing. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing (the key is missing)";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * A configuration value that is missing, mistyped or inconsistent.
 *
 * @example
 * throw new ConfigError({ field: "text_config.num_key_value_heads", value: 3,
 *   fix: "num_attention_heads (8) must be a multiple of it", file: "config.json" });
 */
export class ConfigError extends Error {
  /** Dotted path of the offending key, e.g. `text_config.num_key_value_heads`; `(root)` for the whole file. */
  readonly field: string;
  /** The file (or other source) the value came from, when known. */
  readonly file?: string;
  /** The offending value as read (`undefined` when the key is missing). */
  readonly value: unknown;
  /** What a valid value looks like / how to fix it. */
  readonly fix: string;

  /**
   * @param args.field dotted path of the key; `(root)` when the whole file is at fault
   * @param args.value the value as read (`undefined`: missing), shown JSON-encoded after `got`
   * @param args.shown text to show after `got` instead of the encoded value (e.g. `invalid JSON (...)`)
   * @param args.fix what a valid value looks like
   * @param args.file the file the value came from
   */
  constructor(args: { field: string; value: unknown; fix: string; file?: string; shown?: string; cause?: unknown }) {
    const where = args.file ? `${args.file}: ` : "";
    const got = args.shown ?? describeValue(args.value);
    super(`${where}field ${args.field}: got ${got}; ${args.fix}`,
      args.cause === undefined ? undefined : { cause: args.cause });
    this.name = "ConfigError";
    this.field = args.field;
    if (args.file !== undefined) this.file = args.file;
    this.value = args.value;
    this.fix = args.fix;
  }
}
