#!/usr/bin/env node
/**
 * `npm run test:interop`: LoRA adapters move between Python PEFT and paligemma-ts, both ways, with the same logits.
 *
 *   1. Python → TS    PEFT makes an adapter on the golden tiny PaliGemma 2 (non-zero B, rsLoRA, modules_to_save);
 *                     PeftModel.fromPretrained here must reproduce PEFT's logits and loss.
 *   2. TS → Python    an adapter trained here for 2 AdamW steps (dropout on) is saved; Python's
 *                     PeftModel.from_pretrained must reproduce our logits and loss.
 *   3. TS → PEFT → TS PEFT saves that adapter again; loading PEFT's file here gives our logits again.
 * Pass: every logits diff ≤ 1e-4, loss diffs ≤ 1e-5. Exit status 1 otherwise.
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
  console.log(`\n${ok ? "PASS" : "FAIL"}: logits within ${LOGITS_TOL}, loss within ${LOSS_TOL}`);
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(`[interop] ${e.stack ?? e}`);
  process.exit(1);
});
