/**
 * PaliGemma's token layout for one batch, on the host (no tensors): image tokens, `<bos>`, prefix, `"\n"` |
 * suffix, `<eos>`, then padding; token types, labels, truncation. The port follows transformers 4.47
 * `processing_paligemma.py` (`build_string_from_input`, `suffix + eos_token`, `labels = input_ids` masked where
 * `token_type_ids == 0`) and big_vision's PaliGemma README for the layout. Deliberate differences, each tested:
 *
 * - pads get token type **1** (HF pads with 0; transformers 4.47's prefix-LM mask then un-masks pad keys, the
 *   "pad bug" of test/fixtures/golden/README.md); pads still get label −100 and attention 0;
 * - padding is on the right (GemmaTokenizerFast defaults to left): PaliGemma positions are not shifted by padding,
 *   so only right padding gives a padded row the numbers of the unpadded one;
 * - truncation never cuts image tokens: HF's `longest_first` removes the end of the image+prefix sequence first.
 *   Here the suffix goes first, from its end (its `<eos>` first: a cut answer must not teach the model to stop),
 *   then prefix tokens from the end of the prefix, always keeping `<bos>` and the prefix's last token (the one
 *   holding `"\n"`), so the shortest row is N + 2 tokens;
 * - a prefix may start with one `<image>` (HF's recommended form); it is removed and the row built as usual, where
 *   HF 4.47 takes another branch that also drops the suffix's `<eos>`. Any other `<image>` is an error.
 *
 * `maxLength` counts text tokens only (`<bos>` … `<eos>`), as HF's processor adds `image_seq_length` to
 * `max_length`: the sequence length is N + maxLength.
 *
 * @example
 * const enc = (s: string) => tok.encode(s, { addSpecialTokens: false });
 * const b = buildBatch([{ prefix: enc("caption en\n"), suffix: enc("a cat<eos>") }],
 *   { ids: { image: tok.imageTokenId, bos: tok.bosTokenId, pad: tok.padTokenId }, imageSeqLength: 256 });
 * b.inputIds; // Int32Array [B·L]: 256 × <image>, <bos>, caption, ▁en, \n, a, ▁cat, <eos>
 */

/** Tokens of one row: `prefix` = encode(prefix + "\n") (≥ 1 token), `suffix` = encode(suffix + "<eos>") or null. */
export interface RowTokens {
  prefix: readonly number[];
  suffix: readonly number[] | null;
}

export type Padding = "longest" | "maxLength";

export interface LayoutOptions {
  ids: { image: number; bos: number; pad: number };
  imageSeqLength: number; // N image tokens per row
  padding?: Padding; // default "longest"
  maxLength?: number; // text tokens per row (image tokens not counted)
  truncation?: boolean; // default false: a row over maxLength is an error
}

/** What truncation removed from one row (token counts before → after). */
export interface Truncation {
  row: number;
  prefix: [number, number];
  suffix: [number, number];
}

/** A batch on the host, row-major `[B, L]`. `labels` is null when no row has a suffix (generation). */
export interface HostBatch {
  batchSize: number;
  seqLength: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  labels: Int32Array | null;
  truncated: Truncation[];
}

/** Bad processor arguments: the message names the argument, the row and the fix. */
export class ProcessorError extends Error {
  override name = "ProcessorError";
}

export const IGNORE_INDEX = -100; // label of positions without loss (torch CrossEntropyLoss ignore_index)
const MIN_TEXT_TOKENS = 2; // <bos> + the prefix's last token

const shorten = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);

/**
 * Validate one prompt and handle `<image>` in it. A prefix may start with one `<image>` (HF's recommended
 * "<image>caption en"); it is removed. Any other `<image>` is an error, since the processor writes the N image
 * tokens itself. (HF 4.47 takes another code path for such prompts and then forgets the suffix's `<eos>`.)
 */
export function cleanPrompt(
  text: unknown, field: string, kind: "prefix" | "suffix", imageToken: string, imageSeqLength: number,
): string {
  if (typeof text !== "string") {
    throw new ProcessorError(`${field}: expected a string, got ${text === null ? "null" : typeof text}`);
  }
  const body = kind === "prefix" && text.startsWith(imageToken) ? text.slice(imageToken.length) : text;
  if (body.includes(imageToken)) {
    throw new ProcessorError(`${field} (${shorten(text)}) contains "${imageToken}": the processor adds the ` +
      `${imageSeqLength} image tokens itself; remove it` + (kind === "prefix" ? ` (one leading "${imageToken}" is accepted)` : ""));
  }
  return body;
}

/** Cut one row to `maxText` text tokens by the rules in the module comment. */
function truncateRow(row: RowTokens, maxText: number): { prefix: readonly number[]; suffix: readonly number[] | null } {
  let { prefix, suffix } = row;
  const room = maxText - 1 - prefix.length; // what is left for the suffix after <bos> + prefix
  if (suffix !== null && suffix.length > Math.max(room, 0)) suffix = suffix.slice(0, Math.max(room, 0));
  if (1 + prefix.length > maxText) prefix = [...prefix.slice(0, maxText - MIN_TEXT_TOKENS), prefix[prefix.length - 1]!];
  return { prefix, suffix };
}

/** Lay out a batch: ids, attention mask, token types and labels, padded on the right. */
export function buildBatch(rows: readonly RowTokens[], options: LayoutOptions): HostBatch {
  const { ids, imageSeqLength: N } = options;
  const padding = options.padding ?? "longest";
  const { maxLength, truncation = false } = options;
  if (rows.length === 0) throw new ProcessorError("empty batch: pass at least one image and prompt");
  if (padding !== "longest" && padding !== "maxLength") {
    throw new ProcessorError(`padding: got ${JSON.stringify(padding)}; use "longest" or "maxLength"`);
  }
  if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength >= MIN_TEXT_TOKENS)) {
    throw new ProcessorError(`maxLength: got ${maxLength}; expected an integer ≥ ${MIN_TEXT_TOKENS} ` +
      "(text tokens, <bos> and the prefix's last token)");
  }
  if (padding === "maxLength" && maxLength === undefined) {
    throw new ProcessorError('padding "maxLength" needs maxLength (text tokens per row)');
  }
  if (truncation && maxLength === undefined) throw new ProcessorError("truncation needs maxLength (text tokens per row)");

  const truncated: Truncation[] = [];
  const laid = rows.map((row, r) => {
    if (row.prefix.length < 1) throw new ProcessorError(`row ${r}: the prefix encodes to no tokens (it always ends with "\\n")`);
    const text = 1 + row.prefix.length + (row.suffix?.length ?? 0);
    if (maxLength === undefined || text <= maxLength) return row;
    if (!truncation) {
      throw new ProcessorError(`row ${r}: ${text} text tokens > maxLength ${maxLength}; pass truncation: true ` +
        "(cuts the suffix first, never the image tokens) or raise maxLength");
    }
    const cut = truncateRow(row, maxLength);
    const suffix: [number, number] = [row.suffix?.length ?? 0, cut.suffix?.length ?? 0];
    truncated.push({ row: r, prefix: [row.prefix.length, cut.prefix.length], suffix });
    return cut;
  });
  const lengths = laid.map((row) => N + 1 + row.prefix.length + (row.suffix?.length ?? 0));
  const L = padding === "maxLength" ? N + maxLength! : Math.max(...lengths);
  const B = rows.length;
  const withLabels = rows.some((row) => row.suffix !== null);
  const inputIds = new Int32Array(B * L).fill(ids.pad);
  const attentionMask = new Int32Array(B * L);
  const tokenTypeIds = new Int32Array(B * L).fill(1); // suffix and pads
  const labels = withLabels ? new Int32Array(B * L).fill(IGNORE_INDEX) : null;
  laid.forEach((row, b) => {
    const o = b * L;
    inputIds.fill(ids.image, o, o + N); // <image> × N
    inputIds[o + N] = ids.bos;
    inputIds.set(row.prefix, o + N + 1); // prefix "\n"
    const s = o + N + 1 + row.prefix.length; // first suffix position
    tokenTypeIds.fill(0, o, s); // image + <bos> + prefix: bidirectional, no loss
    if (row.suffix !== null) {
      inputIds.set(row.suffix, s); // suffix <eos>
      labels!.set(row.suffix, s);
    }
    attentionMask.fill(1, o, o + lengths[b]!);
  });
  return { batchSize: B, seqLength: L, inputIds, attentionMask, tokenTypeIds, labels, truncated };
}

/** One warning line for the rows truncation cut, or null when none was cut. */
export function truncationWarning(
  truncated: readonly Truncation[], batchSize: number, maxLength: number, imageSeqLength: number,
): string | null {
  if (truncated.length === 0) return null;
  const rows = truncated.slice(0, 5).map((t) => {
    const parts = [];
    const [s0, s1] = t.suffix;
    if (s1 < s0) parts.push(s1 === 0 ? `suffix ${s0}→0 tokens (no labels left)` : `suffix ${s0}→${s1} tokens (<eos> dropped)`);
    if (t.prefix[1] < t.prefix[0]) parts.push(`prefix ${t.prefix[0]}→${t.prefix[1]} tokens`);
    return `row ${t.row}: ${parts.join(", ")}`;
  });
  const more = truncated.length > 5 ? `; ${truncated.length - 5} more` : "";
  return `PaliGemmaProcessor: truncated ${truncated.length} of ${batchSize} rows to maxLength ${maxLength} text tokens ` +
    `(+${imageSeqLength} image tokens): ${rows.join("; ")}${more}`;
}
