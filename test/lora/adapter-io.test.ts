/**
 * Adapters in PEFT's layout. Python → here: adapters saved by peft 0.14 on the golden tiny model load and give
 * PEFT's logits (test/fixtures/peft, gen_peft_adapters.py). Here → here: save/load round trips; the written files
 * use PEFT's key names, shapes and config keys (the Python side of that direction is `npm run test:interop`).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { Linear } from "../../src/model/linear.js";
import { SafetensorsFile } from "../../src/io/safetensors.js";
import { saveSafetensors, type TensorToWrite } from "../../src/io/safetensors-write.js";
import { LoraConfig } from "../../src/lora/config.js";
import { getPeftModel, PeftModel } from "../../src/lora/peft-model.js";
import { CheckpointError } from "../../src/model/load.js";
import { ConfigError } from "../../src/config/errors.js";
import { TINY, maxAbsDiff } from "../helpers/golden.js";
import { withTmpDir } from "../helpers/tmp.js";
import { ADAPTER_NAMES, PEFT_FIXTURES, goldenInputs, peftExpected, peftTensor, type PeftExpected } from "./peft-fixture.js";
import { presentBackends, useBackend } from "../helpers/backends.js";

const backends = await presentBackends();

let model: PaliGemmaForConditionalGeneration;
let inputs: Awaited<ReturnType<typeof goldenInputs>>;
let expected: PeftExpected;

before(async () => {
  model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend: "cpu" });
  inputs = await goldenInputs();
  expected = await peftExpected();
});
after(() => {
  inputs.dispose();
  model.dispose();
});

async function readAll(path: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const f = await SafetensorsFile.open(path);
  try {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const k of f.keys()) {
      const t = await f.read(k);
      out.set(k, { shape: t.shape, data: t.data as Float32Array });
    }
    return out;
  } finally {
    await f.close();
  }
}

async function writeAll(path: string, tensors: Map<string, { shape: number[]; data: Float32Array }>): Promise<void> {
  const rec: Record<string, TensorToWrite> = {};
  for (const [k, t] of tensors) rec[k] = { dtype: "F32", shape: t.shape, data: t.data };
  await saveSafetensors(path, rec, { format: "pt" });
}

describe("adapters saved by Python PEFT load here with PEFT's logits", () => {
  for (const name of ADAPTER_NAMES) {
    test(`${name}: inference logits within 1e-4`, async () => {
      const p = await PeftModel.fromPretrained(model, join(PEFT_FIXTURES, name));
      try {
        assert.deepEqual([...p.loraLayers().keys()].sort(), [...expected.adapters[name].wrapped].sort());
        const want = await peftTensor(`logits.${name}.infer`);
        const got = p.forward(inputs.infer).logits;
        const d = maxAbsDiff(got, want);
        assert.ok(d <= 1e-4, `${name}: max |Δ logits| = ${d}`);
        tf.dispose([want, got]);
      } finally {
        p.unload();
      }
    });
  }

  test("lora_all (with modules_to_save): training-mask logits and loss match too", async () => {
    const p = await PeftModel.fromPretrained(model, join(PEFT_FIXTURES, "lora_all"));
    try {
      assert.deepEqual(p.modulesToSave(), ["vision_tower.vision_model.post_layernorm"]);
      const [wantLogits, wantLoss] = [await peftTensor("logits.lora_all.train"), await peftTensor("loss.lora_all")];
      const out = p.forward(inputs.train);
      assert.ok(maxAbsDiff(out.logits, wantLogits) <= 1e-4, `logits ${maxAbsDiff(out.logits, wantLogits)}`);
      assert.ok(Math.abs(out.loss!.dataSync()[0]! - wantLoss.dataSync()[0]!) <= 1e-5);
      tf.dispose([wantLogits, wantLoss, out.logits, out.loss!]);
    } finally {
      p.unload();
    }
  });

  test("isTrainable: false (PEFT's default) freezes the adapter; true trains it; unload restores modules_to_save", async () => {
    const ln = model.namedParameters().get("vision_tower.vision_model.post_layernorm.weight")!;
    const original = ln.clone();
    const frozen = await PeftModel.fromPretrained(model, join(PEFT_FIXTURES, "lora_all"));
    assert.equal(frozen.trainableParameters().size, 0);
    assert.ok(maxAbsDiff(ln, original) > 1e-3); // the saved copy is live
    frozen.unload();
    assert.equal(maxAbsDiff(ln, original), 0);
    const trainable = await PeftModel.fromPretrained(model, join(PEFT_FIXTURES, "lora_all"), { isTrainable: true });
    assert.equal(trainable.trainableParameters().size, 27 * 2 + 2);
    trainable.unload();
    original.dispose();
  });

  test("transformers ≥ 4.52 module paths and '.default' keys load the same", async () => {
    await withTmpDir(async (dir) => {
      await cp(join(PEFT_FIXTURES, "rslora_regex"), dir, { recursive: true });
      const tensors = await readAll(join(dir, "adapter_model.safetensors"));
      const renamed = new Map(
        [...tensors].map(([k, v]) => [k.replace("base_model.model.language_model.model.", "base_model.model.model.language_model.").replace(".weight", ".default.weight"), v]),
      );
      await writeAll(join(dir, "adapter_model.safetensors"), renamed);
      const p = await PeftModel.fromPretrained(model, dir);
      const want = await peftTensor("logits.rslora_regex.infer");
      const got = p.forward(inputs.infer).logits;
      assert.ok(maxAbsDiff(got, want) <= 1e-4);
      tf.dispose([want, got]);
      p.unload();
    });
  });
});

for (const backend of backends.filter((b) => b !== "cpu")) {
  describe(`PEFT adapters on ${backend}`, () => {
    test("every fixture adapter: inference logits within 1e-4", async () => {
      await useBackend(backend);
      const m = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend });
      const x = await goldenInputs();
      try {
        for (const name of ADAPTER_NAMES) {
          const p = await PeftModel.fromPretrained(m, join(PEFT_FIXTURES, name));
          const want = await peftTensor(`logits.${name}.infer`);
          const got = p.forward(x.infer).logits;
          assert.ok(maxAbsDiff(got, want) <= 1e-4, `${name} on ${backend}: ${maxAbsDiff(got, want)}`);
          tf.dispose([want, got]);
          p.unload();
        }
      } finally {
        x.dispose();
        m.dispose();
        await useBackend("cpu");
      }
    });
  });
}

describe("saving in PEFT's layout", () => {
  test("keys, shapes and adapter_config.json as PEFT writes them; a round trip restores every variable", async () => {
    await withTmpDir(async (dir) => {
      const cfg = new LoraConfig({ r: 4, loraAlpha: 8, targetModules: ["q_proj", "fc1", "linear"], initLoraWeights: false, modulesToSave: ["post_layernorm"] });
      const p = getPeftModel(model, cfg, { seed: 9 });
      const logits = p.forward(inputs.infer).logits;
      const vars = new Map([...p.trainableParameters()].map(([k, v]) => [k, v.clone()]));
      await p.savePretrained(dir);
      p.unload();

      const saved = await readAll(join(dir, "adapter_model.safetensors"));
      const q = "base_model.model.language_model.model.layers.0.self_attn.q_proj";
      assert.deepEqual(saved.get(`${q}.lora_A.weight`)!.shape, [4, 32]); // [r, in]
      assert.deepEqual(saved.get(`${q}.lora_B.weight`)!.shape, [64, 4]); // [out, r]
      assert.deepEqual(saved.get("base_model.model.vision_tower.vision_model.post_layernorm.weight")!.shape, [32]);
      assert.equal(saved.size, 2 * (2 + 2 + 2 + 1) + 2); // q_proj ×4, fc1 ×2, projector, post_layernorm w+b
      const json = JSON.parse(await readFile(join(dir, "adapter_config.json"), "utf-8")) as Record<string, unknown>;
      const peftJson = JSON.parse(await readFile(join(PEFT_FIXTURES, "lora_all", "adapter_config.json"), "utf-8")) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json), Object.keys(peftJson));
      assert.equal(json["inference_mode"], true);

      const back = await PeftModel.fromPretrained(model, dir, { isTrainable: true });
      for (const [k, v] of back.trainableParameters()) assert.equal(maxAbsDiff(v, vars.get(k)!), 0, k);
      const again = back.forward(inputs.infer).logits;
      assert.equal(maxAbsDiff(again, logits), 0);
      back.unload();
      tf.dispose([logits, again, ...vars.values()]);
    });
  });
});

describe("loading errors name the file and what is wrong, and leave the model as it was", () => {
  async function brokenCopy(dir: string, edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void): Promise<void> {
    await cp(join(PEFT_FIXTURES, "layers"), dir, { recursive: true });
    const t = await readAll(join(dir, "adapter_model.safetensors"));
    edit(t);
    await writeAll(join(dir, "adapter_model.safetensors"), t);
  }
  const q1 = "base_model.model.language_model.model.layers.1.self_attn.q_proj";

  const cases: [string, (dir: string) => Promise<void>, (e: unknown) => boolean][] = [
    ["a missing tensor and an unexpected one, together", (dir) => brokenCopy(dir, (t) => {
      const a = t.get(`${q1}.lora_A.weight`)!;
      t.delete(`${q1}.lora_A.weight`);
      t.set("base_model.model.language_model.model.layers.0.self_attn.k_proj.lora_A.weight", a);
    }), (e) => e instanceof CheckpointError && /missing 1 tensor\(s\): .*layers\.1\.self_attn\.q_proj\.lora_A\.weight; 1 tensor\(s\) that adapter_config.json does not target: .*layers\.0\.self_attn\.k_proj/.test(e.message)],
    ["a wrong shape", (dir) => brokenCopy(dir, (t) => {
      t.set(`${q1}.lora_B.weight`, { shape: [64, 3], data: new Float32Array(192) });
    }), (e) => e instanceof CheckpointError && /q_proj\.lora_B\.weight has shape \[64,3\], expected \[64,2\]/.test(e.message)],
    ["no adapter_config.json", async (dir) => {
      await cp(join(PEFT_FIXTURES, "layers"), dir, { recursive: true });
      await rm(join(dir, "adapter_config.json"));
    }, (e) => e instanceof CheckpointError && /adapter_config.json: cannot be read/.test(e.message)],
    ["only adapter_model.bin", async (dir) => {
      await cp(join(PEFT_FIXTURES, "layers"), dir, { recursive: true });
      await rm(join(dir, "adapter_model.safetensors"));
      await writeFile(join(dir, "adapter_model.bin"), "");
    }, (e) => e instanceof CheckpointError && /adapter_model.safetensors: missing; only adapter_model.bin/.test(e.message)],
    ["a PEFT 0.14 all-linear adapter with lm_head", async (dir) => {
      await cp(join(PEFT_FIXTURES, "layers"), dir, { recursive: true });
      const cfg = JSON.parse(await readFile(join(dir, "adapter_config.json"), "utf-8"));
      cfg.target_modules = ["q_proj", "lm_head"];
      cfg.layers_to_transform = null;
      cfg.layers_pattern = null;
      await writeFile(join(dir, "adapter_config.json"), JSON.stringify(cfg));
    }, (e) => e instanceof ConfigError && /field target_modules\[1\]: got "lm_head"; .*tied input embedding/.test(e.message)],
  ];
  for (const [label, make, check] of cases) {
    test(label, async () => {
      await withTmpDir(async (dir) => {
        await make(dir);
        const ln = model.namedParameters().get("vision_tower.vision_model.post_layernorm.weight")!.clone();
        await assert.rejects(PeftModel.fromPretrained(model, dir), check);
        assert.ok(model.namedLinears().every((s) => s.get() instanceof Linear));
        assert.equal(maxAbsDiff(model.namedParameters().get("vision_tower.vision_model.post_layernorm.weight")!, ln), 0);
        ln.dispose();
      });
    });
  }
});
