/**
 * How MIME bundles reach the notebook: the one module that knows tslab's internals.
 *
 * tslab's public `display.raw(type, content)` sends one MIME type per output, so a bundle (vendor JSON + HTML/PNG +
 * text fallbacks in ONE output) cannot go through it. Underneath, tslab keeps the current cell's
 * `display_data` writer in `tslab/dist/jupyter.js` as `lastWriteDisplayData(content, update)` (tslab 1.0.x; its
 * `display.raw` calls exactly that with `{ data: { [type]: content }, metadata, transient: { display_id } }`).
 * We call the same writer with the whole bundle.
 *
 * Which copy of tslab: the kernel process's, found among the modules it has loaded (`require.cache`), never one
 * resolved from this package. A library that `require("tslab")` from its own node_modules gets a second,
 * never-initialised copy whose `display` throws "Not ready".
 *
 * Outside a tslab kernel (plain node, tests, the CLI) bundles go to the fallback sink: `text/plain` on stdout by
 * default, or whatever `setTransport` installs.
 *
 * @example
 * sendBundle({ data: { "text/plain": "hi" }, metadata: {} });                  // new output
 * sendBundle(b, { displayId: "abc" }); sendBundle(b2, { displayId: "abc", update: true }); // update in place
 */
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import type { MimeBundle } from "../src/display/bundle.js";

/** tslab's writer: `update` false → `display_data`, true → `update_display_data`. */
export type WriteDisplayData = (content: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: { display_id?: string } }, update: boolean) => void;

/** What `sendBundle` calls: a bundle plus its display id and whether it replaces an earlier output. */
export type Transport = (bundle: MimeBundle, target: { displayId?: string; update: boolean }) => void;

export interface SendOptions {
  /** Display id: outputs sent with the same id can be updated in place. */
  displayId?: string;
  /** Replace the output with this `displayId` (`update_display_data`) instead of adding one. */
  update?: boolean;
}

interface TslabJupyterModule {
  lastWriteDisplayData: WriteDisplayData | null;
}

const TSLAB_JUPYTER = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/** The loaded `tslab/dist/jupyter.js` modules of this process (normally one: the kernel's). */
export function loadedTslabModules(): TslabJupyterModule[] {
  const cache = createRequire(import.meta.url).cache;
  return Object.keys(cache)
    .filter((k) => TSLAB_JUPYTER.test(k))
    .map((k) => cache[k]?.exports as TslabJupyterModule)
    .filter((m) => m !== undefined && m !== null && "lastWriteDisplayData" in m);
}

/** The kernel's current display writer, or null when not running inside a tslab kernel cell. */
export function kernelWriter(): WriteDisplayData | null {
  for (const m of loadedTslabModules()) if (typeof m.lastWriteDisplayData === "function") return m.lastWriteDisplayData;
  return null;
}

/** Where bundles go outside a kernel: stdout, `text/plain` only. */
export const stdoutTransport: Transport = (bundle) => {
  const text = bundle.data["text/plain"];
  process.stdout.write(`${typeof text === "string" ? text : JSON.stringify(Object.keys(bundle.data))}\n`);
};

let override: Transport | null = null;

/** Installs a transport used instead of the kernel's (tests, other frontends); `null` restores the default. */
export function setTransport(t: Transport | null): void {
  override = t;
}

/** Is a tslab kernel listening (a cell is running in one)? */
export function inKernel(): boolean {
  return kernelWriter() !== null;
}

/** Sends one bundle as one output (or an update of the output with `displayId`). Returns true when it went to a kernel. */
export function sendBundle(bundle: MimeBundle, options: SendOptions = {}): boolean {
  const target = { displayId: options.displayId, update: options.update === true };
  if (target.update && !target.displayId) throw new TypeError("sendBundle: update needs the displayId of the output to replace");
  if (override) {
    override(bundle, target);
    return false;
  }
  const write = kernelWriter();
  if (!write) {
    stdoutTransport(bundle, target);
    return false;
  }
  write({ data: bundle.data, metadata: bundle.metadata, transient: target.displayId ? { display_id: target.displayId } : {} }, target.update);
  return true;
}

/** A fresh display id (hex, like tslab's `newDisplay`). */
export function newDisplayId(): string {
  return randomBytes(8).toString("hex");
}

/** One output that can be replaced in place: first `update` adds it, later ones replace it. */
export class LiveOutput {
  readonly id = newDisplayId();
  private sent = false;

  update(bundle: MimeBundle): void {
    sendBundle(bundle, { displayId: this.id, update: this.sent });
    this.sent = true;
  }
}
