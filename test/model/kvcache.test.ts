/**
 * The KV cache and the attention that reads it: segments (a shared one-row prompt + per-row generated keys) give
 * the same attention as the keys concatenated and tiled per row; sliding layers keep the last `window` keys;
 * beam reordering permutes rows exactly like tf.gather; nothing leaks.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { cachedAttention, groupedQueryAttention } from "../../src/ops/attention.js";
import { KVCache } from "../../src/model/kvcache.js";
import { maxAbsDiff } from "../helpers/golden.js";
import { useBackend } from "../helpers/backends.js";

before(async () => useBackend("cpu"));

const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, "float32", seed);

test("cachedAttention over a shared prompt segment + per-row segment equals attention over the tiled concatenation", () => {
  const R = 3, H = 4, KV = 2, d = 8, n = 5, t = 2; // odd sizes on purpose
  const q = rnd([R, H, 1, d], 1);
  const prompt = { k: rnd([1, KV, n, d], 2), v: rnd([1, KV, n, d], 3) };
  const gen = { k: rnd([R, KV, t, d], 4), v: rnd([R, KV, t, d], 5) };
  const o = { scale: 0.3, softcap: 50 };
  const ours = cachedAttention(q, [prompt, gen], o);
  const tiled = (x: tf.Tensor) => tf.tile(x, [R, 1, 1, 1]);
  const ref = groupedQueryAttention(q, tf.concat([tiled(prompt.k), gen.k], 2), tf.concat([tiled(prompt.v), gen.v], 2), o);
  assert.deepEqual(ours.shape, [R, H, 1, d]);
  assert.ok(maxAbsDiff(ours, ref) < 1e-6, `max |Δ| ${maxAbsDiff(ours, ref)}`);
  assert.throws(() => cachedAttention(q, [prompt, gen], { ...o, mask: tf.zeros([R, 1, 1, n + t]) }), /mask/);
});

test("KVCache: prefill keeps the last `window` keys on sliding layers, decode trims the oldest, reorder permutes rows", () => {
  const window = 3;
  const cache = new KVCache(2, (layer) => (layer === 0 ? window : null));
  const before = tf.memory().numTensors;
  const pos = (rows: number, from: number, len: number) => // k[r,0,i,0] = 100·r + position
    tf.tensor4d(Array.from({ length: rows * len }, (_, j) => 100 * Math.floor(j / len) + from + (j % len)), [rows, 1, len, 1]);
  const keys = (segs: { k: tf.Tensor }[], row: number) => segs.flatMap((s) => Array.from(tf.slice(s.k, [Math.min(row, s.k.shape[0]! - 1), 0, 0, 0], [1, -1, -1, -1]).dataSync()));
  tf.tidy(() => {
    const p = pos(1, 0, 5);
    assert.deepEqual(keys(cache.updateAndFetch(0, p, p), 0), [0, 1, 2, 3, 4]); // the prefill attends to all (mask limits it)
    cache.updateAndFetch(1, p, p);
  });
  assert.equal(cache.length(0), window);
  assert.equal(cache.length(1), 5);
  cache.reorder(new Int32Array(2)); // two beams from one prompt: free, nothing copied
  tf.tidy(() => {
    const g = tf.tensor4d([5, 105], [2, 1, 1, 1]); // row r's token at position 5 is 100·r + 5
    assert.deepEqual(keys(cache.updateAndFetch(0, g, g), 1), [3, 4, 105]); // window 3: position 2 dropped
    assert.deepEqual(keys(cache.updateAndFetch(1, g, g), 1), [0, 1, 2, 3, 4, 105]);
  });
  cache.reorder(Int32Array.of(1, 1)); // both beams continue old row 1
  tf.tidy(() => {
    const g = tf.tensor4d([6, 106], [2, 1, 1, 1]);
    assert.deepEqual(keys(cache.updateAndFetch(1, g, g), 0), [0, 1, 2, 3, 4, 105, 6]);
    assert.deepEqual(keys(cache.updateAndFetch(0, g, g), 0), [4, 105, 6]);
  });
  cache.dispose();
  assert.equal(tf.memory().numTensors, before);
});
