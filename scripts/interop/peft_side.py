"""The Python half of `npm run test:interop` (scripts/interop/run.mjs drives it): Hugging Face PEFT on the golden tiny
PaliGemma 2, to check that LoRA adapters move between Python PEFT and paligemma-ts in both directions.

Packages: torch, transformers 4.47.x-4.51.x (they apply PaliGemma's final logit softcap, as the golden fixtures and
paligemma-ts do; >= 4.52 drop it), peft (0.14.0 tested), safetensors, numpy — see requirements.txt.

  python peft_side.py make  OUT_DIR            a PEFT adapter with non-zero B (+ modules_to_save) and its logits
  python peft_side.py check ADAPTER_DIR EXPECTED.safetensors [RESAVE_DIR]
                                               load an adapter saved by paligemma-ts with PeftModel.from_pretrained,
                                               compare logits/loss with the TypeScript ones; optionally save it again
Both print one JSON line on stdout. The golden model is test/fixtures/golden/paligemma2-tiny
(made by test/fixtures/golden/gen.py).
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(REPO, "test", "fixtures", "golden", "paligemma2-tiny")


def base_model():
    from transformers import PaliGemmaForConditionalGeneration

    model = PaliGemmaForConditionalGeneration.from_pretrained(GOLDEN, torch_dtype=torch.float32).eval()
    model.name_or_path = model.config._name_or_path = "paligemma2-tiny"
    return model


def golden_inputs():
    o = load_file(os.path.join(GOLDEN, "outputs.safetensors"))
    train = {k: o[f"inputs.{k}"] for k in ["pixel_values", "input_ids", "attention_mask", "token_type_ids", "labels"]}
    infer = {k: train[k] for k in ["pixel_values", "input_ids", "attention_mask"]}
    return train, infer, o


def check_reference(model):
    """The base model must reproduce the golden logits, or the transformers version computes something else."""
    train, _, o = golden_inputs()
    with torch.no_grad():
        d = (model(**train).logits - o["train.logits"]).abs().max().item()
    if d > 1e-4:
        import transformers

        sys.exit(f"transformers {transformers.__version__} does not reproduce the golden logits (max diff {d}); "
                 "use transformers 4.47-4.51 (>= 4.52 drops PaliGemma's final logit softcap)")


def run(pm):
    train, infer, _ = golden_inputs()
    pm.eval()
    with torch.no_grad():
        t = pm(**train)
        return {"logits.infer": pm(**infer).logits.contiguous(), "logits.train": t.logits.contiguous(), "loss": t.loss.reshape(1)}


def make(out):
    import peft
    import transformers
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(1234)
    model = base_model()
    check_reference(model)
    cfg = LoraConfig(r=6, lora_alpha=12, lora_dropout=0.05, use_rslora=True, init_lora_weights=False,
                     target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "fc1", "fc2", "gate_proj", "up_proj", "down_proj"],
                     modules_to_save=["multi_modal_projector"], task_type="CAUSAL_LM")
    pm = get_peft_model(model, cfg)
    proj = pm.base_model.model.multi_modal_projector.modules_to_save["default"].linear
    with torch.no_grad():
        proj.weight.add_(0.1 * torch.randn_like(proj.weight))
    pm.save_pretrained(out)
    save_file(run(pm), os.path.join(out, "expected.safetensors"))
    print(json.dumps({"made": out, "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}))


def check(adapter, expected_path, resave=None):
    from peft import PeftModel

    model = base_model()
    check_reference(model)
    pm = PeftModel.from_pretrained(model, adapter)
    got = run(pm)
    want = load_file(expected_path)
    diffs = {k: (got[k] - want[k]).abs().max().item() for k in ["logits.infer", "logits.train", "loss"]}
    wrapped = sum(1 for n, _ in pm.named_modules() if n.endswith(".lora_A"))
    if resave:
        pm.save_pretrained(resave)
    print(json.dumps({"checked": adapter, "diffs": diffs, "lora_modules": wrapped}))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
    else:
        sys.exit(__doc__)
