"""The PyTorch + PEFT peer of the GPU check (bench/gpu/run.sh): LoRA training steps on the same shapes as
bench/gpu/bench.ts, in float32 and bfloat16, one JSON line per (model, dtype) on stdout.

    python bench/gpu/torch_gpu.py --models small,3b-224 --dtypes float32,bfloat16 --batch 4 --iters 3 --device cuda

Same input as bench/torch_peer.py (256·(res/224)² image tokens | bos | 24 prefix | "\\n" | 38 suffix | eos), same LoRA
(r 8, α 16, dropout 0.05 on q/k/v/o/gate/up/down), one step as HF Trainer takes it: forward, backward,
clip_grad_norm_(1.0), AdamW(lr 1e-5), zero_grad. One warm-up step, then the median of `iters`. Peak memory:
torch.cuda.max_memory_allocated on CUDA, peak RSS on CPU. Random weights (seeded): speed does not depend on values.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

try:
    import torch
    import transformers
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from torch_peer import LORA, inputs  # noqa: E402  (the same input and LoRA as npm run bench's peer)
    MISSING = None
except ImportError as e:  # still one row per (model, dtype), each saying what is missing
    MISSING = f"{type(e).__name__}: {e}"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = {
    "tiny": os.path.join(ROOT, "test", "fixtures", "golden", "paligemma2-tiny", "config.json"),
    "small": os.path.join(ROOT, "bench", "configs", "small", "config.json"),
    "3b-224": os.path.join(ROOT, "test", "fixtures", "memory", "paligemma2-3b-pt-224", "config.json"),
}


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def lora_step_row(model_name, dtype_name, batch, iters, device):
    import peft
    dtype = getattr(torch, dtype_name)
    torch.manual_seed(0)
    cfg = PaliGemmaConfig.from_json_file(CONFIGS[model_name])
    cfg.text_config._attn_implementation = "eager"  # what transformers advises for Gemma 2 training
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with torch.device(device):
        model = PaliGemmaForConditionalGeneration(cfg).to(dtype)
    model = peft.get_peft_model(model, peft.LoraConfig(**LORA))
    model.train()
    x = {k: (v.to(device).to(dtype) if v.is_floating_point() else v.to(device)) for k, v in inputs(cfg, batch).items()}
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)

    def step():
        loss = model(**x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync(device)
        return loss

    step()  # warm-up
    secs = []
    for _ in range(iters):
        t = time.perf_counter()
        step()
        secs.append(time.perf_counter() - t)
    s = statistics.median(secs)
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return dict(trainable=sum(p.numel() for p in params), seconds=s, samples_per_second=batch / s, peak_bytes=peak,
                peft=peft.__version__)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="small,3b-224")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--device", default="cuda" if not MISSING and torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    a = ap.parse_args()
    if MISSING:
        for m in a.models.split(","):
            for d in a.dtypes.split(","):
                print(json.dumps(dict(side="torch", model=m, dtype=d, device=a.device, batch=a.batch, error=MISSING)), flush=True)
        return
    if a.threads:
        torch.set_num_threads(a.threads)
    gpu = torch.cuda.get_device_name(0) if a.device == "cuda" else None
    for m in a.models.split(","):
        for d in a.dtypes.split(","):
            row = dict(side="torch", model=m, dtype=d, device=a.device, batch=a.batch, torch=torch.__version__,
                       transformers=transformers.__version__, gpu=gpu)
            try:
                row.update(lora_step_row(m, d, a.batch, a.iters, a.device))
            except Exception as e:  # one failing row (e.g. out of memory) must not lose the others
                row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
            if a.device == "cuda":
                torch.cuda.empty_cache()
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
