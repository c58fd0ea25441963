"""Writes testdata/bin-weights/: the text encoder, U-Net and VAE of testdata/single-file/tiny-sd1 saved by
transformers / diffusers with safe_serialization=False (PyTorch pickles, as older pipelines ship them): text encoder
as pytorch_model.bin (torch.save), U-Net sharded (diffusion_pytorch_model-0000N-of-0000M.bin + .bin.index.json), VAE as an fp16
variant (diffusion_pytorch_model.fp16.bin). Loading them must give the safetensors folder's tensors exactly.

  PYTHONPATH=third_party/diffusers/src third_party/venv/bin/python tools/interop/make_bin_fixture.py
"""
import pathlib
import shutil

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextModel

root = pathlib.Path(__file__).resolve().parents[2]
src = root / "testdata" / "single-file" / "tiny-sd1"
out = root / "testdata" / "bin-weights"
shutil.rmtree(out, ignore_errors=True)
# transformers 5 writes safetensors only: its pickle as transformers 4's save_pretrained(safe_serialization=False)
# left it, torch.save of the state dict under the text_model. names.
text = CLIPTextModel.from_pretrained(src / "text_encoder", torch_dtype=torch.float16)
(out / "text_encoder").mkdir(parents=True)
shutil.copy(src / "text_encoder" / "config.json", out / "text_encoder" / "config.json")
state = {(k if k.startswith("text_model.") else "text_model." + k): v for k, v in text.state_dict().items()}
torch.save(state, out / "text_encoder" / "pytorch_model.bin")
UNet2DConditionModel.from_pretrained(src / "unet", torch_dtype=torch.float16).save_pretrained(
    out / "unet", safe_serialization=False, max_shard_size="200KB")
AutoencoderKL.from_pretrained(src / "vae", torch_dtype=torch.float16).save_pretrained(
    out / "vae", safe_serialization=False, variant="fp16")
print(sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()))
