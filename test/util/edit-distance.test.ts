/** One Levenshtein over sequences; the unit is the caller's (code points, UTF-16 units, tokens). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { editDistance } from "../../src/util/edit-distance.js";
import { levenshtein } from "../../src/util/suggest.js";
import { codePointLevenshtein } from "../../src/eval/text.js";

test("editDistance: textbook values, symmetric, empty sides", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("sitting", "kitten"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("ab", "ba"), 2); // no transpositions (nltk default)
  assert.equal(editDistance([1, 2, 3, 4], [1, 3, 4, 5]), 2); // token ids
});

test("the named call sites keep their units: code points for metrics, UTF-16 code units for names", () => {
  // "😀" is one code point and two UTF-16 code units
  assert.equal(codePointLevenshtein("a😀", "ab"), 1);
  assert.equal(levenshtein("a😀", "ab"), 2);
  assert.equal(codePointLevenshtein("café", "cafe"), 1);
});
