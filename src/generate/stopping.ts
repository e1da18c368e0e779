/**
 * Stopping criteria for `generate(..., { stoppingCriteria })` (a criterion ends a row after a token was appended;
 * the token is kept, like eos):
 *   - `stopStrings`: HF `StopStringCriteria` behaviour (stop as soon as a stop string appears in the generated text,
 *     even when it spans several tokens or ends inside the last token's text), checked on decoded text;
 *   - `stopOnRepeatedLocGroup`: the guard for detection output that repeats the same box until `maxNewTokens`
 *     (roboflow/notebooks#358): stop when an exact `<loc>`×4 group occurs again;
 *   - `generationHooks`: the option bundle that builds both, plus `repetitionPenalty`, for `generate`.
 *
 * @example
 *   import { generationHooks } from "paligemma-ts";
 *   const hooks = generationHooks({ repetitionPenalty: 1.1, stopStrings: ["\n"], decoder: tokenizer, stopOnRepeatedLoc: true });
 *   const out = await model.generate(inputs, { maxNewTokens: 256, ...hooks });
 */
import type { LogitsProcessor, StoppingCriterion } from "./processors.js";
import type { TextDecoder } from "../data/types.js";
import { repetitionPenalty } from "./penalties.js";

/** PaliGemma's tokenizer: `<loc0000>` … `<loc1023>` are ids 256000 … 257023 (then `<seg000>` … `<seg127>`). */
export const PALIGEMMA_FIRST_LOC_ID = 256000;
export const PALIGEMMA_NUM_LOCS = 1024;

/**
 * Stop when the generated text (ids after the prompt, decoded without special tokens) contains one of `strings`
 * ending inside the last token's text, i.e. the first time it appears.
 * @param strings non-empty stop strings (e.g. `["\n", " ;"]`)
 * @param decoder the tokenizer (anything with `decode(ids, { skipSpecialTokens })`)
 */
export function stopStrings(strings: readonly string[], decoder: TextDecoder): StoppingCriterion {
  if (!Array.isArray(strings) || strings.some((s) => typeof s !== "string" || s.length === 0)) {
    throw new Error(`stopStrings: strings must be non-empty strings, got ${JSON.stringify(strings)}`);
  }
  if (!decoder || typeof decoder.decode !== "function") throw new Error(`stopStrings: decoder must have decode(ids)`);
  const longest = Math.max(0, ...strings.map((s) => s.length));
  return (tokens, promptLength) => {
    if (!strings.length || tokens.length <= promptLength) return false;
    const generated = tokens.slice(promptLength);
    const text = decoder.decode(generated, { skipSpecialTokens: true });
    const before = decoder.decode(generated.slice(0, -1), { skipSpecialTokens: true });
    // an occurrence that ends after `before` is new with this token; before.length − longest + 1 covers spans
    const from = Math.max(0, Math.min(before.length, text.length) - longest + 1);
    const tail = text.slice(from);
    return strings.some((s) => {
      const at = tail.indexOf(s);
      return at >= 0 && from + at + s.length > before.length;
    });
  };
}

export interface RepeatedLocOptions {
  /** Id of `<loc0000>`; default 256000 (PaliGemma). */
  firstLocId?: number;
  /** Number of loc tokens; default 1024. */
  numLocs?: number;
  /** How many times one exact group may occur before the row stops; default 1 (the first repeat stops). */
  maxOccurrences?: number;
}

/**
 * Stop a row when a group of 4 consecutive `<loc>` tokens (y1 x1 y2 x2) equal to an earlier group of the generated
 * text completes. Groups are counted from the start of each run of loc tokens, so `<seg>` codes or a class name
 * between boxes separate them. The repeated group's tokens are kept (the stop criterion contract): parsers see a
 * box without a class name at the end.
 */
export function stopOnRepeatedLocGroup(options: RepeatedLocOptions = {}): StoppingCriterion {
  const first = options.firstLocId ?? PALIGEMMA_FIRST_LOC_ID;
  const n = options.numLocs ?? PALIGEMMA_NUM_LOCS;
  const maxOccurrences = options.maxOccurrences ?? 1;
  if (!Number.isInteger(first) || first < 0) throw new Error(`stopOnRepeatedLocGroup: firstLocId must be an integer ≥ 0, got ${first}`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`stopOnRepeatedLocGroup: numLocs must be an integer ≥ 1, got ${n}`);
  if (!Number.isInteger(maxOccurrences) || maxOccurrences < 1) {
    throw new Error(`stopOnRepeatedLocGroup: maxOccurrences must be an integer ≥ 1, got ${maxOccurrences}`);
  }
  const isLoc = (t: number) => t >= first && t < first + n;
  return (tokens, promptLength) => {
    const last = tokens.length - 1;
    if (last < promptLength + 3 || !isLoc(tokens[last])) return false;
    // the run of loc tokens ending at `last` must end a group (its length a multiple of 4)
    let start = last;
    while (start - 1 >= promptLength && isLoc(tokens[start - 1])) start--;
    if ((last - start + 1) % 4 !== 0) return false;
    const key = tokens.slice(last - 3, last + 1).join(",");
    let count = 0;
    let run = 0;
    for (let i = promptLength; i <= last; i++) {
      if (!isLoc(tokens[i])) {
        run = 0;
        continue;
      }
      run++;
      if (run % 4 === 0 && tokens.slice(i - 3, i + 1).join(",") === key) count++;
    }
    return count > maxOccurrences;
  };
}

export interface GenerationHookOptions {
  /** HF `repetition_penalty` (> 0; 1 = off). */
  repetitionPenalty?: number;
  /** Stop strings; need `decoder`. */
  stopStrings?: string[];
  /** The tokenizer, for stop strings. */
  decoder?: TextDecoder;
  /** Stop on an exact repeated `<loc>` group: true for the defaults, or options. */
  stopOnRepeatedLoc?: boolean | RepeatedLocOptions;
}

/** Build `{ logitsProcessors, stoppingCriteria }` from the usual inference options; spread it into generate's options. */
export function generationHooks(o: GenerationHookOptions): { logitsProcessors: LogitsProcessor[]; stoppingCriteria: StoppingCriterion[] } {
  const logitsProcessors: LogitsProcessor[] = [];
  const stoppingCriteria: StoppingCriterion[] = [];
  if (o.repetitionPenalty !== undefined && o.repetitionPenalty !== 1) logitsProcessors.push(repetitionPenalty(o.repetitionPenalty));
  if (o.stopStrings?.length) {
    if (!o.decoder) throw new Error(`generationHooks: stopStrings need a decoder (the tokenizer): pass { decoder: tokenizer }`);
    stoppingCriteria.push(stopStrings(o.stopStrings, o.decoder));
  }
  if (o.stopOnRepeatedLoc) stoppingCriteria.push(stopOnRepeatedLocGroup(o.stopOnRepeatedLoc === true ? {} : o.stopOnRepeatedLoc));
  return { logitsProcessors, stoppingCriteria };
}
