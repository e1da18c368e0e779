/**
 * Size limits on dataset text, in one place: the JSONL reader, `validate` and the processor apply the same numbers.
 * A PaliGemma prompt or answer of 8k tokens is far below them; a line above them is a broken export, and tokenizing
 * it whole would take minutes or exhaust the heap (a 50 MB line kills Node with an uncatchable out-of-memory error).
 */

/** Longest JSONL line read, in bytes (a longer line is reported; its bytes are never held). */
export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

/** Longest `prefix` or `suffix`, in characters, that is tokenized whole (without `maxLength`). */
export const DEFAULT_MAX_TEXT_CHARS = 262_144;

/** Extra tokens of context kept past `maxLength` when a text is cut before tokenizing (merges near the cut). */
export const CUT_MARGIN_TOKENS = 16;
