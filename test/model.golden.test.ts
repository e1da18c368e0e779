/**
 * The model against HF transformers 4.47 on the golden tiny PaliGemma 2 (test/fixtures/golden/paligemma2-tiny; made by
 * its gen.py, re-derived independently by its ref_numpy.py). Runs on every backend present.
 * Tolerances from the issue: logits ≤ 1e-4, loss ≤ 1e-5 relative, gradients ≤ 1e-4 scale-aware.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../src/tf.js";
import { PaliGemmaForConditionalGeneration, type ForwardInputs } from "../src/model/paligemma.js";
import { paliGemmaParamSpecs, toCheckpointLayout } from "../src/io/keymap.js";
import { Golden, TINY, maxAbsDiff, scaledDiff } from "./helpers/golden.js";
import { presentBackends, useBackend } from "./helpers/backends.js";

const backends = await presentBackends();

/** The same weights with another sliding window (shares the variables; do not dispose it). */
function withWindow(m: PaliGemmaForConditionalGeneration, window: number): PaliGemmaForConditionalGeneration {
  const cfg = { ...m.config, textConfig: { ...m.config.textConfig, slidingWindow: window } };
  return new PaliGemmaForConditionalGeneration(cfg, m.namedParameters());
}

for (const backend of backends) {
  describe(`golden tiny PaliGemma 2 on ${backend}`, () => {
    let g: Golden;
    let model: PaliGemmaForConditionalGeneration;
    let sw1000: PaliGemmaForConditionalGeneration;
    let train: ForwardInputs;
    let infer: ForwardInputs;

    before(async () => {
      await useBackend(backend);
      g = await Golden.open();
      model = await PaliGemmaForConditionalGeneration.fromPretrained(TINY, { backend });
      sw1000 = withWindow(model, 1000);
      const [pixelValues, inputIds, attentionMask, tokenTypeIds, labels] = await Promise.all(
        ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"].map((k) => g.tensor(`inputs.${k}`)),
      );
      train = { pixelValues, inputIds, attentionMask, tokenTypeIds, labels };
      infer = { pixelValues, inputIds, attentionMask };
    });

    after(async () => {
      for (const t of Object.values(train)) (t as tf.Tensor).dispose();
      model.dispose();
      await g.close();
    });

    test("training forward: logits, loss, vision/text hidden states, image features", async () => {
      const out = model.forward(train, { outputHiddenStates: true });
      const ref = async (name: string) => g.tensor(name);
      assert.ok(maxAbsDiff(out.logits, await ref("train.logits")) <= 1e-4, "train.logits");
      const loss = out.loss!.dataSync()[0];
      const refLoss = (await g.array("train.loss"))[0]; // 5.936095237731934
      assert.ok(Math.abs(loss - refLoss) / refLoss <= 1e-5, `loss ${loss} vs ${refLoss}`);
      assert.equal(out.visionHiddenStates!.length, 3);
      for (const [i, h] of out.visionHiddenStates!.entries()) {
        assert.ok(maxAbsDiff(h, await ref(`vision.hidden_states.${i}`)) <= 1e-4, `vision.hidden_states.${i}`);
      }
      assert.ok(maxAbsDiff(out.imageFeatures!, await ref("image_features")) <= 1e-4, "image_features");
      assert.equal(out.hiddenStates!.length, 3);
      for (const [i, h] of out.hiddenStates!.entries()) {
        assert.ok(maxAbsDiff(h, await ref(`train.hidden_states.${i}`)) <= 1e-4, `train.hidden_states.${i}`);
      }
    });

    test("inference forward (no labels: whole input bidirectional)", async () => {
      const out = model.forward(infer);
      assert.equal(out.loss, undefined);
      assert.ok(maxAbsDiff(out.logits, await g.tensor("infer.logits")) <= 1e-4);
    });

    test("sliding_window 1000 variant: train logits, loss, infer logits", async () => {
      const t = sw1000.forward(train);
      assert.ok(maxAbsDiff(t.logits, await g.tensor("train_sw1000.logits")) <= 1e-4);
      const refLoss = (await g.array("train_sw1000.loss"))[0]; // 5.857146739959717
      assert.ok(Math.abs(t.loss!.dataSync()[0] - refLoss) / refLoss <= 1e-5);
      const i = sw1000.forward(infer);
      assert.ok(maxAbsDiff(i.logits, await g.tensor("infer_sw1000.logits")) <= 1e-4);
    });

    test("computeLoss (logits only at labelled rows) equals the forward's loss", async () => {
      const full = model.forward(train);
      const lean = model.computeLoss(train);
      assert.ok(Math.abs(lean.dataSync()[0] - full.loss!.dataSync()[0]) <= 1e-6);
      tf.dispose([full.logits, full.loss!, lean]);
    });

    for (const [how, lossOf] of [
      ["forward(...).loss", (x: ForwardInputs) => model.forward(x).loss as tf.Scalar],
      ["computeLoss(...)", (x: ForwardInputs) => model.computeLoss(x)],
      [
        "computeLoss(...) with gradient checkpointing",
        (x: ForwardInputs) => {
          model.gradientCheckpointingEnable(true);
          try {
            return model.computeLoss(x);
          } finally {
            model.gradientCheckpointingEnable(false); // the forward is done; its backward recomputes layers later
          }
        },
      ],
    ] as const)
    test(`the 11 reference gradients of the loss via ${how}`, async () => {
      const names = paliGemmaParamSpecs(model.config)
        .map((s) => s.name)
        .filter((n) => g.has(`grad.${n}`));
      assert.equal(names.length, 11);
      const params = model.namedParameters();
      const { value, grads } = tf.variableGrads(() => lossOf(train), names.map((n) => params.get(n)!));
      value.dispose();
      const specs = new Map(paliGemmaParamSpecs(model.config).map((s) => [s.name, s]));
      for (const n of names) {
        const ours = grads[params.get(n)!.name];
        const hf = toCheckpointLayout(specs.get(n)!, ours.dataSync() as Float32Array);
        const mine = tf.tensor(hf, specs.get(n)!.hfShape);
        const ref = await g.tensor(`grad.${n}`);
        const d = scaledDiff(mine, ref);
        assert.ok(d <= 1e-4, `grad.${n}: scaled diff ${d}`);
        tf.dispose([mine, ref]);
      }
      tf.dispose(Object.values(grads));
    });

    for (const [label, get, prefix] of [
      ["sliding_window 4", () => model, "gen"],
      ["sliding_window 1000", () => sw1000, "gen_sw1000"],
    ] as const) {
      test(`greedy with KV cache and beam-3 (${label})`, async () => {
        const m = get();
        for (const s of [0, 1]) {
          const prompt = await g.tensor(`gen.s${s}.prompt_ids`);
          const px = tf.slice(train.pixelValues!, [s, 0, 0, 0], [1, -1, -1, -1]);
          const greedy = await m.generate({ pixelValues: px, inputIds: prompt }, { maxNewTokens: 6 });
          assert.deepEqual(greedy.sequences[0], await g.array(`${prefix}.s${s}.greedy.sequences`));
          const beam = await m.generate({ pixelValues: px, inputIds: prompt }, { maxNewTokens: 6, numBeams: 3 });
          assert.deepEqual(beam.sequences[0], await g.array(`${prefix}.s${s}.beam3.sequences`));
          const refScore = (await g.array(`${prefix}.s${s}.beam3.sequences_scores`))[0];
          assert.ok(Math.abs(beam.sequencesScores![0] - refScore) <= 1e-5, `beam score ${beam.sequencesScores![0]} vs ${refScore}`);
          tf.dispose([prompt, px]);
        }
      });

      test(`per-step decode logits with the cache equal HF's (${label})`, async () => {
        const m = get();
        for (const s of [0, 1]) {
          const prompt = Int32Array.from(await g.array(`gen.s${s}.prompt_ids`));
          const seq = await g.array(`${prefix}.s${s}.greedy.sequences`);
          const px = tf.slice(train.pixelValues!, [s, 0, 0, 0], [1, -1, -1, -1]);
          const { logits, cache } = m.prefill(px, prompt);
          const steps = [logits];
          for (let t = 0; t < 5; t++) steps.push(m.decodeStep(Int32Array.of(seq[prompt.length + t]), prompt.length + t, cache));
          const ours = tf.concat(steps, 0);
          const ref = await g.tensor(`${prefix}.s${s}.greedy.logits`);
          assert.ok(maxAbsDiff(ours, ref) <= 1e-4, `${prefix}.s${s}.greedy.logits`);
          cache.dispose();
          tf.dispose([...steps, ours, ref, px]);
        }
      });
    }
  });
}
