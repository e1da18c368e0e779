/**
 * The Python side of `exportTrainingJob`: a static `train.py` that reads every setting from `job.json` next to it
 * (configs as data: nothing user-given is pasted into Python source), plus its pinned requirements.
 */

/** Pinned to the versions paligemma-ts is tested against (test/fixtures/train/gen_*.py). */
export const JOB_REQUIREMENTS = [
  "torch>=2.1",
  "transformers==4.47.1",
  "peft==0.14.0",
  "accelerate==1.2.1",
  "safetensors",
  "pillow",
  "sentencepiece",
  "bitsandbytes  # only for quantization nf4/int8 (QLoRA); needs a CUDA GPU",
];

export const TRAIN_PY = String.raw`#!/usr/bin/env python3
"""Fine-tune PaliGemma with Hugging Face transformers + peft + accelerate, as exported by paligemma-ts.

Every setting comes from job.json next to this file (written by paligemma-ts exportTrainingJob): the base model,
the JSONL datasets ({"image": ..., "prefix": ..., "suffix": ...} per line, image paths relative to the JSONL
file), the LoraConfig (PEFT field names), the optional freezing / 4-bit or 8-bit quantization, and the
TrainingArguments (HF names). Run it with

    pip install -r requirements.txt
    accelerate launch train.py        # or: python train.py

Checkpoints go to <output_dir>/checkpoint-N and the final adapter (or full model) to <output_dir>/final; load an
adapter back in TypeScript with PeftModel.fromPretrained(base, "<output_dir>/final").

To train exactly what paligemma-ts trains (same loss, same optimizer groups):
  * the loss of one optimizer step is the mean of the micro-batch mean losses (sum / gradient_accumulation_steps);
    transformers 4.46-4.48 skip that division for models whose forward takes no **kwargs (PaliGemma), so
    PaliGemmaTsTrainer.compute_loss restores it there;
  * no weight decay for biases and for norm weights matched by name (LayerNorm and Gemma 2's RMSNorm; transformers
    4.47 by itself decays the RMSNorm weights);
  * padding gets token_type_id 1 (transformers 4.47's processor pads token types with 0, which its prefix-LM mask
    then unmasks).
The data order (shuffling) is the framework's own and differs from paligemma-ts's.
"""
import json
import os
import re

import torch
import transformers
from PIL import Image
from transformers import (AutoProcessor, EarlyStoppingCallback, PaliGemmaForConditionalGeneration, Trainer,
                          TrainingArguments)

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "job.json"), encoding="utf-8") as f:
    JOB = json.load(f)

NO_DECAY = [re.compile(p) for p in JOB["no_decay_patterns"]]


def resolve(path):
    return path if os.path.isabs(path) else os.path.join(HERE, path)


class JsonlDataset(torch.utils.data.Dataset):
    """PaliGemma JSONL: one {"image", "prefix", "suffix"} object per line; bad lines are skipped with a warning."""

    def __init__(self, path):
        self.root = os.path.dirname(path)
        self.rows = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    assert all(isinstance(row.get(k), str) for k in ("image", "prefix", "suffix"))
                    row["image"] = os.path.join(self.root, row["image"])
                    self.rows.append(row)
                except Exception as e:  # noqa: BLE001
                    print(f"warning: {path}:{n}: skipped ({e})")
        print(f"{path}: loaded {len(self.rows)} examples")

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def make_collator(processor):
    def collate(rows):
        images = [Image.open(r["image"]).convert("RGB") for r in rows]
        prefixes = ["<image>" + r["prefix"] for r in rows]
        batch = processor(text=prefixes, images=images, suffix=[r["suffix"] for r in rows],
                          return_tensors="pt", padding="longest")
        batch["token_type_ids"][batch["attention_mask"] == 0] = 1
        return batch
    return collate


class PaliGemmaTsTrainer(Trainer):
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        version = tuple(int(x) for x in transformers.__version__.split(".")[:2])
        if not self.model_accepts_loss_kwargs and (4, 46) <= version < (4, 49) and model.training:
            if return_outputs:
                return out[0] / self.args.gradient_accumulation_steps, out[1]
            return out / self.args.gradient_accumulation_steps
        return out

    def get_decay_parameter_names(self, model):
        return [n for n, _ in model.named_parameters() if not any(p.search(n.lower()) for p in NO_DECAY)]


def load_model():
    kwargs = {"torch_dtype": torch.float32, "attn_implementation": "eager"}
    quant = JOB.get("quantization")
    if quant:
        from transformers import BitsAndBytesConfig
        if quant == "nf4":
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                               bnb_4bit_use_double_quant=JOB.get("double_quant", False),
                                                               bnb_4bit_compute_dtype=torch.float32)
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    model = PaliGemmaForConditionalGeneration.from_pretrained(JOB["model_id"], **kwargs)
    freeze = JOB.get("freeze") or {}
    prefixes = {"vision_tower": freeze.get("visionTower"), "multi_modal_projector": freeze.get("multiModalProjector"),
                "language_model": freeze.get("languageModel")}
    for name, p in model.named_parameters():
        if any(flag and name.startswith(prefix) for prefix, flag in prefixes.items()):
            p.requires_grad = False
    if JOB.get("lora"):
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
        if quant:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
        lora = {k: v for k, v in JOB["lora"].items() if k in LoraConfig.__dataclass_fields__}
        lora["inference_mode"] = False
        model = get_peft_model(model, LoraConfig(**lora))
        model.print_trainable_parameters()
    return model


def main():
    data = JOB["dataset"]
    train = JsonlDataset(resolve(data["train"]))
    evaluation = JsonlDataset(resolve(data["eval"])) if data.get("eval") else None
    processor = AutoProcessor.from_pretrained(JOB.get("processor_id") or JOB["model_id"])
    model = load_model()
    args = TrainingArguments(**{**JOB["training_arguments"], "output_dir": resolve(JOB["training_arguments"]["output_dir"])})
    callbacks = []
    if JOB.get("early_stopping"):
        callbacks.append(EarlyStoppingCallback(**JOB["early_stopping"]))
    trainer = PaliGemmaTsTrainer(model=model, args=args, train_dataset=train, eval_dataset=evaluation,
                                 data_collator=make_collator(processor), callbacks=callbacks)
    trainer.train(resume_from_checkpoint=JOB.get("resume_from_checkpoint"))
    trainer.save_model(os.path.join(args.output_dir, "final"))


if __name__ == "__main__":
    main()
`;
