"""Writes testdata/odd-size/golden.safetensors: diffusers' U-Net and VAE decoder of testdata/tiny-sd1 on latents
whose height is not a multiple of the U-Net's overall downsampling (9 x 6 latents; tiny-sd1's two blocks halve once,
as SD 1.5's four blocks do three times to 520 x 520 pixels' 65 x 65 latents). diffusers then upsamples to each
skip connection's size (forward_upsample_size).

Run with a Python that has torch and diffusers (tools/interop/check_diffusers_lora.sh sets one up in
third_party/venv):  third_party/venv/bin/python tools/interop/make_odd_size_golden.py
"""
import json
import pathlib

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import save_file

root = pathlib.Path(__file__).resolve().parents[2]
model = root / "testdata" / "tiny-sd1"
out_dir = root / "testdata" / "odd-size"
out_dir.mkdir(exist_ok=True)

unet = UNet2DConditionModel.from_pretrained(model / "unet", torch_dtype=torch.float32).eval()
vae = AutoencoderKL.from_pretrained(model / "vae", torch_dtype=torch.float32).eval()

g = torch.Generator().manual_seed(2024)
sample = torch.randn(2, 4, 9, 6, generator=g)
timestep = torch.tensor([999.0, 11.0])
context = torch.randn(2, 77, unet.config.cross_attention_dim, generator=g)
latents = torch.randn(1, 4, 9, 6, generator=g)

with torch.no_grad():
    unet_out = unet(sample, timestep, encoder_hidden_states=context).sample
    image = vae.decode(latents / vae.config.scaling_factor).sample

tensors = {
    "unet.in.sample": sample,
    "unet.in.timestep": timestep,
    "unet.in.encoder_hidden_states": context,
    "unet.out.sample": unet_out,
    "vae.in.latents": latents,
    "vae.out.image": image,
}
save_file({k: v.contiguous() for k, v in tensors.items()}, str(out_dir / "golden.safetensors"))
import diffusers
(out_dir / "golden.json").write_text(json.dumps({
    "model": "testdata/tiny-sd1 (float32)",
    "torch": torch.__version__,
    "diffusers": diffusers.__version__,
    "unet": "sample [2, 4, 9, 6] (torch.randn, seed 2024), timesteps [999, 11], encoder_hidden_states [2, 77, 32]",
    "vae": "decode(latents / scaling_factor), latents [1, 4, 9, 6]; image in [-1, 1] before the pipeline's rescale",
}, indent=1) + "\n")
print({k: tuple(v.shape) for k, v in tensors.items()})
