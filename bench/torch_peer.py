"""The PyTorch side of `npm run bench`: the same shapes, measured in the same run, on the same threads.

One mode per process (its peak RSS is the process's), one JSON line on stdout:

    python bench/torch_peer.py --config bench/configs/small/config.json --mode lora --batch 1 --iters 2 --threads 2

Modes (inputs as bench/inputs.ts makes them: 256 image tokens | bos | 24 prefix | "\\n" | 38 suffix | eos = 321):
  forward        no-grad forward with loss                       -> seconds per call
  fwdbwd         forward + backward, every parameter trainable   -> seconds per call
  full, freeze-vision, lora
                 one training step as HF Trainer takes it: forward, backward, clip_grad_norm_(1.0),
                 torch.optim.AdamW(lr=1e-5), zero_grad           -> seconds per step
  decode         greedy generate 32 new tokens after the 282-token prompt, and the prefill alone
                                                                 -> tokens/s = 31 / (generate - prefill)
Needs torch, transformers 4.47 and peft (lora). Random weights (seeded): speed does not depend on values.
"""
import argparse
import json
import resource
import statistics
import time

import torch
import transformers
from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration

PREFIX, SUFFIX, NEW_TOKENS = 24, 38, 32
LORA = dict(r=8, lora_alpha=16, lora_dropout=0.05,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


def inputs(cfg, b, with_suffix=True):
    g = torch.Generator().manual_seed(0)
    n_img = (cfg.vision_config.image_size // cfg.vision_config.patch_size) ** 2
    vocab = cfg.image_token_index  # ordinary ids stay below the image token
    ids = [cfg.image_token_index] * n_img + [2] + torch.randint(3, vocab, (PREFIX,), generator=g).tolist() + [108]
    prompt_len = len(ids)
    if with_suffix:
        ids += torch.randint(3, vocab, (SUFFIX,), generator=g).tolist() + [1]
    input_ids = torch.tensor([ids] * b)
    size = cfg.vision_config.image_size
    out = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
               pixel_values=torch.rand((b, 3, size, size), generator=g) * 2 - 1)
    if with_suffix:
        tt = torch.zeros_like(input_ids)
        tt[:, prompt_len:] = 1
        labels = input_ids.clone()
        labels[:, :prompt_len] = -100
        out.update(token_type_ids=tt, labels=labels)
    return out


def timed(fn, iters):
    fn()  # warm-up
    secs = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t)
    return statistics.median(secs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--mode", required=True, choices=["forward", "fwdbwd", "full", "freeze-vision", "lora", "decode"])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = PaliGemmaConfig.from_json_file(a.config)
    cfg.text_config._attn_implementation = "eager"  # what transformers advises for Gemma 2 training
    model = PaliGemmaForConditionalGeneration(cfg).float()
    x = inputs(cfg, a.batch, with_suffix=a.mode != "decode")
    out = dict(mode=a.mode, batch=a.batch, torch=torch.__version__, transformers=transformers.__version__,
               threads=torch.get_num_threads())

    if a.mode == "forward":
        model.eval()
        with torch.no_grad():
            out["seconds"] = timed(lambda: model(**x, use_cache=False).loss, a.iters)  # ours builds no cache either
    elif a.mode == "fwdbwd":
        model.train()

        def fwdbwd():
            model(**x).loss.backward()
            model.zero_grad(set_to_none=True)
        out["seconds"] = timed(fwdbwd, a.iters)
    elif a.mode == "decode":
        model.eval()
        with torch.no_grad():
            gen = timed(lambda: model.generate(**x, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                                               do_sample=False), a.iters)
            pre = timed(lambda: model(**x, use_cache=True), a.iters)
        out.update(seconds=gen, prefill_seconds=pre, tokens_per_second=(NEW_TOKENS - 1) / (gen - pre))
    else:
        if a.mode == "freeze-vision":
            for n, p in model.named_parameters():
                if n.startswith(("vision_tower.", "multi_modal_projector.")):
                    p.requires_grad_(False)
        if a.mode == "lora":
            import peft
            model = peft.get_peft_model(model, peft.LoraConfig(**LORA))
            out["peft"] = peft.__version__
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        out["trainable"] = sum(p.numel() for p in params)
        opt = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)

        def step():
            model(**x).loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
        out["seconds"] = timed(step, a.iters)
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
