/**
 * The detection / segmentation output grammar for constrained decoding (the format of codecs/loc.ts):
 *
 *   output  := "" | object (" ; " object)*
 *   object  := <loc>×4 [<seg>×16] " " name          (name ∈ the classes of the prompt, e.g. "detect cat ; dog")
 *
 * `<loc>`/`<seg>` are atoms (one private-use character each, see constrained.ts). Boxes must be proper
 * (y2 > y1, x2 > x1, as big_vision's evaluator requires) and, by default, an exact repeat of an earlier box is not
 * allowed (the roboflow/notebooks#358 loop; the `stopOnRepeatedLocGroup` criterion is the unconstrained guard).
 *
 * @example
 *   const g = detectionGrammar({ classes: classesFromPrompt("detect cat ; dog"), segmentation: false });
 *   const p = constrainedProcessor(g, vocab, { eosTokenId: 1, maxNewTokens: 64 });
 */
import { LOC_CHAR_BASE, SEG_CHAR_BASE, type Grammar, type GrammarState } from "./constrained.js";

export interface DetectionGrammarOptions {
  /** Class names the output may use (non-empty, no ';' '<' '>' or newline). */
  classes: readonly string[];
  /** Expect 16 `<seg>` after the 4 `<loc>` of each object. Default false. */
  segmentation?: boolean;
  /** Forbid a box equal to an earlier one. Default true. */
  forbidDuplicateBoxes?: boolean;
  /** Stop after this many objects (no " ; " after the last). Default unlimited. */
  maxObjects?: number;
}

const SEP = " ; ";

/** The class list of a PaliGemma detection/segmentation prompt: "detect cat ; dog" → ["cat", "dog"]. */
export function classesFromPrompt(prefix: string): string[] {
  const body = prefix.replace(/^\s*(detect|segment)\s+/i, "").replace(/\n$/, "");
  return body.split(";").map((s) => s.trim()).filter((s) => s.length > 0);
}

class DetectionState implements GrammarState {
  constructor(
    private readonly o: Required<Omit<DetectionGrammarOptions, "maxObjects">> & { maxObjects: number; minName: number },
    private phase: "loc" | "seg" | "space" | "name" = "loc",
    private count = 0, // locs or segs so far in this object
    private locs: number[] = [],
    private tail = "", // text after the space: name, then maybe a partial " ; "
    private boxes: string[] = [],
    private objects = 0,
    private empty = true,
  ) {}

  clone(): DetectionState {
    return new DetectionState(this.o, this.phase, this.count, this.locs.slice(), this.tail, this.boxes.slice(), this.objects, this.empty);
  }

  accepting(): boolean {
    return this.empty || (this.phase === "name" && this.o.classes.includes(this.tail));
  }

  private objectCost(): number {
    return 4 + (this.o.segmentation ? 16 : 0) + 1 + this.o.minName;
  }

  minToComplete(): number {
    if (this.empty) return 0;
    switch (this.phase) {
      case "loc":
        return 4 - this.count + (this.o.segmentation ? 16 : 0) + 1 + this.o.minName;
      case "seg":
        return 16 - this.count + 1 + this.o.minName;
      case "space":
        return 1 + this.o.minName;
      case "name": {
        let best = Infinity;
        for (const c of this.o.classes) {
          if (c.startsWith(this.tail)) best = Math.min(best, c.length - this.tail.length);
          else if (this.tail.startsWith(c)) {
            const s = this.tail.slice(c.length);
            if (SEP.startsWith(s)) best = Math.min(best, SEP.length - s.length + this.objectCost());
          }
        }
        return best;
      }
    }
  }

  feed(ch: string): boolean {
    const code = ch.charCodeAt(0);
    this.empty = false;
    switch (this.phase) {
      case "loc": {
        const v = code - LOC_CHAR_BASE;
        if (v < 0 || v >= 1024) return false;
        // y2 > y1 and x2 > x1 (token order y1 x1 y2 x2)
        if (this.count >= 2 && v <= this.locs[this.count - 2]) return false;
        this.locs.push(v);
        this.count++;
        if (this.count === 4) {
          const key = this.locs.join(",");
          if (this.o.forbidDuplicateBoxes && this.boxes.includes(key)) return false;
          this.boxes.push(key);
          this.phase = this.o.segmentation ? "seg" : "space";
          this.count = 0;
        }
        return true;
      }
      case "seg": {
        const v = code - SEG_CHAR_BASE;
        if (v < 0 || v >= 128) return false;
        if (++this.count === 16) this.phase = "space";
        return true;
      }
      case "space":
        if (ch !== " ") return false;
        this.phase = "name";
        this.tail = "";
        return true;
      case "name": {
        const t = this.tail + ch;
        for (const c of this.o.classes) {
          if (c.startsWith(t)) {
            this.tail = t;
            return true;
          }
        }
        for (const c of this.o.classes) {
          if (!t.startsWith(c)) continue;
          const s = t.slice(c.length);
          if (!SEP.startsWith(s) || this.objects + 1 >= this.o.maxObjects) continue;
          if (s === SEP) {
            this.objects++;
            this.phase = "loc";
            this.count = 0;
            this.locs = [];
            this.tail = "";
          } else this.tail = t;
          return true;
        }
        return false;
      }
    }
  }
}

/** The detection (or, with `segmentation`, segmentation) output grammar. */
export function detectionGrammar(options: DetectionGrammarOptions): Grammar {
  const classes = [...new Set(options.classes)];
  if (!classes.length || classes.some((c) => typeof c !== "string" || !c || /[;<>\n]/.test(c))) {
    throw new Error(`detectionGrammar: classes must be non-empty names without ';', '<', '>' or newline, got ${JSON.stringify(options.classes)}`);
  }
  const o = {
    classes,
    segmentation: options.segmentation ?? false,
    forbidDuplicateBoxes: options.forbidDuplicateBoxes ?? true,
    maxObjects: options.maxObjects ?? Infinity,
    minName: Math.min(...classes.map((c) => c.length)),
  };
  return { name: o.segmentation ? "segmentation" : "detection", initial: () => new DetectionState(o) };
}
