"""Writes testdata/lora-interop/peft-adapter/: a text-encoder LoRA saved by peft's own PeftModel.save_pretrained
(adapter_model.safetensors + adapter_config.json, whose lora_alpha and alpha_pattern live only in the JSON file),
as the TexForce paper's code and most peft training scripts leave it, with peft's output on tiny-sd1's text encoder.

  third_party/venv/bin/python tools/interop/make_peft_adapter_fixture.py
"""
import json
import pathlib

import peft
import torch
import transformers
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import CLIPTextModel

root = pathlib.Path(__file__).resolve().parents[2]
out = root / "testdata" / "lora-interop" / "peft-adapter"
torch.manual_seed(3)
text = CLIPTextModel.from_pretrained(root / "testdata" / "tiny-sd1" / "text_encoder").eval()
config = LoraConfig(r=2, lora_alpha=6, target_modules=["q_proj", "v_proj", "fc1"], init_lora_weights="gaussian",
                    alpha_pattern={"layers.1.self_attn.v_proj": 1})
model = get_peft_model(text, config)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.copy_(torch.randn_like(p) * 0.5)
model.save_pretrained(out)
golden = load_file(str(root / "testdata" / "tiny-sd1" / "golden" / "golden.safetensors"))
ids = golden["tokens.input_ids"][:1].long()
with torch.no_grad():
    hidden = model(input_ids=ids).last_hidden_state
save_file({"last_hidden_state": hidden.contiguous(), "input_ids": ids.to(torch.int32)}, str(out / "golden.safetensors"))
(out / "golden.json").write_text(json.dumps({"peft": peft.__version__, "transformers": transformers.__version__,
                                             "torch": torch.__version__, "prompt": "a photo of a cat (tiny-sd1 ids)"},
                                            indent=1) + "\n")
print(sorted(p.name for p in out.iterdir()), json.loads((out / "adapter_config.json").read_text())["lora_alpha"])
