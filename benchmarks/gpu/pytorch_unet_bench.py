#!/usr/bin/env python3
"""Times diffusers' UNet2DConditionModel (PyTorch eager, SDPA attention) on the shapes of `texforce bench unet`.

The model is built from the SD 1.5 (or 2.1) U-Net config in testdata/configs with random weights: nothing is
downloaded. diffusers itself is not installed on the GPU machine; put its source on PYTHONPATH (see
docs/gpu-runbook.md), e.g. PYTHONPATH=/tmp/diffusers/src python3 benchmarks/gpu/pytorch_unet_bench.py.
Prints one JSON line per dtype with forward iterations per second (the median of --iterations timed runs).
`--device cpu --config testdata/tiny-sd1 --latent 16 --dtype fp32` runs it anywhere in seconds (a smoke test of
the script, not a benchmark).
"""
import argparse
import json
import pathlib
import statistics
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="sd15",
                   help="sd15 or sd21 (testdata/configs/<name>/unet/config.json), or a pipeline folder, unet folder "
                        "or config.json path")
    p.add_argument("--latent", type=int, default=64, help="latent height and width (64 = 512x512 images)")
    p.add_argument("--batch", type=int, default=2, help="batch size (2 = one CFG pair)")
    p.add_argument("--dtype", default="fp16,bf16,fp32", help="comma-separated: fp16, bf16, fp32")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    args = p.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"

    from diffusers import UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor2_0

    config = json.loads(config_path(args.config).read_text())
    torch.manual_seed(0)
    for name in args.dtype.split(","):
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[name]
        unet = UNet2DConditionModel.from_config(config).to(device, dtype).eval()
        unet.set_attn_processor(AttnProcessor2_0())  # torch.nn.functional.scaled_dot_product_attention
        sample = torch.randn(args.batch, config["in_channels"], args.latent, args.latent, device=device, dtype=dtype)
        context = torch.randn(args.batch, 77, config["cross_attention_dim"], device=device, dtype=dtype)
        t = torch.full((args.batch,), 500, device=device)
        times = []
        with torch.inference_mode():
            for i in range(args.warmup + args.iterations):
                elapsed = timed_forward(unet, sample, t, context, cuda)
                if i >= args.warmup:
                    times.append(elapsed)
        median = statistics.median(times)
        print(json.dumps({"bench": "diffusers-unet", "gpu": torch.cuda.get_device_name(device) if cuda else "cpu",
                          "torch": torch.__version__,
                          "config": args.config, "dtype": name, "attention": "sdpa", "latent": args.latent,
                          "batch": args.batch, "forward_s": round(median, 5), "forward_it_per_s": round(1 / median, 2),
                          "peak_gpu_mb": torch.cuda.max_memory_allocated(device) >> 20 if cuda else None}), flush=True)
        del unet, sample, context
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)


def config_path(name):
    """A name under testdata/configs, or a pipeline folder / unet folder / config.json."""
    named = ROOT / "testdata/configs" / name / "unet/config.json"
    if named.is_file():
        return named
    path = pathlib.Path(name)
    for candidate in (path, path / "config.json", path / "unet" / "config.json"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"--config {name}: neither testdata/configs/{name} nor a U-Net config.json")


def timed_forward(unet, sample, t, context, cuda):
    """Seconds for one forward pass: CUDA events on a GPU (kernels run asynchronously), wall clock on the CPU."""
    if not cuda:
        start = time.perf_counter()
        unet(sample, t, encoder_hidden_states=context)
        return time.perf_counter() - start
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    unet(sample, t, encoder_hidden_states=context)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1000


if __name__ == "__main__":
    main()
