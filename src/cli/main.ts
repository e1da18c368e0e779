#!/usr/bin/env node
/**
 * The `paligemma-ts` command line. Commands:
 *   smoke [--backend tensorflow|wasm|cpu] [--golden DIR]   end-to-end check of the model path on this machine
 *   data synth|validate|describe|convert ...               datasets (see src/cli/data.ts, `data --help`)
 *
 * Each command loads its modules on demand, so `data ...` never pays for loading TensorFlow.js.
 */
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import type { BackendName } from "../backend/select.js";

/** A command line that cannot be run as typed: exit status 2 (as `data` does), not 1. */
class UsageError extends Error {}

function flag(args: string[], name: string, usage: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) throw new UsageError(`${name} needs a value\n${usage}`);
  return v;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === "data") {
    const { runData } = await import("./data.js");
    return runData(args);
  }
  const { BACKEND_NAMES } = await import("../backend/select.js");
  const USAGE = `usage: paligemma-ts smoke [--backend ${BACKEND_NAMES.join("|")}] [--golden DIR]
       paligemma-ts data synth|validate|describe|convert ... (paligemma-ts data --help)`;
  if (cmd === "smoke") {
    const backend = flag(args, "--backend", USAGE);
    if (backend && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
      throw new UsageError(`--backend: unknown backend "${backend}"; use one of ${BACKEND_NAMES.join(", ")}`);
    }
    const here = dirname(fileURLToPath(import.meta.url)); // dist/src/cli
    const golden = flag(args, "--golden", USAGE) ?? resolve(here, "..", "..", "..", "test", "fixtures", "golden", "paligemma2-tiny");
    const { smoke } = await import("./smoke.js");
    await smoke({ backend: backend as BackendName | undefined, golden });
    return 0;
  }
  process.stderr.write(`${cmd ? `unknown command "${cmd}"\n` : ""}${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`paligemma-ts: ${e.message}\n`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
