#!/usr/bin/env python3
"""Writes testdata/lora-interop/: LoRA files as diffusers/peft write them, with diffusers' outputs as goldens.

- diffusers_peft.safetensors: `StableDiffusionPipeline.save_lora_weights` of peft adapters on the tiny-sd1 text
  encoder and U-Net, with the adapter metadata. Under transformers 5 the text-encoder keys lack `text_model.`
  (`text_encoder.encoder.layers.0.self_attn.q_proj.lora_A.weight`). The configs use rank_pattern,
  alpha_pattern and (U-Net) use_rslora, so every scale rule of the metadata matters.
- diffusers_kohya.safetensors: the same weights through `convert_state_dict_to_kohya` (`lora_te1_` / `lora_unet_`
  names, alpha = rank as that function writes it).
- golden.safetensors: diffusers' outputs with each file at weight 1, float32 on CPU:
  `<file>.text_encoder` = last_hidden_state of "a photo of a cat", first 8 token positions [1, 8, 32];
  `<file>.unet` = U-Net output for row 0 of tiny-sd1's golden `unet.in.*` inputs [1, 4, 16, 16].

Run with tools/interop/check_diffusers_lora.sh --fixtures (same environment as the check).
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_diffusers_lora import REPO, Diffusers, flat_text_encoder, load_pipeline  # noqa: E402

PROMPT = "a photo of a cat"
TOKENS = 8


def main():
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_kohya
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    model = REPO / "testdata" / "tiny-sd1"
    out = REPO / "testdata" / "lora-interop"
    out.mkdir(exist_ok=True)
    golden_in = load_file(str(model / "golden" / "golden.safetensors"))
    unet_in = {k: golden_in[f"unet.in.{k}"][:1] for k in ("sample", "timestep", "encoder_hidden_states")}
    unet_in["timestep"] = unet_in["timestep"].long()

    pipe = load_pipeline(model)
    pipe.text_encoder.add_adapter(LoraConfig(r=2, lora_alpha=4, init_lora_weights="gaussian",
                                             target_modules=["q_proj", "out_proj", "fc2"], rank_pattern={"fc2": 1},
                                             alpha_pattern={"layers.1.self_attn.q_proj": 1}))
    pipe.unet.add_adapter(LoraConfig(r=2, lora_alpha=3, init_lora_weights="gaussian", use_rslora=True,
                                     target_modules=["attn2.to_k", "proj_in"], alpha_pattern={"proj_in": 1}))
    g = torch.Generator().manual_seed(7)
    for module, std in ((pipe.text_encoder, 0.3), (pipe.unet, 0.1)):
        for name, p in module.named_parameters():
            if "lora_B" in name:
                p.data = torch.randn(p.shape, generator=g) * std
    te_sd = get_peft_model_state_dict(pipe.text_encoder)
    unet_sd = get_peft_model_state_dict(pipe.unet)
    StableDiffusionPipeline.save_lora_weights(
        out, weight_name="diffusers_peft.safetensors", unet_lora_layers=unet_sd, text_encoder_lora_layers=te_sd,
        unet_lora_adapter_metadata=pipe.unet.peft_config["default"].to_dict(),
        text_encoder_lora_adapter_metadata=pipe.text_encoder.peft_config["default"].to_dict())
    d = Diffusers(pipe, [PROMPT], unet_in)
    golden = {"diffusers_peft.text_encoder": d.embed()[:, :TOKENS].contiguous(),
              "diffusers_peft.unet": d.unet().contiguous()}

    canonical = {("text_model." + k if flat_text_encoder(pipe.text_encoder) else k): v for k, v in te_sd.items()}
    kohya = convert_state_dict_to_kohya({**{f"text_encoder.{k}": v for k, v in canonical.items()},
                                         **{f"unet.{k}": v for k, v in unet_sd.items()}})
    save_file({k: v.contiguous() for k, v in kohya.items()}, str(out / "diffusers_kohya.safetensors"))
    # diffusers reads kohya alphas (= rank here) and no rsLoRA: the reference is diffusers loading the file.
    # (out_proj is adapted because diffusers guesses the layout of kohya text-encoder keys from a to_out_lora key:
    # without one it leaves q_proj's tensors unmatched and drops them.)
    from check_diffusers_lora import Report, load_lora
    pipe = load_pipeline(model)
    report = Report(0)
    load_lora(report, pipe, out / "diffusers_kohya.safetensors", "kohya")
    if report.failures:
        raise SystemExit(f"diffusers did not load the kohya file cleanly: {report.failures}")
    d = Diffusers(pipe, [PROMPT], unet_in)
    golden["diffusers_kohya.text_encoder"] = d.embed()[:, :TOKENS].contiguous()
    golden["diffusers_kohya.unet"] = d.unet().contiguous()

    import diffusers
    import peft
    import transformers
    save_file(golden, str(out / "golden.safetensors"), metadata={
        "prompt": PROMPT, "unet_inputs": "row 0 of tiny-sd1 golden unet.in.*",
        "versions": json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                                "peft": peft.__version__, "diffusers": diffusers.__version__})})
    for f in sorted(out.iterdir()):
        print(f"{f.relative_to(REPO)}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
