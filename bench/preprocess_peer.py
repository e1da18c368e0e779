"""Python peer of bench/preprocess.ts: Pillow + transformers' PaliGemmaProcessor on the same JPEG files.

Times what a Python fine-tuning loop does per batch: `load_image(path)` (open, decode, EXIF transpose, RGB) for
every image, then `processor(images=..., text=prefixes, suffix=suffixes, padding="longest")`. One warm-up batch,
then `--iters` timed batches; prints one JSON line {"size", "batch", "seconds": [...], "cpu_seconds": [...],
"mode", "versions"} (cpu_seconds: process CPU time, all threads).

    python bench/preprocess_peer.py --tokenizer test/fixtures/tokenizer --size 224 --batch 64 --iters 3 IMAGE...

Needs transformers (4.47 is the project's reference) and Pillow; torch when present (labels need
return_tensors="pt"; without torch the suffixes are left out and "mode" says so).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True, help="folder with tokenizer.json (+ tokenizer_config.json)")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("images", nargs="+")
    args = ap.parse_args()

    import PIL
    import transformers
    from transformers import PaliGemmaProcessor
    from transformers.image_utils import load_image
    try:
        import torch  # noqa: F401
        mode, tensors = "pt+labels", "pt"
    except ImportError:
        mode, tensors = "np, no suffix (torch missing)", "np"

    tmp = tempfile.mkdtemp()
    try:
        for f in ("tokenizer.json", "tokenizer_config.json"):
            if os.path.exists(os.path.join(args.tokenizer, f)):
                shutil.copy(os.path.join(args.tokenizer, f), tmp)
        with open(os.path.join(tmp, "preprocessor_config.json"), "w") as f:
            json.dump({"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5] * 3,
                       "image_std": [0.5] * 3, "image_processor_type": "SiglipImageProcessor",
                       "image_seq_length": (args.size // 14) ** 2, "processor_class": "PaliGemmaProcessor",
                       "resample": 3, "rescale_factor": 1 / 255, "size": {"height": args.size, "width": args.size}}, f)
        processor = PaliGemmaProcessor.from_pretrained(tmp)
    finally:
        shutil.rmtree(tmp)
    transformers.logging.set_verbosity_error()  # the "no <image> in text" warning on every call

    paths = [args.images[i % len(args.images)] for i in range(args.batch)]
    prefixes = ["caption en"] * args.batch
    suffixes = ["a photo of shapes and text"] * args.batch

    def one_batch():
        images = [load_image(p) for p in paths]
        kwargs = dict(images=images, text=prefixes, padding="longest", return_tensors=tensors)
        if tensors == "pt":
            kwargs["suffix"] = suffixes
        out = processor(**kwargs)
        assert tuple(out["pixel_values"].shape) == (args.batch, 3, args.size, args.size)

    one_batch()
    seconds, cpu_seconds = [], []
    for _ in range(args.iters):
        t0, c0 = time.perf_counter(), time.process_time()
        one_batch()
        seconds.append(time.perf_counter() - t0)
        cpu_seconds.append(time.process_time() - c0)  # all threads of this process
    print(json.dumps({"size": args.size, "batch": args.batch, "seconds": seconds, "cpu_seconds": cpu_seconds, "mode": mode,
                      "versions": {"python": sys.version.split()[0], "transformers": transformers.__version__,
                                   "pillow": PIL.__version__}}))


if __name__ == "__main__":
    main()
