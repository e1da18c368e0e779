/**
 * The README's "Use" example, kept compiling: `npm test` type-checks this file (it is not a *.test.ts, so it does
 * not run; it needs a real checkpoint). If an API the README shows changes, the build fails here.
 */
import {
  PaliGemmaForConditionalGeneration, PaliGemmaProcessor, loadDataset,
  LoraConfig, getPeftModel, TrainingArguments, Trainer,
} from "../../src/index.js";

export async function readmeExample(): Promise<void> {
  const model = await PaliGemmaForConditionalGeneration.fromPretrained("./paligemma2-3b-pt-224");
  const processor = await PaliGemmaProcessor.fromPretrained("./paligemma2-3b-pt-224");
  const { train, valid } = await loadDataset("./pallet-manifests"); // Roboflow JSONL layout

  const peft = getPeftModel(model, new LoraConfig({ r: 8, loraAlpha: 16, loraDropout: 0.05,
    targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] }));
  peft.printTrainableParameters(); // PEFT's exact line

  const trainer = new Trainer({ model: peft, trainDataset: train!, evalDataset: valid, collator: processor,
    args: new TrainingArguments({ outputDir: "out", numTrainEpochs: 2, learningRate: 2e-4, warmupSteps: 2 }) });
  await trainer.train(); // checkpoints in out/checkpoint-N (PEFT adapter + state)

  const batch = await processor.collate([await valid!.get(0)], { forGeneration: true });
  const { sequences } = await peft.generate(batch, { maxNewTokens: 128, numBeams: 3 });
  console.log(processor.decode(sequences[0], { skipSpecialTokens: true }));
}
