/** The CLI's pure parts: flag parsing derived from the configs, the YAML subset of --config, the progress line. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseFlags, trainingFlagSpecs, loraFlagSpecs, UsageError } from "../../src/cli/args.js";
import { parseYamlSubset } from "../../src/cli/config-file.js";
import { renderProgressLine, TerminalProgress } from "../../src/display/terminal.js";
import { TRAINING_ARGUMENT_NAMES } from "../../src/train/arguments.js";
import { LORA_CONFIG_FIELDS } from "../../src/lora/config.js";

test("every TrainingArguments and LoraConfig field is a flag (one source of truth)", () => {
  const t = trainingFlagSpecs().map((s) => s.field);
  assert.deepEqual(t, TRAINING_ARGUMENT_NAMES.filter((n) => n !== "outputDir"));
  const l = loraFlagSpecs().map((s) => s.field);
  assert.deepEqual(l, LORA_CONFIG_FIELDS.filter((n) => n !== "baseModelNameOrPath" && n !== "inferenceMode"));
});

test("flags: kebab, snake and camel spellings, =value, booleans, lists; unknown ones suggest", () => {
  const p = parseFlags(["data", "--learning-rate", "2e-3", "--gradient_accumulation_steps=4", "--evalImageGap", "--target-modules", "q_proj,v_proj",
    "--layers-to-transform", "0,1", "--load-best-model-at-end", "false"], [...trainingFlagSpecs(), ...loraFlagSpecs()]);
  assert.deepEqual(p.positional, ["data"]);
  assert.deepEqual(p.groups.trainingArguments, { learningRate: 2e-3, gradientAccumulationSteps: 4, evalImageGap: true, loadBestModelAtEnd: false });
  assert.deepEqual(p.groups.lora, { targetModules: ["q_proj", "v_proj"], layersToTransform: [0, 1] });
  assert.throws(() => parseFlags(["--warmup-step", "3"], trainingFlagSpecs()), (e: Error) => e instanceof UsageError && /did you mean --warmup-steps/.test(e.message));
  assert.throws(() => parseFlags(["--seed"], trainingFlagSpecs()), /--seed needs a value/);
  assert.throws(() => parseFlags(["--seed", "x"], trainingFlagSpecs()), /expected a number/);
});

test("YAML subset: nested maps, lists both ways, scalars, comments; unsupported forms name the line", () => {
  const y = `# run config
model: nano
strategy: lora   # adapters
trainingArguments:
  learningRate: 2e-3
  maxSteps: 40
  evalImageGap: true
  metricForBestModel: "eval_loss"
lora:
  r: 8
  targetModules: [q_proj, v_proj]
  modulesToSave:
    - multi_modal_projector
`;
  assert.deepEqual(parseYamlSubset(y), {
    model: "nano", strategy: "lora",
    trainingArguments: { learningRate: 2e-3, maxSteps: 40, evalImageGap: true, metricForBestModel: "eval_loss" },
    lora: { r: 8, targetModules: ["q_proj", "v_proj"], modulesToSave: ["multi_modal_projector"] },
  });
  assert.throws(() => parseYamlSubset("lora: {r: 8}", "c.yaml"), /c\.yaml:1: \{/);
  assert.throws(() => parseYamlSubset("model nano", "c.yaml"), /c\.yaml:1: expected "key: value"/);
  assert.throws(() => parseYamlSubset("a: 1\n    b: 2", "c.yaml"), /c\.yaml:2: unexpected indentation/);
});

test("progress line: bar, counts, ETA, rate and the scalars that matter", () => {
  const line = renderProgressLine({ task: "train", phase: "update", done: 15, total: 60, unit: "step", elapsedMs: 30_000,
    metrics: { loss: 1.23456, samplesPerSecond: 2, eval_image_gap: 0.41, learningRate: 1e-3 } }, { barWidth: 8 });
  // steps, percentage and bar, the image-use gap and the loss: what the CLI's training bar must carry
  for (const part of ["train", "15/60", "25%", "|██      |", "loss", "1.235", "0.41"]) assert.ok(line.includes(part), `${part} in ${line}`);
  const end = renderProgressLine({ task: "generate", phase: "end", done: 3, total: 3, unit: "sample", elapsedMs: 6000, label: "3 beams" }, { barWidth: 4 });
  for (const part of ["3/3", "100%", "3 beams"]) assert.ok(end.includes(part), `${part} in ${end}`);
  // generation reports samplesPerSecond too: with unit "sample" it is the rate already shown, not printed twice
  const gen = renderProgressLine({ task: "generate", phase: "update", done: 2, total: 10, unit: "sample", elapsedMs: 4000, metrics: { samplesPerSecond: 0.5 } });
  assert.equal(gen.match(/0\.5/g)?.length, 1, gen);
  assert.match(renderProgressLine({ task: "evaluate", phase: "end", done: 0, elapsedMs: 10, error: "boom" }), /failed.*boom/);
});

test("TerminalProgress: in place on a TTY with log lines above the bar; throttled lines otherwise", () => {
  let t = 0;
  const tty = { text: "", isTTY: true, write(s: string) { this.text += s; } };
  const bar = new TerminalProgress(tty, { now: () => t });
  bar.callback({ task: "train", phase: "begin", done: 0, total: 2, unit: "step", elapsedMs: 0 });
  bar.logger.info("{'loss': 1.0}");
  t = 500;
  bar.callback({ task: "train", phase: "end", done: 2, total: 2, unit: "step", elapsedMs: 500 });
  assert.match(tty.text, /^\r\x1b\[2Ktrain 0%.*0\/2 steps.*\r\x1b\[2K\{'loss': 1\.0\}\ntrain .*\r\x1b\[2Ktrain 100%.*2\/2 steps.*\n$/s);
  const log = { text: "", write(s: string) { this.text += s; } };
  const plain = new TerminalProgress(log, { now: () => t, intervalMs: 1000 });
  for (let i = 0; i <= 100; i++) plain.callback({ task: "evaluate", phase: i === 0 ? "begin" : i === 100 ? "end" : "update", done: i, total: 100, elapsedMs: i * 10 });
  assert.equal(log.text.trim().split("\n").length, 11, "not a TTY (CI, logs): one line per 10 %, begin and end included");
});
