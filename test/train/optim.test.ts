/**
 * Optimizer pieces against the real packages (test/fixtures/train/gen_optim.py → optim.json, torch 2.5.1 +
 * transformers 4.47.1): HF `get_scheduler` multipliers, `get_warmup_steps`, `torch.optim.AdamW`,
 * `torch.nn.utils.clip_grad_norm_`; and the decay-name rule.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tf } from "../../src/tf.js";
import { learningRateAt } from "../../src/train/schedule.js";
import { TrainingArguments, type SchedulerType } from "../../src/train/arguments.js";
import { AdamW, decayParameter } from "../../src/train/adamw.js";
import { GradAccumulator } from "../../src/train/grads.js";
import { repoRoot } from "../helpers/paths.js";
import { initBackend } from "../../src/backend/select.js";

await initBackend({ backend: "cpu" });

const ref = JSON.parse(readFileSync(join(repoRoot(), "test", "fixtures", "train", "optim.json"), "utf-8"));

function close(a: readonly number[], b: readonly number[], tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

describe("learning-rate schedules = transformers.get_scheduler", () => {
  for (const c of ref.schedules as { type: SchedulerType; warmup: number; total: number; base_lr: number; lrs: number[] }[]) {
    test(`${c.type}, warmup ${c.warmup}, total ${c.total} (stepped past the end)`, () => {
      const ours = c.lrs.map((_, k) => learningRateAt({ type: c.type, baseLr: c.base_lr, warmupSteps: c.warmup, totalSteps: c.total }, k));
      close(ours, c.lrs, 1e-12, c.type);
    });
  }
  test("warmup steps from warmupRatio / warmupSteps = TrainingArguments.get_warmup_steps", () => {
    for (const c of ref.warmup_steps) {
      const args = new TrainingArguments({ warmupRatio: c.warmup_ratio, warmupSteps: c.warmup_steps });
      assert.equal(args.warmupStepsFor(c.total), c.result, JSON.stringify(c));
    }
  });
});

describe("AdamW = torch.optim.AdamW", () => {
  const a = ref.adamw;
  for (const c of a.cases as { weight_decay: number; eps: number; betas: number[]; after: number[][] }[]) {
    test(`wd ${c.weight_decay}, eps ${c.eps}, betas ${c.betas}: 4 steps with changing lr and gradient scale`, () => {
      const p = tf.variable(tf.tensor(a.p0, a.shape));
      const opt = new AdamW(new Map([["w", p]]), { beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, weightDecay: c.weight_decay });
      const before = tf.memory().numTensors;
      a.grads.forEach((g: number[], k: number) => {
        const grad = tf.tensor(g, a.shape);
        opt.step(new Map([["w", grad]]), a.lrs[k]);
        grad.dispose();
        close(Array.from(p.dataSync()), c.after[k]!, 2e-6, `step ${k + 1}`);
      });
      assert.equal(tf.memory().numTensors, before, "AdamW.step leaks no tensors");
      opt.dispose();
      p.dispose();
    });
  }
  test("getState/setState round-trips: a restored optimizer continues identically", async () => {
    const mk = () => tf.variable(tf.tensor(a.p0, a.shape));
    const [p1, p2] = [mk(), mk()];
    const o1 = new AdamW(new Map([["w", p1]]), { weightDecay: 0.1 });
    const g = tf.tensor(a.grads[0], a.shape);
    o1.step(new Map([["w", g]]), 0.1);
    p2.assign(p1);
    const o2 = new AdamW(new Map([["w", p2]]), { weightDecay: 0.1 });
    o2.setState(await o1.getState());
    o1.step(new Map([["w", g]]), 0.05);
    o2.step(new Map([["w", g]]), 0.05);
    assert.deepEqual(Array.from(p2.dataSync()), Array.from(p1.dataSync()));
    assert.equal(o2.stepCount, 2);
    tf.dispose([g, p1, p2]);
    o1.dispose();
    o2.dispose();
  });
});

describe("gradient clipping = torch.nn.utils.clip_grad_norm_", () => {
  for (const c of ref.clip as { max_norm: number; shapes: number[][]; grads: number[][]; total_norm: number; clipped: number[][] }[]) {
    test(`max_norm ${c.max_norm}`, () => {
      const acc = new GradAccumulator();
      acc.add(new Map(c.grads.map((g, i) => [`p${i}`, tf.tensor(g, c.shapes[i])])));
      const norm = acc.clip(c.max_norm);
      assert.ok(Math.abs(norm - c.total_norm) <= 1e-5 * c.total_norm, `norm ${norm} vs ${c.total_norm}`);
      const out = acc.take();
      c.clipped.forEach((g, i) => close(Array.from(out.get(`p${i}`)!.dataSync()), g, 1e-6, `p${i}`));
      tf.dispose([...out.values()]);
    });
  }
  test("accumulating micro-batch gradients sums them and frees the inputs", () => {
    const before = tf.memory().numTensors;
    const acc = new GradAccumulator();
    acc.add(new Map([["w", tf.tensor([1, 2])]]));
    acc.add(new Map([["w", tf.tensor([10, 20])]]));
    assert.equal(acc.count, 2);
    const out = acc.take();
    assert.deepEqual(Array.from(out.get("w")!.dataSync()), [11, 22]);
    tf.dispose([...out.values()]);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe("weight decay by parameter name (no decay on biases and norm weights)", () => {
  // name → decayed? One row per kind of PaliGemma 2 / PEFT parameter.
  const table: [string, boolean][] = [
    ["language_model.model.layers.0.self_attn.q_proj.weight", true],
    ["language_model.model.layers.0.mlp.down_proj.weight", true],
    ["language_model.model.embed_tokens.weight", true],
    ["multi_modal_projector.linear.weight", true],
    ["vision_tower.vision_model.embeddings.patch_embedding.weight", true],
    ["vision_tower.vision_model.embeddings.position_embedding.weight", true],
    ["base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight", true], // HF decays LoRA A/B
    ["base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_B.weight", true],
    ["multi_modal_projector.linear.bias", false],
    ["vision_tower.vision_model.encoder.layers.0.self_attn.k_proj.bias", false],
    ["vision_tower.vision_model.encoder.layers.0.layer_norm1.weight", false], // SigLIP LayerNorm
    ["vision_tower.vision_model.post_layernorm.weight", false],
    ["language_model.model.layers.1.input_layernorm.weight", false], // Gemma 2 RMSNorms
    ["language_model.model.layers.1.pre_feedforward_layernorm.weight", false],
    ["language_model.model.norm.weight", false],
    ["some.block.rmsnorm.scale", false],
    ["some.block.q_norm.weight", false],
  ];
  for (const [name, decays] of table) test(`${name} → ${decays ? "decay" : "no decay"}`, () => assert.equal(decayParameter(name), decays));
});
