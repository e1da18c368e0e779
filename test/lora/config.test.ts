/**
 * LoraConfig: PEFT's defaults (read from PEFT 0.14 itself: `LoraConfig().to_dict()` in
 * test/fixtures/peft/expected.json, made by gen_peft_adapters.py), validation that names the field, unknown fields
 * with the nearest valid name, presets, and adapter_config.json both ways.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LoraConfig, type LoraConfigInit } from "../../src/lora/config.js";
import { loraConfigFromPeftJson, loraConfigToPeftJson } from "../../src/lora/adapter-config.js";
import { ConfigError } from "../../src/config/errors.js";
import { ADAPTER_NAMES, PEFT_FIXTURES, peftExpected, type PeftExpected } from "./peft-fixture.js";

let expected: PeftExpected;
before(async () => {
  expected = await peftExpected();
});

const snakeToCamel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

describe("defaults", () => {
  test("new LoraConfig() written as adapter_config.json equals PEFT's LoraConfig().to_dict()", () => {
    const ours = loraConfigToPeftJson(new LoraConfig());
    assert.deepEqual(ours, expected.defaults);
  });

  test("field values equal PEFT's defaults (r 8, alpha 8, dropout 0, bias none, no rsLoRA …)", () => {
    const c = new LoraConfig();
    for (const [snake, v] of Object.entries(expected.defaults)) {
      const camel = snakeToCamel(snake);
      if (camel in c) assert.deepEqual((c as unknown as Record<string, unknown>)[camel], v, snake);
    }
    assert.equal(c.scaling(), 1);
  });
});

describe("validation names the field", () => {
  const bad: [string, LoraConfigInit, RegExp][] = [
    ["rank 0", { r: 0 }, /field r: got 0/],
    ["fractional rank", { r: 1.5 }, /field r: got 1.5/],
    ["negative alpha", { loraAlpha: -1 }, /field loraAlpha: got -1/],
    ["dropout 1", { loraDropout: 1 }, /field loraDropout: got 1/],
    ["bias all (not implemented)", { bias: "all" }, /field bias: got "all"; only "none"/],
    ["DoRA", { useDora: true }, /field useDora: got true/],
    ["fan_in_fan_out", { fanInFanOut: true }, /field fanInFanOut/],
    ["pissa init", { initLoraWeights: "pissa" as never }, /field initLoraWeights: got "pissa"/],
    ["empty target list", { targetModules: [] }, /field targetModules: got \[\]/],
    ["bad regex", { targetModules: "q_proj(" }, /field targetModules: got "q_proj\("; not a valid regular expression/],
    ["layers with a regex target (PEFT rule)", { targetModules: ".*q_proj", layersToTransform: [0] }, /field layersToTransform/],
    ["layersPattern alone (PEFT rule)", { targetModules: ["q_proj"], layersPattern: "layers" }, /field layersPattern/],
    ["negative layer", { targetModules: ["q_proj"], layersToTransform: [-1] }, /field layersToTransform/],
    ["rank pattern value", { rankPattern: { down_proj: 0 } }, /field rankPattern.down_proj: got 0/],
    ["modulesToSave string", { modulesToSave: "lm_head" as never }, /field modulesToSave/],
  ];
  for (const [label, init, re] of bad) {
    test(label, () => {
      assert.throws(() => new LoraConfig(init), (e: unknown) => e instanceof ConfigError && re.test(e.message));
    });
  }

  for (const [typo, near] of [["lora_alpha", "loraAlpha"], ["targetModule", "targetModules"], ["lora_dropuot", "loraDropout"], ["use_rslora", "useRslora"]] as const) {
    test(`unknown field ${typo} suggests ${near}`, () => {
      assert.throws(
        () => new LoraConfig({ [typo]: 1 } as LoraConfigInit),
        (e: unknown) => e instanceof ConfigError && e.field === typo && e.message.includes(`did you mean ${near}?`),
      );
    });
  }
});

describe("presets", () => {
  test("maestro equals roboflow/maestro's LoraConfig (as recorded from Python)", () => {
    const ours = loraConfigToPeftJson(LoraConfig.preset("maestro"));
    for (const [k, v] of Object.entries(expected.maestro.config)) assert.deepEqual(ours[k], v, k);
  });

  test("language-model preset: same hyper-parameters, a regex on the decoder; overrides apply", () => {
    const c = LoraConfig.preset("language-model", { r: 16 });
    assert.equal(c.r, 16);
    assert.equal(c.loraAlpha, 16);
    assert.equal(c.loraDropout, 0.05);
    assert.equal(typeof c.targetModules, "string");
  });

  test("an unknown preset lists the valid names", () => {
    assert.throws(() => LoraConfig.preset("qlora"), /field preset: got "qlora"; use one of "maestro", "language-model"/);
  });
});

describe("adapter_config.json", () => {
  for (const name of ADAPTER_NAMES) {
    test(`${name}: PEFT's file reads and writes back with the same keys and values`, async () => {
      const json = JSON.parse(await readFile(join(PEFT_FIXTURES, name, "adapter_config.json"), "utf-8")) as Record<string, unknown>;
      const back = loraConfigToPeftJson(loraConfigFromPeftJson(json));
      assert.deepEqual(Object.keys(back), Object.keys(json));
      for (const k of Object.keys(json)) {
        if (k === "auto_mapping") continue; // PEFT fills in its own class names when task_type is null
        const v = k === "target_modules" && Array.isArray(json[k]) ? [...(json[k] as string[])].sort() : json[k];
        const w = k === "target_modules" && Array.isArray(back[k]) ? [...(back[k] as string[])].sort() : back[k];
        assert.deepEqual(w, v, k);
      }
    });
  }

  test("variants that compute something else are refused, naming the key and file", () => {
    const base = { peft_type: "LORA", r: 4, target_modules: ["q_proj"] };
    for (const [k, v] of [["use_dora", true], ["lora_bias", true], ["layer_replication", [[0, 1]]], ["use_qalora", true]] as const) {
      assert.throws(() => loraConfigFromPeftJson({ ...base, [k]: v }, "a/adapter_config.json"), new RegExp(`a/adapter_config.json: field ${k}: got`));
    }
    assert.throws(() => loraConfigFromPeftJson({ ...base, peft_type: "IA3" }), /field peft_type: got "IA3"; only LoRA/);
    assert.throws(() => loraConfigFromPeftJson({ ...base, r: -2 }, "x.json"), /x.json: field r: got -2/);
  });

  test("keys from newer PEFT versions with neutral values are ignored", () => {
    const c = loraConfigFromPeftJson({ peft_type: "LORA", r: 4, target_modules: ["q_proj"], qalora_group_size: 16, ensure_weight_tying: false, corda_config: null });
    assert.equal(c.r, 4);
  });
});
