/**
 * Typed, validated reads of one object of a Hugging Face `config.json`: every error is a {@link ConfigError} that
 * names the dotted field, the value and the fix.
 */
import { ConfigError } from "./errors.js";
import type { Activation } from "./types.js";

export type JsonObject = Record<string, unknown>;

/**
 * The activations we implement, by their `ACT2FN` names (transformers `activations.py`): `gelu_pytorch_tanh` is
 * GELU's tanh approximation (Gemma's and SigLIP's default), `gelu` the exact erf form.
 */
export const ACTIVATIONS: readonly Activation[] = ["gelu_pytorch_tanh", "gelu"];

/** Typed accessors for one JSON object; every error names `<prefix><key>`. */
export class Fields {
  constructor(
    private readonly obj: JsonObject,
    private readonly prefix: string,
    private readonly file: string,
  ) {}

  /** Dotted path of a key of this object. */
  path(key: string): string {
    return this.prefix + key;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  fail(key: string, fix: string, value: unknown = this.obj[key]): never {
    throw new ConfigError({ field: this.path(key), value, fix, file: this.file });
  }

  /** A positive integer (`hidden_size`, layer counts, ...); `dflt` when the key is absent. */
  posInt(key: string, dflt: number): number {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) this.fail(key, "expected a positive integer");
    return v;
  }

  /** A token id: an integer ≥ 0. */
  tokenId(key: string, dflt: number): number {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      this.fail(key, "expected a token id (an integer >= 0)");
    }
    return v;
  }

  /** A positive finite number (epsilons, rope_theta, query_pre_attn_scalar). */
  posNum(key: string, dflt: number): number {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) this.fail(key, "expected a positive number");
    return v;
  }

  /** A positive number (integer if `integer`), or `null` = disabled (HF tests `is not None`): softcaps, window. */
  positiveOrNull(key: string, dflt: number | null, integer: boolean): number | null {
    const v = this.obj[key];
    if (v === null) return null;
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !(integer ? Number.isInteger(v) : Number.isFinite(v)) || v <= 0) {
      this.fail(key, `expected a positive ${integer ? "integer" : "number"}, or null to disable it`);
    }
    return v;
  }

  str(key: string, dflt: string): string {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "string" || v === "") this.fail(key, "expected a non-empty string");
    return v;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined) return dflt;
    if (typeof v !== "boolean") this.fail(key, "expected true or false");
    return v;
  }

  /** An activation name `ACT2FN` maps and we implement ({@link ACTIVATIONS}); `dflt` when the key is absent. */
  activation(key: string, dflt: Activation): Activation {
    const v = this.str(key, dflt);
    const known = ACTIVATIONS.find((a) => a === v);
    if (known === undefined) this.fail(key, `supported activations: ${ACTIVATIONS.map((a) => JSON.stringify(a)).join(", ")}`);
    return known;
  }

  /** A nested object; `undefined` when absent or null (HF treats `None` as "use the default"). */
  object(key: string): JsonObject | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) this.fail(key, "expected a JSON object");
    return v;
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
