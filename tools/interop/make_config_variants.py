"""Writes testdata/config-variants/: tiny models whose configs use the fields SD 1.5's do not (SD 2.x's linear
projections, per-block head counts and gelu text encoder; per-block lists that differ between blocks, so that an
index read in the wrong order shows; scale-shift resnets, cross-attention-only blocks, other kernels, activations,
paddings and embeddings), with the outputs of diffusers / transformers on them, and DDIM steps of schedulers that
SD 1.5's config does not exercise (v-prediction, trailing spacing, zero-SNR rescaling, cosine betas, clipping).

Run with a Python that has torch, transformers and diffusers (tools/interop/check_diffusers_lora.sh sets one up in
third_party/venv):  third_party/venv/bin/python tools/interop/make_config_variants.py
"""
import json
import pathlib

import torch
import diffusers
import transformers
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel

root = pathlib.Path(__file__).resolve().parents[2]
out = root / "testdata" / "config-variants"
out.mkdir(exist_ok=True)
torch.manual_seed(0)
golden = {}
notes = {}


def perturb(model, scale=0.1):
    """Random offsets on every parameter, so that norms' unit weights and zero biases are not special."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * scale)
    return model.eval()


UNETS = {
    # SD 2.x: linear projections, heads of a fixed width (attention_head_dim lists head counts), upcast attention.
    "unet-sd2": dict(
        sample_size=8, block_out_channels=(16, 32, 32), layers_per_block=1, norm_num_groups=8,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=24, attention_head_dim=(2, 4, 4), use_linear_projection=True, upcast_attention=True),
    # Per-block lists that differ between blocks, and the less common options.
    "unet-options": dict(
        sample_size=8, block_out_channels=(16, 24), layers_per_block=(1, 2), norm_num_groups=8, norm_eps=1e-6,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=(24, 24), attention_head_dim=(2, 4), transformer_layers_per_block=(2, 1),
        only_cross_attention=(True, False), resnet_time_scale_shift="scale_shift", conv_in_kernel=5,
        conv_out_kernel=1, flip_sin_to_cos=False, freq_shift=1, center_input_sample=True,
        mid_block_scale_factor=1.414, act_fn="mish", downsample_padding=0),
}

for name, cfg in UNETS.items():
    unet = perturb(UNet2DConditionModel(**cfg))
    unet.save_pretrained(out / name, safe_serialization=True)
    sample = torch.randn(2, 4, 8, 8)
    timestep = torch.tensor([999.0, 11.0])
    context = torch.randn(2, 7, 24)
    with torch.no_grad():
        result = unet(sample, timestep, encoder_hidden_states=context).sample
    golden.update({f"{name}.in.sample": sample, f"{name}.in.timestep": timestep,
                   f"{name}.in.encoder_hidden_states": context, f"{name}.out.sample": result})
    notes[name] = {k: v for k, v in cfg.items()}

vae_cfg = dict(block_out_channels=(8, 16, 16), layers_per_block=2, norm_num_groups=4, latent_channels=3,
               down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
               scaling_factor=0.13, use_quant_conv=False, use_post_quant_conv=False, mid_block_add_attention=False)
vae = perturb(AutoencoderKL(**vae_cfg))
vae.save_pretrained(out / "vae-options", safe_serialization=True)
latents = torch.randn(1, 3, 5, 4)
with torch.no_grad():
    image = vae.decode(latents).sample
golden.update({"vae-options.in.latents": latents, "vae-options.out.image": image})
notes["vae-options"] = vae_cfg

text_cfg = dict(vocab_size=1000, hidden_size=48, intermediate_size=96, num_attention_heads=3, num_hidden_layers=3,
                hidden_act="gelu", max_position_embeddings=77, layer_norm_eps=1e-5, projection_dim=48,
                bos_token_id=998, eos_token_id=999, pad_token_id=999)
text = perturb(CLIPTextModel(CLIPTextConfig(**text_cfg)), 0.05)
text.save_pretrained(out / "text-gelu", safe_serialization=True)  # transformers 5: keys without text_model.
ids = torch.randint(0, 1000, (2, 77))
with torch.no_grad():
    res = text(ids, output_hidden_states=True)
    body = getattr(text, "text_model", text)  # transformers 5 dropped the text_model level
    penultimate = body.final_layer_norm(res.hidden_states[-2])
golden.update({"text-gelu.in.input_ids": ids.to(torch.int32), "text-gelu.out.last_hidden_state": res.last_hidden_state,
               "text-gelu.out.penultimate_normed": penultimate})
notes["text-gelu"] = text_cfg

SCHEDULERS = {
    "sd21": dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                 set_alpha_to_one=False, steps_offset=1, prediction_type="v_prediction"),
    "zero-snr": dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                     set_alpha_to_one=False, prediction_type="v_prediction", timestep_spacing="trailing",
                     rescale_betas_zero_snr=True),
    "cosine-sample": dict(beta_schedule="squaredcos_cap_v2", clip_sample=True, clip_sample_range=1.5,
                          prediction_type="sample", timestep_spacing="linspace"),
}
sample = torch.randn(2, 4, 3, 3)
model_output = torch.randn(2, 4, 3, 3)
noise = torch.randn(2, 4, 3, 3)
for name, cfg in SCHEDULERS.items():
    s = DDIMScheduler(**cfg)
    (out / f"scheduler-{name}.json").write_text(json.dumps(dict(s.config), indent=1) + "\n")
    s.set_timesteps(7)
    t = int(s.timesteps[2])
    step = s.step(model_output, t, sample, eta=1.0, variance_noise=noise)
    golden.update({f"scheduler-{name}.timesteps": s.timesteps.to(torch.int32),
                   f"scheduler-{name}.out.prev_sample": step.prev_sample,
                   f"scheduler-{name}.out.pred_original_sample": step.pred_original_sample})
    notes[f"scheduler-{name}"] = cfg
golden.update({"scheduler.in.sample": sample, "scheduler.in.model_output": model_output,
               "scheduler.in.variance_noise": noise})

save_file({k: v.contiguous() for k, v in golden.items()}, str(out / "golden.safetensors"))
(out / "golden.json").write_text(json.dumps({
    "torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__,
    "float32, CPU; every parameter offset by N(0, 0.1^2) (text encoder 0.05^2) from its initialisation": True,
    "unet": "sample [2, 4, 8, 8], timesteps [999, 11], encoder_hidden_states [2, 7, 24]",
    "vae": "decode(latents) of latents [1, 3, 5, 4] (no scaling: the decoder alone)",
    "text": "input_ids [2, 77] random below the vocabulary size; penultimate_normed = final_layer_norm(hidden_states[-2])",
    "scheduler": "set_timesteps(7); step(model_output, timesteps[2], sample, eta=1.0, variance_noise)",
    "configs": notes,
}, indent=1, default=list) + "\n")
print(sorted((k, tuple(v.shape)) for k, v in golden.items()))
