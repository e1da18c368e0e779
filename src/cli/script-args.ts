/**
 * Flags for the repository's maintenance scripts (scripts/nano/*): the CLI's parser ({@link parseFlags}) with the
 * script's usage text. `-h`/`--help` print the usage and exit 0; an unknown flag, a missing value or a bad number
 * prints the error naming the flag, then the usage, and exits 2, before any work starts.
 *
 * @example
 * const { values, positional } = scriptArgs(USAGE, [{ field: "samples", kind: "number", group: "cli" }]);
 * const samples = (values.get("samples") as number | undefined) ?? 30;
 */
import { parseFlags, UsageError, type FlagKind, type FlagSpec, type Parsed } from "./args.js";

/** `[name, kind]` pairs → FlagSpecs of the "cli" group (kebab-case names are derived from camelCase fields). */
export const scriptFlags = (flags: Record<string, FlagKind>): FlagSpec[] =>
  Object.entries(flags).map(([field, kind]) => ({ field, kind, group: "cli" as const }));

/**
 * Parse `argv` (default: the process's) or exit: 0 after printing `usage` for --help, 2 after a usage error.
 * `maxPositional` bounds the positional arguments (extra ones are a usage error too).
 */
export function scriptArgs(usage: string, flags: Record<string, FlagKind>, o: { argv?: readonly string[]; maxPositional?: number } = {}): Parsed {
  const argv = o.argv ?? process.argv.slice(2);
  let parsed: Parsed;
  try {
    parsed = parseFlags(argv, scriptFlags(flags));
    const max = o.maxPositional ?? 0;
    if (parsed.positional.length > max) {
      throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positional[max])} (${max === 0 ? "this script takes none" : `at most ${max}`})`);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`error: ${e.message}\n\n${usage.trim()}\n`);
    process.exit(2);
  }
  if (parsed.values.get("help") === true) {
    process.stdout.write(`${usage.trim()}\n`);
    process.exit(0);
  }
  return parsed;
}
