/**
 * Decoding speed on the nano model (`models/paligemma2-nano-pt-224`): greedy and beam-search tokens per second
 * after the prefill, the figure the KV cache's design is judged by (issue 14, item 1).
 *
 *     node dist/bench/decode.js                       # wasm, 3 beams, 32 new tokens, 3 runs each
 *     node dist/bench/decode.js --backend cpu --beams 4 --tokens 48 --runs 5
 *
 * eos is set to an id the model never emits (-1), so every run decodes exactly `--tokens` new tokens. The decode
 * rate is (tokens − 1) / (time(tokens) − time(1 token)): the prefill (vision tower + 200-token prompt) is
 * measured by the 1-token run and taken out. Medians over `--runs`. Numbers, not asserts.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { tf } from "../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../src/model/paligemma.js";
import type { BackendName } from "../src/backend/select.js";
import { repoRoot } from "./paths.js";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "wasm" },
    beams: { type: "string", default: "3" },
    tokens: { type: "string", default: "32" },
    runs: { type: "string", default: "3" },
  },
});
const beams = Number(values.beams);
const tokens = Number(values.tokens);
const runs = Number(values.runs);

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const model = await PaliGemmaForConditionalGeneration.fromPretrained(join(repoRoot(), "models", "paligemma2-nano-pt-224"), {
    backend: values.backend as BackendName,
  });
  const cfg = model.config;
  const prompt = [...Array(cfg.numImageTokens).fill(cfg.imageTokenIndex), 2, ...Array.from("caption en", (c) => 260 + (c.charCodeAt(0) % 90)), 261];
  const inputIds = tf.tensor2d(Int32Array.from(prompt), [1, prompt.length], "int32");
  const vc = cfg.visionConfig;
  const pixelValues = tf.randomUniform([1, vc.numChannels, vc.imageSize, vc.imageSize], -1, 1, "float32", 7);
  const time = async (numBeams: number, maxNewTokens: number) => {
    const t0 = performance.now();
    await model.generate({ pixelValues, inputIds }, { maxNewTokens, numBeams, eosTokenId: -1 });
    return (performance.now() - t0) / 1000;
  };
  console.log(`backend ${tf.getBackend()}, prompt ${prompt.length} tokens, ${tokens} new tokens, median of ${runs} runs`);
  for (const numBeams of [1, beams]) {
    await time(numBeams, 2); // warm-up (kernel compilation, allocator)
    const prefill: number[] = [];
    const full: number[] = [];
    for (let r = 0; r < runs; r++) {
      prefill.push(await time(numBeams, 1));
      full.push(await time(numBeams, tokens));
    }
    const decode = median(full) - median(prefill);
    const label = numBeams === 1 ? "greedy" : `beam ${numBeams}`;
    console.log(`${label.padEnd(8)} prefill ${median(prefill).toFixed(3)} s, ${tokens} tokens ${median(full).toFixed(3)} s, ` +
      `decode ${((tokens - 1) / decode).toFixed(1)} tokens/s (${((1000 * decode) / (tokens - 1)).toFixed(1)} ms/token), numTensors ${tf.memory().numTensors}`);
  }
  tf.dispose([inputIds, pixelValues]);
  model.dispose();
}

await main();
