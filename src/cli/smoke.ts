/**
 * `paligemma-ts smoke`: prove on this machine, in seconds, that the whole model path works end to end:
 * write a small random PaliGemma 2 as a real Hugging Face checkpoint (config.json + sharded BF16 safetensors with
 * an index), load it back with `fromPretrained`, run a training-style forward + backward and an Adam step, then
 * greedy and beam generation. With the golden fixtures present (test/fixtures/golden/paligemma2-tiny) it also checks
 * logits against Hugging Face transformers.
 */
import { mkdtemp, rm, access } from "node:fs/promises";
import { writeFileAtomic } from "../util/atomic-write.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "../tf.js";
import { formatBackendReport, initBackend, type BackendName } from "../backend/select.js";
import { configToHfJson, parsePaliGemmaConfig } from "../config/paligemma.js";
import { saveShardedSafetensors, type TensorToWrite } from "../io/safetensors-write.js";
import { SafetensorsCheckpoint } from "../io/safetensors.js";
import { PaliGemmaForConditionalGeneration } from "../model/paligemma.js";

const SMALL_RANDOM = {
  model_type: "paligemma",
  image_token_index: 300,
  projection_dim: 64,
  text_config: {
    model_type: "gemma2", vocab_size: 320, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 4,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, query_pre_attn_scalar: 16, sliding_window: 8,
  },
  vision_config: { hidden_size: 48, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, image_size: 56, patch_size: 14 },
};

function log(line: string): void {
  process.stdout.write(line + "\n");
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

async function goldenCheck(dir: string, backend: BackendName | undefined): Promise<void> {
  const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir, { backend });
  const out = await SafetensorsCheckpoint.open(join(dir, "outputs.safetensors"));
  const t = async (n: string) => {
    const h = await out.read(n);
    return tf.tensor(h.data, h.shape, h.dtype === "bool" ? "int32" : h.dtype);
  };
  const inputs = {
    pixelValues: await t("inputs.pixel_values"), inputIds: await t("inputs.input_ids"),
    attentionMask: await t("inputs.attention_mask"), tokenTypeIds: await t("inputs.token_type_ids"), labels: await t("inputs.labels"),
  };
  const ref = await t("train.logits");
  const { logits, loss } = model.forward(inputs);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, ref))).dataSync()[0]);
  log(`golden (HF transformers 4.47): train logits max |Δ| = ${diff.toExponential(2)}, loss ${loss!.dataSync()[0].toFixed(6)} (HF 5.936095)`);
  if (!(diff <= 1e-4)) throw new Error(`golden logits differ by ${diff}`);
  tf.dispose([logits, loss!, ref, ...Object.values(inputs)]);
  model.dispose();
  await out.close();
}

export async function smoke(opts: { backend?: BackendName; golden?: string }): Promise<void> {
  const info = await initBackend({ backend: opts.backend });
  log(formatBackendReport(info));
  const dir = await mkdtemp(join(tmpdir(), "paligemma-smoke-"));
  try {
    // 1. a random model saved the way Hugging Face saves one
    const cfg = parsePaliGemmaConfig(SMALL_RANDOM, "smoke config");
    const seed = await PaliGemmaForConditionalGeneration.fromConfig(cfg, { seed: 1, std: 0.2 });
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of await seed.stateDict()) tensors[name] = { dtype: "BF16", shape: t.shape, data: t.data };
    seed.dispose();
    await writeFileAtomic(join(dir, "config.json"), JSON.stringify(configToHfJson(cfg), null, 2));
    const saved = await saveShardedSafetensors(dir, tensors, { maxShardBytes: 200_000 });
    log(`wrote a random PaliGemma 2 checkpoint: ${saved.files.length} BF16 shards + index (${(saved.totalSize / 1e6).toFixed(2)} MB)`);

    // 2. load, train one step, generate
    const model = await PaliGemmaForConditionalGeneration.fromPretrained(dir);
    const n = cfg.numImageTokens;
    const prefix = [2, 17, 42, 108];
    const suffix = [55, 66, 77, 1];
    const ids = [...Array(n).fill(cfg.imageTokenIndex), ...prefix, ...suffix];
    const L = ids.length;
    const s = cfg.visionConfig.imageSize;
    const pixelValues = tf.tidy(() => tf.sin(tf.mul(tf.range(0, 3 * s * s), 0.01)).reshape([1, 3, s, s]));
    const inputs = {
      pixelValues,
      inputIds: tf.tensor2d([ids], [1, L], "int32"),
      attentionMask: tf.ones([1, L], "int32"),
      tokenTypeIds: tf.tensor2d([ids.map((_, i) => (i < n + prefix.length ? 0 : 1))], [1, L], "int32"),
      labels: tf.tensor2d([ids.map((id, i) => (i < n + prefix.length ? -100 : id))], [1, L], "int32"),
    };
    const vars = [...model.namedParameters().values()];
    const opt = tf.train.adam(1e-3);
    const losses: number[] = [];
    const t0 = performance.now();
    for (let step = 0; step < 3; step++) {
      const loss = opt.minimize(() => model.forward(inputs).loss as tf.Scalar, true, vars)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    log(`3 Adam steps (forward + backward over ${vars.length} tensors): loss ${losses.map((l) => l.toFixed(4)).join(" → ")} in ${(performance.now() - t0).toFixed(0)} ms`);
    if (!(losses[2] < losses[0])) throw new Error(`loss did not decrease: ${losses.join(", ")}`);
    const prompt = { pixelValues, inputIds: tf.tensor2d([ids.slice(0, n + prefix.length)], [1, n + prefix.length], "int32") };
    const greedy = await model.generate(prompt, { maxNewTokens: 8 });
    const beam = await model.generate(prompt, { maxNewTokens: 8, numBeams: 3 });
    log(`greedy: ${greedy.sequences[0].slice(n + prefix.length).join(" ")}`);
    log(`beam-3: ${beam.sequences[0].slice(n + prefix.length).join(" ")} (score ${beam.sequencesScores![0].toFixed(4)})`);
    tf.dispose([...Object.values(inputs), prompt.inputIds]);
    opt.dispose();
    model.dispose();

    // 3. parity with the reference, when its fixtures are here
    if (opts.golden && (await exists(join(opts.golden, "outputs.safetensors")))) await goldenCheck(opts.golden, opts.backend);
    else log(`golden fixtures not found${opts.golden ? ` at ${opts.golden}` : ""}: parity check skipped (they are in the repository's test/fixtures/golden, not in a packaged install; the test suite runs it)`);
    log("smoke: OK");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
