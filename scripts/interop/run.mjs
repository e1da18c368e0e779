#!/usr/bin/env node
/**
 * `npm run test:interop`: LoRA adapters move between Python PEFT and paligemma-ts, both ways, with the same logits.
 *
 *   1. Python → TS    PEFT makes an adapter on the golden tiny PaliGemma 2 (non-zero B, rsLoRA, modules_to_save);
 *                     PeftModel.fromPretrained here must reproduce PEFT's logits and loss.
 *   2. TS → Python    an adapter trained here for 2 AdamW steps (dropout on) is saved; Python's
 *                     PeftModel.from_pretrained must reproduce our logits and loss.
 *   3. TS → PEFT → TS PEFT saves that adapter again; loading PEFT's file here gives our logits again.
 *   4. exported job   `exportTrainingJob` with default TrainingArguments (maxSteps 2) runs as exported (`python
 *                     train.py`: its JSONL dataset, HF's AutoProcessor, PEFT, HF's Trainer) on a tiny random
 *                     PaliGemma 2 with the fixture tokenizer, and the adapter it saves loads back here (issue 13.11).
 * Pass: every logits diff ≤ 1e-4, loss diffs ≤ 1e-5, the job trains 2 steps and its adapter gives a finite loss here.
 * Exit status 1 otherwise.
 *
 * Python: $PALIGEMMA_INTEROP_PYTHON, else the venv $PALIGEMMA_INTEROP_VENV (default ~/.cache/paligemma-ts/interop-venv),
 * else `python3` if it has the packages, else that venv is created from requirements.txt (PyPI torch: several GB).
 * Needs `npm run build` first (the npm script does it) and the golden tiny model in test/fixtures/golden/paligemma2-tiny.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..", "..");
const DIST = join(REPO, "dist", "src");
const GOLDEN = join(REPO, "test", "fixtures", "golden", "paligemma2-tiny");
const PY_SIDE = join(HERE, "peft_side.py");
const LOGITS_TOL = 1e-4;
const LOSS_TOL = 1e-5;

const log = (...a) => console.log("[interop]", ...a);

function pythonWorks(py) {
  if (!py || (py.includes("/") && !existsSync(py))) return null;
  const r = spawnSync(py, ["-c", "import torch, transformers, peft, safetensors, numpy; print(torch.__version__, transformers.__version__, peft.__version__)"], { encoding: "utf-8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function findPython() {
  const venv = process.env.PALIGEMMA_INTEROP_VENV ?? join(homedir(), ".cache", "paligemma-ts", "interop-venv");
  const venvPy = join(venv, "bin", "python");
  for (const [what, py] of [["$PALIGEMMA_INTEROP_PYTHON", process.env.PALIGEMMA_INTEROP_PYTHON], [venv, venvPy], ["python3 on PATH", "python3"]]) {
    const v = pythonWorks(py);
    if (v) return log(`python: ${py} (${what}); torch/transformers/peft ${v}`), py;
  }
  log(`no Python with torch+transformers+peft found; creating ${venv} from requirements.txt (PyPI's torch is several GB)`);
  execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
  execFileSync(venvPy, ["-m", "pip", "install", "-q", "--upgrade", "pip"], { stdio: "inherit" });
  execFileSync(venvPy, ["-m", "pip", "install", "-q", "-r", join(HERE, "requirements.txt")], { stdio: "inherit" });
  const v = pythonWorks(venvPy);
  if (!v) throw new Error(`${venvPy}: the packages from requirements.txt do not import`);
  log(`python: ${venvPy}; torch/transformers/peft ${v}`);
  return venvPy;
}

function py(python, args) {
  const r = spawnSync(python, [PY_SIDE, ...args], { encoding: "utf-8" });
  if (r.status !== 0) throw new Error(`python ${args[0]} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  const line = r.stdout.trim().split("\n").pop();
  return JSON.parse(line);
}

async function main() {
  if (!existsSync(join(DIST, "lora", "index.js"))) throw new Error("dist/ is missing: run `npm run build` first");
  if (!existsSync(GOLDEN)) throw new Error(`${GOLDEN} is missing (regenerate it with test/fixtures/golden/gen.py)`);
  const { tf } = await import(join(DIST, "tf.js"));
  const { PaliGemmaForConditionalGeneration } = await import(join(DIST, "model", "paligemma.js"));
  const { SafetensorsFile } = await import(join(DIST, "io", "safetensors.js"));
  const { saveSafetensors } = await import(join(DIST, "io", "safetensors-write.js"));
  const { LoraConfig, getPeftModel, PeftModel } = await import(join(DIST, "lora", "index.js"));

  const python = findPython();
  const tmp = mkdtempSync(join(tmpdir(), "paligemma-interop-"));
  const rows = [];
  let job = { ok: false, note: "not run" };
  try {
    const base = await PaliGemmaForConditionalGeneration.fromPretrained(GOLDEN, { backend: process.env.PALIGEMMA_BACKEND ?? "cpu" });
    const golden = await SafetensorsFile.open(join(GOLDEN, "outputs.safetensors"));
    const t = async (k) => { const h = await golden.read(`inputs.${k}`); return tf.tensor(h.data, h.shape, h.dtype); };
    const train = { pixelValues: await t("pixel_values"), inputIds: await t("input_ids"), attentionMask: await t("attention_mask"), tokenTypeIds: await t("token_type_ids"), labels: await t("labels") };
    const infer = { pixelValues: train.pixelValues, inputIds: train.inputIds, attentionMask: train.attentionMask };
    await golden.close();

    const ours = (peft) => {
      peft.eval();
      const o = peft.forward(train);
      const i = peft.forward(infer);
      const out = { "logits.infer": i.logits, "logits.train": o.logits, loss: tf.reshape(o.loss, [1]) };
      o.loss.dispose();
      return out;
    };
    const diffVs = async (got, path) => {
      const f = await SafetensorsFile.open(path);
      const d = {};
      for (const k of ["logits.infer", "logits.train", "loss"]) {
        const h = await f.read(k);
        const want = tf.tensor(h.data, h.shape);
        d[k] = tf.tidy(() => tf.max(tf.abs(tf.sub(got[k], want))).dataSync()[0]);
        want.dispose();
      }
      await f.close();
      return d;
    };
    const row = (direction, diffs, note) => rows.push({ direction, ...diffs, note });

    // 1. Python → TS
    const made = py(python, ["make", join(tmp, "py")]);
    log(`PEFT saved ${made.made} (torch ${made.torch}, transformers ${made.transformers}, peft ${made.peft})`);
    const fromPy = await PeftModel.fromPretrained(base, join(tmp, "py"));
    const a = ours(fromPy);
    row("Python PEFT → paligemma-ts", await diffVs(a, join(tmp, "py", "expected.safetensors")), `${fromPy.loraLayers().size} LoRA modules + modules_to_save`);
    tf.dispose(Object.values(a));
    fromPy.unload();

    // 2. TS → Python: train a little here (dropout on), save, let PEFT load it
    const cfg = new LoraConfig({ r: 4, loraAlpha: 8, loraDropout: 0.1, targetModules: "all-linear", initLoraWeights: false, modulesToSave: ["post_layernorm"], taskType: "CAUSAL_LM" });
    const peft = getPeftModel(base, cfg, { seed: 7 });
    peft.train();
    const opt = tf.train.adam(1e-2);
    for (let s = 0; s < 2; s++) {
      peft.setTrainingSeed(100 + s);
      opt.minimize(() => peft.forward(train).loss, false, [...peft.trainableParameters().values()]);
    }
    const b = ours(peft);
    await peft.savePretrained(join(tmp, "ts"));
    const expected = {};
    for (const [k, v] of Object.entries(b)) expected[k] = { dtype: "F32", shape: v.shape, data: v.dataSync() };
    await saveSafetensors(join(tmp, "ts-expected.safetensors"), expected, { format: "pt" });
    peft.unload();
    opt.dispose();
    const checked = py(python, ["check", join(tmp, "ts"), join(tmp, "ts-expected.safetensors"), join(tmp, "ts-resaved")]);
    row("paligemma-ts → Python PEFT", checked.diffs, `${checked.lora_modules} LoRA modules (all-linear) + post_layernorm, 2 AdamW steps`);

    // 3. the adapter PEFT re-saved comes back here with our logits
    const back = await PeftModel.fromPretrained(base, join(tmp, "ts-resaved"));
    const c = ours(back);
    row("paligemma-ts → PEFT save_pretrained → paligemma-ts", await diffVs(c, join(tmp, "ts-expected.safetensors")), "");
    tf.dispose([...Object.values(b), ...Object.values(c)]);
    back.unload();
    base.dispose();

    // 4. an exported job runs as exported
    job = await exportedJob(python, tmp);
    log(`exported job: ${job.note}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  console.log("\ndirection                                             max|Δ logits| infer   max|Δ logits| train   |Δ loss|     ");
  let ok = true;
  for (const r of rows) {
    const pass = r["logits.infer"] <= LOGITS_TOL && r["logits.train"] <= LOGITS_TOL && r.loss <= LOSS_TOL;
    ok &&= pass;
    console.log(`${r.direction.padEnd(54)}${r["logits.infer"].toExponential(2).padEnd(23)}${r["logits.train"].toExponential(2).padEnd(23)}${r.loss.toExponential(2).padEnd(11)}${pass ? "ok" : "FAIL"}  ${r.note}`);
  }
  console.log(`exported job (exportTrainingJob → python train.py → PeftModel.fromPretrained)  ${job.ok ? "ok" : "FAIL"}  ${job.note}`);
  ok &&= job.ok;
  console.log(`\n${ok ? "PASS" : "FAIL"}: logits within ${LOGITS_TOL}, loss within ${LOSS_TOL}, exported job trains and loads back`);
  process.exit(ok ? 0 : 1);
}

/**
 * Case 4: a tiny random PaliGemma 2 (the golden shapes, the fixture tokenizer's vocabulary), a two-image JSONL
 * dataset, `exportTrainingJob` with default TrainingArguments except maxSteps 2, then `python train.py` as a user
 * would run it, then the adapter it saved (`output/final`) loaded here with a forward pass on our own batch.
 */
async function exportedJob(python, tmp) {
  const { tf } = await import(join(DIST, "tf.js"));
  const { readFileSync, writeFileSync, mkdirSync, copyFileSync, readdirSync } = await import("node:fs");
  const { parsePaliGemmaConfig } = await import(join(DIST, "config", "paligemma.js"));
  const { PaliGemmaForConditionalGeneration } = await import(join(DIST, "model", "paligemma.js"));
  const { GemmaTokenizer } = await import(join(DIST, "io", "tokenizer.js"));
  const { PaliGemmaProcessor } = await import(join(DIST, "data", "processor.js"));
  const { LoraConfig, PeftModel } = await import(join(DIST, "lora", "index.js"));
  const { TrainingArguments } = await import(join(DIST, "train", "arguments.js"));
  const { exportTrainingJob } = await import(join(DIST, "train", "export.js"));
  const sharp = (await import("sharp")).default;
  const TOK = join(REPO, "test", "fixtures", "tokenizer");
  const tok = await GemmaTokenizer.fromPretrained(TOK);

  // the model: golden shapes, random weights, the fixture tokenizer's vocabulary and <image> id
  const modelDir = join(tmp, "job-model");
  const cfgJson = JSON.parse(readFileSync(join(GOLDEN, "config.json"), "utf-8"));
  cfgJson.text_config.vocab_size = tok.vocabSize;
  cfgJson._vocab_size = tok.vocabSize;
  cfgJson.image_token_index = tok.imageTokenId;
  const model = await PaliGemmaForConditionalGeneration.fromConfig(parsePaliGemmaConfig(cfgJson), { seed: 3, std: 0.05, backend: process.env.PALIGEMMA_BACKEND ?? "cpu" });
  await model.savePretrained(modelDir);
  model.dispose();
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(TOK, f), join(modelDir, f));
  const side = cfgJson.vision_config.image_size;
  const nImage = cfgJson.text_config.num_image_tokens;
  writeFileSync(join(modelDir, "preprocessor_config.json"), JSON.stringify({
    do_convert_rgb: null, do_normalize: true, do_rescale: true, do_resize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
    image_processor_type: "SiglipImageProcessor", image_seq_length: nImage, processor_class: "PaliGemmaProcessor", resample: 3,
    rescale_factor: 1 / 255, size: { height: side, width: side },
  }, null, 2));

  // the dataset: two images, PaliGemma JSONL
  const data = join(tmp, "job-data");
  mkdirSync(data, { recursive: true });
  const lines = [];
  for (const [i, colour] of ["#c03030", "#3050c0"].entries()) {
    await sharp({ create: { width: 40 + 8 * i, height: 32, channels: 3, background: colour } }).png().toFile(join(data, `img${i}.png`));
    lines.push(JSON.stringify({ image: `img${i}.png`, prefix: "caption en", suffix: i ? "a blue square" : "a red square" }));
  }
  writeFileSync(join(data, "annotations.jsonl"), lines.join("\n") + "\n");

  // export with default arguments (only maxSteps and the batch set), then run it as exported
  const jobDir = join(tmp, "job");
  await exportTrainingJob(jobDir, {
    modelId: modelDir, dataset: { train: join(data, "annotations.jsonl") },
    loraConfig: new LoraConfig({ r: 4, loraAlpha: 8, targetModules: ["q_proj", "v_proj"] }),
    trainingArguments: new TrainingArguments({ maxSteps: 2, perDeviceTrainBatchSize: 2, learningRate: 1e-3 }),
  });
  const exported = JSON.parse(readFileSync(join(jobDir, "job.json"), "utf-8")).training_arguments;
  const r = spawnSync(python, [join(jobDir, "train.py")], { cwd: jobDir, encoding: "utf-8", timeout: 600_000,
    env: { ...process.env, HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", WANDB_DISABLED: "true", CUDA_VISIBLE_DEVICES: "" } });
  if (r.status !== 0) return { ok: false, note: `python train.py exited ${r.status}: ${(r.stderr || r.stdout).trim().split("\n").slice(-4).join(" | ")}` };
  const steps = /'train_loss': ([\d.eE+-]+)/.exec(r.stdout + r.stderr);
  const final = join(jobDir, "output", "final");

  // the adapter back here: a forward pass with our processor on the same data
  const base = await PaliGemmaForConditionalGeneration.fromPretrained(modelDir, { backend: process.env.PALIGEMMA_BACKEND ?? "cpu" });
  const peft = await PeftModel.fromPretrained(base, final);
  const processor = await PaliGemmaProcessor.fromPretrained(modelDir);
  const batch = await processor.call({ images: [join(data, "img0.png"), join(data, "img1.png")], prefixes: ["caption en", "caption en"], suffixes: ["a red square", "a blue square"] });
  peft.eval();
  const out = peft.forward(batch);
  const loss = (await out.loss.data())[0];
  let maxB = 0;
  for (const [, l] of peft.loraLayers()) maxB = Math.max(maxB, tf.tidy(() => tf.max(tf.abs(l.loraB)).dataSync()[0]));
  tf.dispose([out.logits, out.loss, ...Object.values(batch)]);
  const modules = peft.loraLayers().size;
  peft.unload();
  base.dispose();
  const ok = Number.isFinite(loss) && maxB > 0 && exported.remove_unused_columns === false;
  return { ok, note: `remove_unused_columns ${exported.remove_unused_columns}; HF train_loss ${steps?.[1] ?? "?"} over 2 steps; ` +
    `saved ${readdirSync(final).join(", ")}; loaded here: ${modules} LoRA modules, max |B| ${maxB.toExponential(2)}, loss ${loss.toFixed(4)}` };
}

main().catch((e) => {
  console.error(`[interop] ${e.stack ?? e}`);
  process.exit(1);
});
