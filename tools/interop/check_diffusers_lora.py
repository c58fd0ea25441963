#!/usr/bin/env python3
"""Checks that TexForce-J and diffusers/peft read each other's LoRA files the same way.

Both directions, on the tiny SD 1.x pipeline in testdata/tiny-sd1 (float32, CPU):

1. TexForce-J -> diffusers: `bin/texforce train --mode JOINT` writes a text-encoder and a U-Net LoRA (rank !=
   alpha, so the scale matters; targets that peft could over-match by leaf name). diffusers loads them with
   `load_lora_weights`, alone, blended with LoRAs of another origin through `set_adapters`, and fused with
   `fuse_lora`; its text-encoder and U-Net outputs are compared with `bin/texforce embed` / `bin/texforce unet`.
   Every adapter diffusers builds must carry exactly the file's tensors with scale alpha / r, and loading must
   not log unexpected or missing keys.
2. diffusers/peft -> TexForce-J: peft adapters (random non-zero B, an alpha_pattern/rank_pattern entry) are
   saved with `StableDiffusionPipeline.save_lora_weights` (with and without adapter metadata, in the peft and
   in the dreambooth-script key layouts) and as a kohya file (`convert_state_dict_to_kohya`); the TexForce-J
   CLI must reproduce diffusers' outputs for each file. The first is then re-written by LoraNetwork.save
   (tools/interop/ResaveLora.java) and must give diffusers the same outputs again.

Exits non-zero when any maximum absolute error exceeds --tol. Run through tools/interop/check_diffusers_lora.sh,
which builds the virtual environment. Needs torch, transformers, peft, safetensors and diffusers' source tree.
"""
import argparse
import copy
import json
import logging
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

REPO = Path(__file__).resolve().parents[2]


class Report:
    """Collects comparisons and problems; prints each as it comes."""

    def __init__(self, tol):
        self.tol = tol
        self.failures = []
        self.rows = []

    def compare(self, name, ours, theirs, base=None):
        err = (ours - theirs).abs().max().item()
        effect = (theirs - base).abs().max().item() if base is not None else float("nan")
        ok = err <= self.tol
        self.rows.append((name, err, effect, ok))
        print(f"  {'ok  ' if ok else 'FAIL'} {name:58s} max|err| {err:.3e}   LoRA effect {effect:.3e}")
        if not ok:
            self.failures.append(f"{name}: max abs error {err:.3e} > {self.tol:g}")

    def problem(self, msg):
        print(f"  FAIL {msg}")
        self.failures.append(msg)


class LogCapture(logging.Handler):
    """Records warnings from diffusers, transformers and peft (loggers and warnings.warn) during a block."""

    NAMES = ("diffusers", "transformers", "peft")

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __enter__(self):
        for n in self.NAMES:
            logging.getLogger(n).addHandler(self)
        self._warn = warnings.catch_warnings(record=True)
        self._caught = self._warn.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._warn.__exit__(*exc)
        self.messages += [str(w.message) for w in self._caught]
        for n in self.NAMES:
            logging.getLogger(n).removeHandler(self)
        return False


def key_problems(messages, adapter):
    """Warnings that say tensors of `adapter` found no layer or a layer got no tensor. transformers 5's load report
    also lists, as missing, the tensors of adapters loaded earlier: those lines are not about this file; its
    unexpected keys are (they carry no adapter name).
    ("No LoRA keys associated to <model>" only says that a file holds no tensors for one of the components;
    whether every tensor reached a layer is checked by check_adapter_matches_file.)"""
    bad = ("unexpected", "missing", "not found", "could not", "mismatch")
    problems = []
    for m in messages:
        if "LOAD REPORT" in m:
            problems += [line for line in m.splitlines() if "| UNEXPECTED" in line or "| MISMATCH" in line
                         or ("| MISSING" in line and f".{adapter}." in line)]
        elif any(b in m.lower() for b in bad) and "no lora keys associated" not in m.lower():
            problems.append(m)
    return problems


def flat_text_encoder(text_encoder):
    """transformers 5 dropped CLIPTextModel's `text_model.` level (its loader maps the old names)."""
    return not hasattr(text_encoder, "text_model")


def to_module_names(keys_or_dict, text_encoder):
    """LoRA key names as the installed transformers names the text-encoder modules."""
    if not flat_text_encoder(text_encoder):
        return keys_or_dict
    fix = lambda k: k.replace("text_encoder.text_model.", "text_encoder.").replace("text_model.", "", 1) \
        if "text_model." in k and not k.startswith("unet.") else k
    return {fix(k): v for k, v in keys_or_dict.items()}


class TexForce:
    """Runs bin/texforce and reads its safetensors outputs."""

    def __init__(self, exe, model, work):
        self.exe, self.model, self.work = exe, model, work
        self.count = 0

    def run(self, *args):
        r = subprocess.run([str(self.exe), *map(str, args)], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"bin/texforce {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr}")
        return r

    def _out(self):
        self.count += 1
        return self.work / f"out{self.count}.safetensors"

    def embed(self, prompts, loras=()):
        out = self._out()
        lora_args = [a for f, w in loras for a in ("--lora", f"{f}:{w}")]
        self.run("embed", "--model", self.model, "--out", out, *lora_args, *prompts)
        return load_file(out)["embeddings"]

    def resave(self, component, lora, out):
        """tools/interop/ResaveLora.java: our reader, then our writer (LoraNetwork.save)."""
        lib = REPO / "texforce-examples" / "target"
        java = (f'source "{REPO}/.ci/find-jdk.sh" >&2 && exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector '
                f'--enable-native-access=ALL-UNNAMED -cp "{lib}/texforce-examples.jar:{lib}/lib/*" '
                f'"{REPO}/tools/interop/ResaveLora.java" "$@"')
        r = subprocess.run(["bash", "-c", java, "resave", str(self.model), component, str(lora), str(out)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"ResaveLora {component} {lora} failed ({r.returncode}):\n{r.stderr}")
        return out

    def unet(self, inputs, loras=()):
        out = self._out()
        lora_args = [a for f, w in loras for a in ("--lora", f"{f}:{w}")]
        self.run("unet", "--model", self.model, "--in", inputs, "--out", out, *lora_args)
        return load_file(out)["sample"]


def lora_layers(module, adapter):
    """peft's LoRA layers of one adapter in `module`, by module path."""
    from peft.tuners.lora import LoraLayer
    return {n: m for n, m in module.named_modules() if isinstance(m, LoraLayer) and adapter in m.lora_A}


def check_adapter_matches_file(report, module, adapter, path, prefix):
    """The adapter diffusers built from `path` holds exactly the file's tensors, with scale alpha / r."""
    with safe_open(path, "pt") as f:
        meta = json.loads((f.metadata() or {}).get("lora_adapter_metadata", "{}"))
        tensors = {k[len(prefix) + 1:]: f.get_tensor(k) for k in f.keys() if k.startswith(prefix + ".")}
    if prefix == "text_encoder":
        tensors = to_module_names(tensors, module)
    rank = meta.get(f"{prefix}.r")
    alpha = meta.get(f"{prefix}.lora_alpha")
    from peft.utils.other import get_pattern_key

    def expected_scale(name):
        """peft's rule: per-layer rank_pattern / alpha_pattern entries override r / lora_alpha."""
        r = meta.get(f"{prefix}.rank_pattern", {}).get(get_pattern_key(meta.get(f"{prefix}.rank_pattern", {}), name), rank)
        a = meta.get(f"{prefix}.alpha_pattern", {}).get(get_pattern_key(meta.get(f"{prefix}.alpha_pattern", {}), name),
                                                        alpha)
        return a / (r ** 0.5 if meta.get(f"{prefix}.use_rslora") else r)

    expected = {k[: -len(".lora_A.weight")] for k in tensors if k.endswith(".lora_A.weight")}
    layers = lora_layers(module, adapter)
    if set(layers) != expected:
        report.problem(f"{path.name}: diffusers put '{adapter}' on {len(layers)} layers, the file has "
                       f"{len(expected)}; extra {sorted(set(layers) - expected)[:4]}, "
                       f"missing {sorted(expected - set(layers))[:4]}")
    worst = 0.0
    for name in expected & set(layers):
        layer = layers[name]
        worst = max(worst,
                    (layer.lora_A[adapter].weight - tensors[name + ".lora_A.weight"]).abs().max().item(),
                    (layer.lora_B[adapter].weight - tensors[name + ".lora_B.weight"]).abs().max().item())
        if rank is not None and abs(layer.scaling[adapter] - expected_scale(name)) > 1e-6:
            report.problem(f"{path.name}: {name} scale {layer.scaling[adapter]} != {expected_scale(name)}")
            break
    print(f"  {'ok  ' if worst == 0 else 'FAIL'} {path.name}: '{adapter}' on {len(layers)} {prefix} layers, "
          f"tensors equal to the file (max diff {worst:g}), scales as the metadata says (alpha {alpha}, r {rank})")
    if worst != 0:
        report.failures.append(f"{path.name}: loaded tensors differ from the file by {worst}")


def load_lora(report, pipe, path, adapter):
    """pipe.load_lora_weights(path), except that under transformers 5 the text-encoder keys are renamed to its
    flattened module names first: diffusers (at the commit checked) infers the rank of a file without adapter
    metadata from `text_model.`-style module names and fails with an IndexError otherwise."""
    with LogCapture() as log:
        if flat_text_encoder(pipe.text_encoder):
            state_dict, alphas, metadata = pipe.lora_state_dict(str(path), return_lora_metadata=True)
            state_dict = to_module_names(state_dict, pipe.text_encoder)
            alphas = to_module_names(alphas, pipe.text_encoder) if alphas else alphas
            pipe.load_lora_into_unet(state_dict, network_alphas=alphas, unet=pipe.unet, adapter_name=adapter,
                                     metadata=metadata, _pipeline=pipe)
            pipe.load_lora_into_text_encoder(state_dict, network_alphas=alphas, text_encoder=pipe.text_encoder,
                                             adapter_name=adapter, metadata=metadata, _pipeline=pipe)
        else:
            pipe.load_lora_weights(str(path), adapter_name=adapter)
    for m in key_problems(log.messages, adapter):
        report.problem(f"{path.name}: diffusers says: {m[:300]}")


def load_pipeline(model):
    from diffusers import StableDiffusionPipeline
    return StableDiffusionPipeline.from_pretrained(str(model), safety_checker=None, requires_safety_checker=False,
                                                   torch_dtype=torch.float32)


class Diffusers:
    """Text-encoder and U-Net outputs of a diffusers pipeline on fixed inputs."""

    def __init__(self, pipe, prompts, unet_in):
        self.pipe = pipe
        self.ids = pipe.tokenizer(prompts, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                                  truncation=True, return_tensors="pt").input_ids
        self.unet_in = unet_in

    @torch.no_grad()
    def embed(self):
        return self.pipe.text_encoder(self.ids)[0]

    @torch.no_grad()
    def unet(self):
        u = self.unet_in
        return self.pipe.unet(u["sample"], u["timestep"], encoder_hidden_states=u["encoder_hidden_states"]).sample


def train_texforce_loras(tf, out):
    """One tiny JOINT epoch with a large learning rate, so that lora_B is far from zero."""
    tf.run("train", "--model", tf.model, "--reward", "jpeg-compressibility", "--mode", "JOINT", "--epochs", 1,
           "--samples-per-epoch", 4, "--batch-size", 2, "--gradient-accumulation", 1, "--steps", 2,
           "--lr", 0.05, "--warmup-fraction", 0, "--clip-range", 10, "--max-grad-norm", 1000,
           "--lora-rank", 4, "--lora-alpha", 8, "--lora-targets", "q_proj,k_proj,v_proj,out_proj,fc1,fc2",
           "--unet-lora-rank", 2, "--unet-lora-alpha", 3,
           # attn2.to_k / attn2.to_v: cross-attention only, so a reader that targets by leaf name would also
           # adapt attn1.to_k / attn1.to_v
           "--unet-lora-targets", "attn2.to_k,attn2.to_v,to_q,to_out.0,proj_in,proj_out,ff.net.0.proj,ff.net.2",
           "--eval-images", 1, "--no-progress", "--out", out)
    return out / "lora.safetensors", out / "unet_lora.safetensors"


def texforce_to_diffusers(report, tf, model, prompts, unet_in_file, unet_in, work):
    print("\n[1] LoRA files written by TexForce-J, read by diffusers")
    te_lora, unet_lora = train_texforce_loras(tf, work / "run")
    other_te = model / "lora_text_encoder_2.safetensors"   # peft layout, written by Python
    other_unet = model / "lora_unet.safetensors"
    pipe = load_pipeline(model)
    d = Diffusers(pipe, prompts, unet_in)
    base_te, base_unet = d.embed(), d.unet()
    report.compare("base text encoder (no LoRA)", tf.embed(prompts), base_te)
    report.compare("base U-Net (no LoRA)", tf.unet(unet_in_file), base_unet)

    load_lora(report, pipe, te_lora, "tf_te")
    load_lora(report, pipe, unet_lora, "tf_unet")
    load_lora(report, pipe, other_te, "other_te")
    load_lora(report, pipe, other_unet, "other_unet")
    check_adapter_matches_file(report, pipe.text_encoder, "tf_te", te_lora, "text_encoder")
    check_adapter_matches_file(report, pipe.unet, "tf_unet", unet_lora, "unet")

    pipe.set_adapters(["tf_te", "tf_unet"], [1.0, 1.0])
    report.compare("text encoder, our LoRA x1.0", tf.embed(prompts, [(te_lora, 1.0)]), d.embed(), base_te)
    report.compare("U-Net, our LoRA x1.0", tf.unet(unet_in_file, [(unet_lora, 1.0)]), d.unet(), base_unet)
    pipe.set_adapters(["tf_te", "tf_unet"], [0.6, 0.6])
    report.compare("text encoder, our LoRA x0.6", tf.embed(prompts, [(te_lora, 0.6)]), d.embed(), base_te)
    report.compare("U-Net, our LoRA x0.6", tf.unet(unet_in_file, [(unet_lora, 0.6)]), d.unet(), base_unet)

    blend_te = [(te_lora, 0.7), (other_te, 0.3)]
    blend_unet = [(unet_lora, 0.5), (other_unet, 0.8)]
    ours_te, ours_unet = tf.embed(prompts, blend_te), tf.unet(unet_in_file, blend_unet)
    pipe.set_adapters(["tf_te", "other_te", "tf_unet", "other_unet"], [0.7, 0.3, 0.5, 0.8])
    report.compare("text encoder, 0.7 ours + 0.3 other (set_adapters)", ours_te, d.embed(), base_te)
    report.compare("U-Net, 0.5 ours + 0.8 other (set_adapters)", ours_unet, d.unet(), base_unet)

    with LogCapture():
        pipe.fuse_lora(components=["text_encoder", "unet"], lora_scale=1.0,
                       adapter_names=["tf_te", "other_te", "tf_unet", "other_unet"])
        pipe.unload_lora_weights()   # keeps the fused weights, drops the adapters
    report.compare("text encoder, same blend fused (fuse_lora)", ours_te, d.embed(), base_te)
    report.compare("U-Net, same blend fused (fuse_lora)", ours_unet, d.unet(), base_unet)

    # The README's use case: our text-encoder LoRA fused with a U-Net LoRA of another method, end to end
    # through the text encoder into the U-Net (the U-Net reads the embeddings the text encoder made).
    pipe = load_pipeline(model)
    d = Diffusers(pipe, prompts[:2], unet_in)
    load_lora(report, pipe, te_lora, "tf_te")
    load_lora(report, pipe, other_unet, "other_unet")
    pipe.set_adapters(["tf_te", "other_unet"], [1.0, 0.8])
    pipe.fuse_lora(components=["text_encoder", "unet"], adapter_names=["tf_te", "other_unet"])
    ctx = d.embed()
    chained = dict(unet_in, encoder_hidden_states=ctx)
    chained_file = work / "unet_in_chained.safetensors"
    save_file({**chained, "encoder_hidden_states": tf.embed(prompts[:2], [(te_lora, 1.0)])}, str(chained_file))
    d.unet_in = chained
    report.compare("our text LoRA -> other U-Net LoRA x0.8, fused", tf.unet(chained_file, [(other_unet, 0.8)]),
                   d.unet())


def randomize_lora_b(module, seed, std):
    g = torch.Generator().manual_seed(seed)
    from peft.tuners.lora import LoraLayer
    for m in module.modules():
        if isinstance(m, LoraLayer):
            for b in m.lora_B.values():
                b.weight.data = torch.randn(b.weight.shape, generator=g) * std


def diffusers_to_texforce(report, tf, model, prompts, unet_in_file, unet_in, work):
    print("\n[2] LoRA files written by diffusers/peft, read by TexForce-J")
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers, convert_state_dict_to_kohya
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    pipe = load_pipeline(model)
    d = Diffusers(pipe, prompts, unet_in)
    base_te, base_unet = d.embed(), d.unet()
    te_cfg = LoraConfig(r=4, lora_alpha=8, init_lora_weights="gaussian",
                        target_modules=["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"],
                        rank_pattern={"fc1": 2}, alpha_pattern={"fc2": 3})
    unet_cfg = LoraConfig(r=2, lora_alpha=3, init_lora_weights="gaussian",
                          target_modules=["to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out",
                                          "ff.net.0.proj", "ff.net.2"],
                          alpha_pattern={"attn2.to_k": 1}, use_rslora=True)
    pipe.text_encoder.add_adapter(te_cfg)
    pipe.unet.add_adapter(unet_cfg)
    # Effects of order 1 on the outputs; much larger ones make float32 itself disagree with float64 by 1e-3.
    randomize_lora_b(pipe.text_encoder, 1, 0.2)
    randomize_lora_b(pipe.unet, 2, 0.05)
    want_te, want_unet = d.embed(), d.unet()
    # What the installed transformers names the modules (flat under transformers 5), and the `text_model.` names
    # that LoRA files have always used.
    te_sd_raw = get_peft_model_state_dict(pipe.text_encoder)
    te_sd = {("text_model." + k if flat_text_encoder(pipe.text_encoder) else k): v for k, v in te_sd_raw.items()}
    unet_sd = get_peft_model_state_dict(pipe.unet)
    te_meta = pipe.text_encoder.peft_config["default"].to_dict()
    unet_meta = pipe.unet.peft_config["default"].to_dict()

    files = work / "py"
    # peft keys with the adapter metadata (what diffusers' newer training scripts save)
    StableDiffusionPipeline.save_lora_weights(files / "meta", unet_lora_layers=unet_sd, text_encoder_lora_layers=te_sd_raw,
                                              unet_lora_adapter_metadata=unet_meta,
                                              text_encoder_lora_adapter_metadata=te_meta)
    with_meta = files / "meta" / "pytorch_lora_weights.safetensors"
    report.compare("text encoder, peft keys + metadata (alpha/rank patterns)", tf.embed(prompts, [(with_meta, 1.0)]),
                   want_te, base_te)
    report.compare("U-Net, peft keys + metadata (alpha pattern, rsLoRA)", tf.unet(unet_in_file, [(with_meta, 1.0)]),
                   want_unet, base_unet)

    # Without metadata nobody knows alpha: diffusers takes alpha = r (scale 1), so must we. The reference is
    # diffusers reading the file back.
    def reload_outputs(path):
        p = load_pipeline(model)
        load_lora(report, p, path, "x")
        with safe_open(path, "pt") as f:
            pairs = sum(1 for k in f.keys() if k.endswith(("lora_A.weight", "down.weight")))
        adapted = len(lora_layers(p.text_encoder, "x")) + len(lora_layers(p.unet, "x"))
        if adapted != pairs:
            report.problem(f"{path.parent.name}/{path.name}: diffusers adapted {adapted} layers, the file has {pairs}")
        dd = Diffusers(p, prompts, unet_in)
        return dd.embed(), dd.unet()

    StableDiffusionPipeline.save_lora_weights(files / "plain", unet_lora_layers=unet_sd, text_encoder_lora_layers=te_sd)
    plain = files / "plain" / "pytorch_lora_weights.safetensors"
    ref_te, ref_unet = reload_outputs(plain)
    report.compare("text encoder, peft keys, no metadata", tf.embed(prompts, [(plain, 1.0)]), ref_te, base_te)
    report.compare("U-Net, peft keys, no metadata", tf.unet(unet_in_file, [(plain, 1.0)]), ref_unet, base_unet)

    # The dreambooth/text_to_image scripts: convert_state_dict_to_diffusers (lora_linear_layer / lora.down keys).
    # Their U-Net LoRA adapts to_q/k/v/out.0 only, all renamed to lora.down/up; diffusers decides from the first
    # key whether to rename a U-Net state dict back, so a file that mixes lora.down and lora_A keys (what the
    # conversion makes of proj_in or ff adapters) loses some of its layers in diffusers.
    attention = {k: v for k, v in unet_sd.items() if any(f".{t}.lora_" in k for t in ("to_q", "to_k", "to_v", "to_out.0"))}
    StableDiffusionPipeline.save_lora_weights(files / "dreambooth",
                                              unet_lora_layers=convert_state_dict_to_diffusers(attention),
                                              text_encoder_lora_layers=convert_state_dict_to_diffusers(te_sd))
    db = files / "dreambooth" / "pytorch_lora_weights.safetensors"
    ref_te, ref_unet = reload_outputs(db)
    report.compare("text encoder, dreambooth-script keys", tf.embed(prompts, [(db, 1.0)]), ref_te, base_te)
    report.compare("U-Net, dreambooth-script keys", tf.unet(unet_in_file, [(db, 1.0)]), ref_unet, base_unet)

    # kohya / A1111, as diffusers exports it (lora_te1_ / lora_unet_ names, alpha = r)
    kohya_sd = convert_state_dict_to_kohya({**{f"text_encoder.{k}": v for k, v in te_sd.items()},
                                            **{f"unet.{k}": v for k, v in unet_sd.items()}})
    kohya = files / "kohya.safetensors"
    save_file({k: v.contiguous() for k, v in kohya_sd.items()}, str(kohya))
    ref_te, ref_unet = reload_outputs(kohya)
    report.compare("text encoder, kohya (convert_state_dict_to_kohya)", tf.embed(prompts, [(kohya, 1.0)]), ref_te,
                   base_te)
    report.compare("U-Net, kohya (convert_state_dict_to_kohya)", tf.unet(unet_in_file, [(kohya, 1.0)]), ref_unet,
                   base_unet)

    # Back again: the peft file with per-layer ranks/alphas and rsLoRA, read and re-written by us, read by diffusers.
    te_back = tf.resave("text_encoder", with_meta, files / "resaved_text_encoder.safetensors")
    unet_back = tf.resave("unet", with_meta, files / "resaved_unet.safetensors")
    p = load_pipeline(model)
    load_lora(report, p, te_back, "te")
    load_lora(report, p, unet_back, "unet")
    check_adapter_matches_file(report, p.text_encoder, "te", te_back, "text_encoder")
    check_adapter_matches_file(report, p.unet, "unet", unet_back, "unet")
    dd = Diffusers(p, prompts, unet_in)
    report.compare("text encoder, that file re-saved by TexForce-J", dd.embed(), want_te, base_te)
    report.compare("U-Net, that file re-saved by TexForce-J (rank/alpha patterns)", dd.unet(), want_unet, base_unet)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=REPO / "testdata" / "tiny-sd1")
    ap.add_argument("--texforce", type=Path, default=REPO / "bin" / "texforce")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--keep", type=Path, help="write the LoRA files here instead of a temporary folder")
    args = ap.parse_args()

    import diffusers
    import peft
    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
          f"diffusers {diffusers.__version__}, python {sys.version.split()[0]}")
    for name in LogCapture.NAMES:
        logging.getLogger(name).setLevel(logging.WARNING)
    torch.manual_seed(0)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        tf = TexForce(args.texforce, args.model, work)
        prompts = json.loads((args.model / "golden" / "golden.json").read_text())["prompts"][:4]
        golden = load_file(str(args.model / "golden" / "golden.safetensors"))
        unet_in = {k: golden[f"unet.in.{k}"] for k in ("sample", "timestep", "encoder_hidden_states")}
        unet_in_file = work / "unet_in.safetensors"
        save_file(unet_in, str(unet_in_file))
        unet_in = copy.deepcopy(unet_in)
        unet_in["timestep"] = unet_in["timestep"].long()
        report = Report(args.tol)
        texforce_to_diffusers(report, tf, args.model, prompts, unet_in_file, unet_in, work)
        diffusers_to_texforce(report, tf, args.model, prompts, unet_in_file, unet_in, work)

    worst = max(r[1] for r in report.rows)
    print(f"\n{len(report.rows)} comparisons, worst max abs error {worst:.3e} (tolerance {args.tol:g})")
    if report.failures:
        print(f"{len(report.failures)} FAILED:\n  " + "\n  ".join(report.failures))
        sys.exit(1)
    print("all matched")


if __name__ == "__main__":
    main()
