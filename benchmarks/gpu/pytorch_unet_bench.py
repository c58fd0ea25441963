#!/usr/bin/env python3
"""Times diffusers' UNet2DConditionModel (PyTorch eager, SDPA attention) on the shapes of `texforce bench unet`.

The model is built from the SD 1.5 (or 2.1) U-Net config in testdata/configs with random weights: nothing is
downloaded. diffusers itself is not installed on the GPU machine; put its source on PYTHONPATH (see
docs/gpu-runbook.md), e.g. PYTHONPATH=/tmp/diffusers/src python3 benchmarks/gpu/pytorch_unet_bench.py.
Prints one JSON line per dtype with forward iterations per second (the median of --iterations timed runs).
"""
import argparse
import json
import pathlib
import statistics

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="sd15", help="sd15 or sd21 (testdata/configs/<name>/unet/config.json)")
    p.add_argument("--latent", type=int, default=64, help="latent height and width (64 = 512x512 images)")
    p.add_argument("--batch", type=int, default=2, help="batch size (2 = one CFG pair)")
    p.add_argument("--dtype", default="fp16,bf16,fp32", help="comma-separated: fp16, bf16, fp32")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iterations", type=int, default=50)
    args = p.parse_args()

    from diffusers import UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor2_0

    config = json.loads((ROOT / "testdata/configs" / args.config / "unet/config.json").read_text())
    torch.manual_seed(0)
    for name in args.dtype.split(","):
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[name]
        unet = UNet2DConditionModel.from_config(config).to("cuda", dtype).eval()
        unet.set_attn_processor(AttnProcessor2_0())  # torch.nn.functional.scaled_dot_product_attention
        sample = torch.randn(args.batch, config["in_channels"], args.latent, args.latent, device="cuda", dtype=dtype)
        context = torch.randn(args.batch, 77, config["cross_attention_dim"], device="cuda", dtype=dtype)
        t = torch.full((args.batch,), 500, device="cuda")
        times = []
        with torch.inference_mode():
            for i in range(args.warmup + args.iterations):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                unet(sample, t, encoder_hidden_states=context)
                end.record()
                torch.cuda.synchronize()
                if i >= args.warmup:
                    times.append(start.elapsed_time(end) / 1000)
        median = statistics.median(times)
        print(json.dumps({"bench": "diffusers-unet", "gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
                          "config": args.config, "dtype": name, "attention": "sdpa", "latent": args.latent,
                          "batch": args.batch, "forward_s": round(median, 5), "forward_it_per_s": round(1 / median, 2),
                          "peak_gpu_mb": torch.cuda.max_memory_allocated() >> 20}), flush=True)
        del unet, sample, context
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


if __name__ == "__main__":
    main()
