"""Writes testdata/single-file/: original (LDM / A1111) single-file checkpoints made by diffusers' own
scripts/convert_diffusers_to_original_stable_diffusion.py from tiny diffusers pipelines laid out as SD 1.x and SD 2.x
(four blocks of two layers, as that script's tables assume, but a few channels wide), the diffusers folders they came
from (the reference for the conversion back), and the full-size SD 1.5 / SD 2.1 key layouts (names and shapes only)
that the same script produces from the real configs.

Needs torch, transformers and diffusers' source with its scripts/ folder:
  DIFFUSERS=third_party/diffusers PYTHONPATH=third_party/diffusers/src \
      third_party/venv/bin/python tools/interop/make_single_file_fixtures.py
"""
import importlib.util
import json
import os
import pathlib
import shutil

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel

root = pathlib.Path(__file__).resolve().parents[2]
diffusers_root = pathlib.Path(os.environ.get("DIFFUSERS", root / "third_party" / "diffusers"))
spec = importlib.util.spec_from_file_location(
    "to_original", diffusers_root / "scripts" / "convert_diffusers_to_original_stable_diffusion.py")
to_original = importlib.util.module_from_spec(spec)
spec.loader.exec_module(to_original)

out = root / "testdata" / "single-file"
shutil.rmtree(out, ignore_errors=True)
out.mkdir()
torch.manual_seed(0)


def perturb(model, scale=0.1):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * scale)
    return model.eval()


def text_encoder_dict(model):
    """The state dict under transformers 4's names (text_model. level), as real SD folders hold it."""
    sd = model.state_dict()
    return {(k if k.startswith("text_model.") else "text_model." + k): v for k, v in sd.items()}


def tiny_pipeline(name, sd2):
    folder = out / name
    unet = perturb(UNet2DConditionModel(
        sample_size=8, block_out_channels=(8, 16, 16, 16), layers_per_block=2, norm_num_groups=4,
        cross_attention_dim=32, attention_head_dim=(2, 4, 4, 4) if sd2 else 2, use_linear_projection=sd2,
        upcast_attention=sd2))
    vae = perturb(AutoencoderKL(
        block_out_channels=(8, 8, 16, 16), layers_per_block=2, norm_num_groups=4, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4))
    text = perturb(CLIPTextModel(CLIPTextConfig(
        vocab_size=1000, hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=3,
        hidden_act="gelu" if sd2 else "quick_gelu", max_position_embeddings=77)), 0.05)
    unet.save_pretrained(folder / "unet")
    vae.save_pretrained(folder / "vae")
    (folder / "text_encoder").mkdir()
    text.config.to_json_file(folder / "text_encoder" / "config.json")
    text_sd = {k: v.contiguous() for k, v in text_encoder_dict(text).items() if not k.endswith("position_ids")}
    save_file(text_sd, str(folder / "text_encoder" / "model.safetensors"))

    # The script's own steps (its __main__), in half precision as --half writes.
    unet_ld = {"model.diffusion_model." + k: v for k, v in to_original.convert_unet_state_dict(unet.state_dict()).items()}
    vae_ld = {"first_stage_model." + k: v for k, v in to_original.convert_vae_state_dict(vae.state_dict()).items()}
    if sd2:
        text_ld = {"transformer." + k: v for k, v in text_sd.items()}
        text_ld = to_original.convert_text_enc_state_dict_v20(text_ld)
        text_ld = {"cond_stage_model.model." + k: v for k, v in text_ld.items()}
        # A real SD 2.x file holds all 24 OpenCLIP layers; diffusers' text encoder keeps 23. One more layer here,
        # which the conversion must leave out, plus the projection and logit scale it must ignore.
        extra = f"cond_stage_model.model.transformer.resblocks.{text.config.num_hidden_layers}."
        for k, v in list(text_ld.items()):
            if ".resblocks.0." in k:
                text_ld[extra + k.split(".resblocks.0.", 1)[1]] = torch.randn_like(v)
        text_ld["cond_stage_model.model.text_projection"] = torch.randn(32, 32)
        text_ld["cond_stage_model.model.logit_scale"] = torch.tensor(4.6)
    else:
        text_ld = {"cond_stage_model.transformer." + k: v for k, v in text_sd.items()}
    state = {**unet_ld, **vae_ld, **text_ld}
    # Buffers a CompVis checkpoint carries besides the three models.
    state["alphas_cumprod"] = torch.linspace(1, 0, 1000)
    state["model_ema.decay"] = torch.tensor(0.9999)
    state = {k: v.half().contiguous() for k, v in state.items()}
    save_file(state, str(out / f"{name}.safetensors"))

    # The reference in the same precision, so that the conversion back is exact.
    for sub, stem in (("unet", "diffusion_pytorch_model"), ("vae", "diffusion_pytorch_model"), ("text_encoder", "model")):
        path = folder / sub / f"{stem}.safetensors"
        save_file({k: v.half().contiguous() for k, v in load_file(str(path)).items()}, str(path))
    return folder


tiny_pipeline("tiny-sd1", sd2=False)
tiny_pipeline("tiny-sd2", sd2=True)

# Full-size layouts: names and shapes only (meta tensors), through the same script.
configs = root / "testdata" / "configs"
layouts = {}
for name in ("sd15", "sd21"):
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(configs / name / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(configs / name / "vae"))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(configs / name / "text_encoder"))
    text_sd = {k: v for k, v in text_encoder_dict(text).items() if not k.endswith("position_ids")}
    if name == "sd21":
        text_ld = {"cond_stage_model.model." + k: v for k, v in
                   to_original.convert_text_enc_state_dict_v20({"transformer." + k: v for k, v in text_sd.items()}).items()}
    else:
        text_ld = {"cond_stage_model.transformer." + k: v for k, v in text_sd.items()}
    ldm = {**{"model.diffusion_model." + k: v for k, v in to_original.convert_unet_state_dict(unet.state_dict()).items()},
           **{"first_stage_model." + k: v for k, v in to_original.convert_vae_state_dict(vae.state_dict()).items()},
           **text_ld}
    layouts[name] = {
        "ldm": {k: list(v.shape) for k, v in ldm.items()},
        "diffusers": {**{"unet/" + k: list(v.shape) for k, v in unet.state_dict().items()},
                      **{"vae/" + k: list(v.shape) for k, v in vae.state_dict().items()},
                      **{"text_encoder/" + k: list(v.shape) for k, v in text_sd.items()}},
    }
(out / "layouts.json").write_text(json.dumps(layouts, indent=0, sort_keys=True) + "\n")
print({n: (len(k["ldm"]), len(k["diffusers"])) for n, k in layouts.items()}, sorted(p.name for p in out.iterdir()))
