/** The one "list some names" helper behind every name list in error messages. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { abridgeModuleNames, listSome } from "../../src/util/list-some.js";

test("listSome: all names when they fit, else the first max and how many more", () => {
  assert.equal(listSome([]), "");
  assert.equal(listSome(["a", "b"], 2), "a, b");
  assert.equal(listSome(["a", "b", "c", "d"], 2), "a, b, … (2 more)");
});

test("abridgeModuleNames: layer indices collapse to N (inner and trailing), duplicates listed once", () => {
  const names = ["model.layers.0.mlp.up_proj", "model.layers.1.mlp.up_proj", "model.layers.12", "lm_head"];
  assert.equal(abridgeModuleNames(names), "model.layers.N.mlp.up_proj, model.layers.N, lm_head");
  assert.equal(abridgeModuleNames(names, 1), "model.layers.N.mlp.up_proj, … (2 more)");
});
