/**
 * getPeftModel on the golden tiny PaliGemma 2: which modules get LoRA (= what PEFT 0.14 wrapped, recorded in
 * test/fixtures/peft/expected.json by gen_peft_adapters.py), PEFT's print_trainable_parameters line, step 0 equal
 * to the base model bit for bit, only adapters training, merge/unmerge, unload, errors that list module names.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../src/tf.js";
import { PaliGemmaForConditionalGeneration } from "../../src/model/paligemma.js";
import { Linear } from "../../src/model/linear.js";
import { LoraConfig, type LoraConfigInit } from "../../src/lora/config.js";
import { loraConfigFromPeftJson } from "../../src/lora/adapter-config.js";
import { getPeftModel, formatFixed, type PeftModel } from "../../src/lora/peft-model.js";
import { ConfigError } from "../../src/config/errors.js";
import { TINY, maxAbsDiff } from "../helpers/golden.js";
import { ADAPTER_NAMES, goldenInputs, peftExpected, type PeftExpected } from "./peft-fixture.js";

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

/** Run `fn` with a PeftModel on `model`, unloading it afterwards (the base model is shared by the tests). */
function withPeft<T>(cfg: LoraConfig, fn: (p: PeftModel) => T, seed = 0): T {
  const p = getPeftModel(model, cfg, { seed });
  try {
    return fn(p);
  } finally {
    p.unload();
  }
}

/** PEFT's Python config dict (from expected.json) as a LoraConfig. */
const fromPython = (config: Record<string, unknown>): LoraConfig => loraConfigFromPeftJson({ peft_type: "LORA", ...config });

describe("which modules get LoRA (same as PEFT)", () => {
  test("every fixture adapter and maestro's config wrap exactly the modules PEFT wrapped", () => {
    const cases = [...ADAPTER_NAMES.map((n) => [n, expected.adapters[n]] as const), ["maestro", expected.maestro] as const];
    for (const [name, e] of cases) {
      withPeft(fromPython(e.config), (p) => assert.deepEqual([...p.loraLayers().keys()].sort(), [...e.wrapped].sort(), name));
    }
  });

  test('maestro\'s suffix list also adapts SigLIP\'s q/k/v_proj (as in Python); "language-model" does not', () => {
    withPeft(LoraConfig.preset("maestro"), (p) => assert.equal([...p.loraLayers().keys()].filter((n) => n.startsWith("vision_tower")).length, 6));
    withPeft(LoraConfig.preset("language-model"), (p) => {
      const names = [...p.loraLayers().keys()];
      assert.equal(names.length, 14);
      assert.ok(names.every((n) => n.startsWith("language_model.")));
    });
  });

  test('"all-linear": every linear of vision tower, projector and language model; no output layer', () => {
    withPeft(new LoraConfig({ targetModules: "all-linear" }), (p) => {
      assert.deepEqual([...p.loraLayers().keys()], model.namedLinears().map((s) => s.name));
      assert.equal(p.loraLayers().size, 27);
      assert.deepEqual(p.peftConfig.targetModules, ["down_proj", "fc1", "fc2", "gate_proj", "k_proj", "linear", "o_proj", "out_proj", "q_proj", "up_proj", "v_proj"]);
    });
  });

  const errors: [string, LoraConfigInit, RegExp][] = [
    ["a name that exists nowhere", { targetModules: ["q_proj", "qkv_proj"] }, /targetModules\[1\]: got "qkv_proj"; matches no module; linear modules in this model: .*language_model\.model\.layers\.N\.self_attn\.q_proj/],
    ["a module that is not linear", { targetModules: ["self_attn"] }, /targetModules\[0\]: got "self_attn"; matches .*self_attn, which is not a linear layer/],
    ["a regex that matches nothing", { targetModules: ".*\\.query" }, /targetModules: got ".*\\\\.query"; matches no module/],
    ["layers that do not exist", { targetModules: ["q_proj"], layersToTransform: [7] }, /layersToTransform: got \[7\]; .*no target module is left/],
    ["no targets (PEFT has no PaliGemma default)", {}, /targetModules: got null; PEFT has no default target modules for PaliGemma/],
    ["modulesToSave on a LoRA target", { targetModules: ["linear"], modulesToSave: ["multi_modal_projector"] }, /field modulesToSave: .*multi_modal_projector.linear is also a LoRA target/],
  ];
  for (const [label, init, re] of errors) {
    test(`throws for ${label}, and leaves the model untouched`, () => {
      assert.throws(() => getPeftModel(model, new LoraConfig(init)), (e: unknown) => e instanceof ConfigError && re.test(e.message));
      assert.ok(model.namedLinears().every((s) => s.get() instanceof Linear));
      assert.ok([...model.namedParameters().values()].every((v) => v.trainable));
    });
  }
});

describe("step 0, trainable set, parameter count", () => {
  test("with B = 0 the logits equal the base model's exactly (train and inference masks, training mode)", () => {
    const base = model.forward(inputs.train);
    const baseInfer = model.forward(inputs.infer).logits;
    for (const cfg of [LoraConfig.preset("maestro"), new LoraConfig({ targetModules: "all-linear", loraDropout: 0.3 })]) {
      withPeft(cfg, (p) => {
        p.train(); // dropout on: still exact, B is zero
        const out = p.forward(inputs.train);
        const infer = p.forward(inputs.infer).logits;
        assert.equal(maxAbsDiff(out.logits, base.logits), 0);
        assert.equal(maxAbsDiff(out.loss!, base.loss!), 0);
        assert.equal(maxAbsDiff(infer, baseInfer), 0);
        tf.dispose([out.logits, out.loss!, infer]);
      });
    }
    tf.dispose([base.logits, base.loss!, baseInfer]);
  });

  test("only adapter variables train, under PEFT's parameter names; the base is frozen", () => {
    withPeft(LoraConfig.preset("maestro"), (p) => {
      const names = [...p.trainableParameters().keys()].sort();
      const want = expected.maestro.wrapped.flatMap((m) => [`base_model.model.${m}.lora_A.default.weight`, `base_model.model.${m}.lora_B.default.weight`]).sort();
      assert.deepEqual(names, want);
      assert.equal(model.trainableParameters().size, 0);
      assert.ok(p.namedParameters().has("base_model.model.language_model.model.layers.0.self_attn.q_proj.base_layer.weight"));
      const a = p.loraLayers().get("language_model.model.layers.1.mlp.down_proj")!;
      assert.deepEqual(a.loraA.shape, [64, 8]); // in 64, r 8 (PEFT stores the transpose [8, 64])
      assert.deepEqual(a.loraB.shape, [8, 32]);
      assert.equal(a.scaling, 2); // α/r = 16/8
    });
    assert.equal(model.trainableParameters().size, model.namedParameters().size); // unload restored the flags
  });

  test("printTrainableParameters prints PEFT's exact line", () => {
    const cases = [...ADAPTER_NAMES.map((n) => expected.adapters[n]), expected.maestro];
    for (const e of cases) {
      withPeft(fromPython(e.config), (p) => {
        const lines: string[] = [];
        assert.equal(p.printTrainableParameters((l) => lines.push(l)), e.print);
        assert.deepEqual(lines, [e.print]);
      });
    }
  });

  test("trainable% is formatted like Python's .4f, ties to even", () => {
    assert.equal(formatFixed(0.3920123, 4), "0.3920");
    assert.equal(formatFixed(0.03125, 4), "0.0312"); // exact tie: Python gives 0.0312, toFixed 0.0313
    assert.equal(formatFixed(0.03135, 4), (0.03135).toFixed(4)); // not an exact tie in binary
    assert.equal(formatFixed(100, 4), "100.0000");
  });
});

describe("merge, unmerge, unload", () => {
  test("merge/unmerge round-trips every base weight within 1e-6; merged logits equal the adapter's", () => {
    const cfg = new LoraConfig({ targetModules: "all-linear", initLoraWeights: false, loraAlpha: 16, r: 4 });
    const before = new Map([...model.namedParameters()].map(([k, v]) => [k, v.clone()]));
    withPeft(cfg, (p) => {
      const withAdapter = p.forward(inputs.infer).logits;
      p.mergeAdapter();
      const merged = p.forward(inputs.infer).logits;
      assert.ok(maxAbsDiff(merged, withAdapter) < 1e-5, `merged vs adapter ${maxAbsDiff(merged, withAdapter)}`);
      const changed = [...model.namedParameters()].filter(([k, v]) => maxAbsDiff(v, before.get(k)!) > 1e-3).length;
      assert.equal(changed, 27); // every wrapped weight moved
      p.unmergeAdapter();
      for (const [k, v] of model.namedParameters()) assert.ok(maxAbsDiff(v, before.get(k)!) <= 1e-6, k);
      tf.dispose([withAdapter, merged]);
    });
    tf.dispose([...before.values()]);
  });

  test("mergeAndUnload returns the base model with Linear slots and the adapter folded in", () => {
    const snapshot = new Map([...model.namedParameters()].map(([k, v]) => [k, v.clone()]));
    const p = getPeftModel(model, new LoraConfig({ targetModules: ["q_proj", "fc1"], initLoraWeights: false }), { seed: 3 });
    const withAdapter = p.forward(inputs.infer).logits;
    const back = p.mergeAndUnload();
    assert.equal(back, model);
    assert.ok(model.namedLinears().every((s) => s.get() instanceof Linear));
    const merged = model.forward(inputs.infer).logits;
    assert.ok(maxAbsDiff(merged, withAdapter) < 1e-5);
    assert.throws(() => p.forward(inputs.infer), /PeftModel.forward: this PeftModel was unloaded/);
    for (const [k, v] of model.namedParameters()) v.assign(snapshot.get(k)!); // restore the golden weights
    tf.dispose([withAdapter, merged, ...snapshot.values()]);
  });

  test("unload restores the base model's logits exactly", () => {
    const base = model.forward(inputs.infer).logits;
    const p = getPeftModel(model, new LoraConfig({ targetModules: "all-linear", initLoraWeights: false }));
    const changed = p.forward(inputs.infer).logits;
    assert.ok(maxAbsDiff(changed, base) > 1e-2);
    p.unload();
    const again = model.forward(inputs.infer).logits;
    assert.equal(maxAbsDiff(again, base), 0);
    tf.dispose([base, changed, again]);
  });

  test("a second getPeftModel on a wrapped model is refused", () => {
    withPeft(LoraConfig.preset("maestro"), () => {
      assert.throws(() => getPeftModel(model, LoraConfig.preset("maestro")), /already holds a LoRA layer/);
    });
  });
});

describe("dropout, generation, memory", () => {
  test("dropout acts only in train(); setTrainingSeed makes it reproducible; generate runs in eval", async () => {
    const cfg = new LoraConfig({ targetModules: ["q_proj", "v_proj"], loraDropout: 0.5, initLoraWeights: false });
    const p = getPeftModel(model, cfg, { seed: 1 });
    try {
      const e1 = p.forward(inputs.infer).logits;
      const e2 = p.forward(inputs.infer).logits;
      assert.equal(maxAbsDiff(e1, e2), 0);
      p.train();
      p.setTrainingSeed(42);
      const t1 = p.forward(inputs.infer).logits;
      p.setTrainingSeed(42);
      const t2 = p.forward(inputs.infer).logits;
      const t3 = p.forward(inputs.infer).logits; // the stream moves on
      assert.equal(maxAbsDiff(t1, t2), 0);
      assert.ok(maxAbsDiff(t1, e1) > 1e-3);
      assert.ok(maxAbsDiff(t3, t1) > 1e-3);
      const px = tf.slice(inputs.infer.pixelValues!, [0, 0, 0, 0], [1, -1, -1, -1]);
      const ids = tf.slice(inputs.infer.inputIds, [0, 0], [1, 23]);
      const g1 = await p.generate({ pixelValues: px, inputIds: ids }, { maxNewTokens: 3 });
      const g2 = await p.generate({ pixelValues: px, inputIds: ids }, { maxNewTokens: 3 });
      assert.deepEqual(g1.sequences, g2.sequences);
      assert.equal(p.training, true); // restored after generate
      tf.dispose([e1, e2, t1, t2, t3, px, ids]);
    } finally {
      p.unload();
    }
  });

  test("numTensors stays flat across forward+backward+update steps in training mode", () => {
    const p = getPeftModel(model, LoraConfig.preset("maestro"), { seed: 2 });
    try {
      p.train();
      const vars = [...p.trainableParameters().values()];
      const opt = tf.train.adam(1e-2);
      const step = () => opt.minimize(() => p.forward(inputs.train).loss as tf.Scalar, false, vars);
      step();
      const n0 = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) step();
      assert.equal(tf.memory().numTensors, n0);
      const b = p.loraLayers().get("language_model.model.layers.0.self_attn.q_proj")!.loraB;
      assert.ok(tf.tidy(() => tf.max(tf.abs(b)).dataSync()[0]!) > 0, "B moved away from 0");
      opt.dispose();
    } finally {
      p.unload();
    }
  });
});

describe("modulesToSave", () => {
  test("PEFT's plain-suffix match; a key matching nothing lists the modules", () => {
    withPeft(new LoraConfig({ targetModules: ["q_proj"], modulesToSave: ["post_layernorm"] }), (p) => {
      assert.deepEqual(p.modulesToSave(), ["vision_tower.vision_model.post_layernorm"]);
      assert.deepEqual([...p.trainableParameters().keys()].filter((k) => k.includes("modules_to_save")), [
        "base_model.model.vision_tower.vision_model.post_layernorm.modules_to_save.default.weight",
        "base_model.model.vision_tower.vision_model.post_layernorm.modules_to_save.default.bias",
      ]);
    });
    assert.throws(
      () => getPeftModel(model, new LoraConfig({ targetModules: ["q_proj"], modulesToSave: ["classifier"] })),
      /field modulesToSave\[0\]: got "classifier"; matches no module .*modules here: vision_tower/,
    );
  });
});
