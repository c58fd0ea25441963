#!/usr/bin/env bash
# Checks TexForce-J's LoRA files against diffusers/peft in both directions (see check_diffusers_lora.py and
# docs/formats.md, "Checked against diffusers"). Not part of the build or CI: it needs PyTorch.
#
#   tools/interop/check_diffusers_lora.sh               # the check; extra arguments go to the Python script
#   tools/interop/check_diffusers_lora.sh --fixtures    # rewrite testdata/lora-interop/ instead
#
# Sets up a virtual environment in third_party/venv (git-ignored) on first use with pip's configured index
# (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_FIND_LINKS as usual). diffusers comes from pip, or from a source tree:
# DIFFUSERS_SRC=/path/to/diffusers/src. TORCH_SPEC overrides the torch requirement (e.g. a CPU build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/third_party/venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
# Versions the check was last run with (docs/formats.md); newer ones are expected to work.
reqs=("${TORCH_SPEC:-torch>=2.4}" "transformers>=4.45" "peft>=0.15" safetensors numpy)
if [ -n "${DIFFUSERS_SRC:-}" ]; then
  reqs+=(huggingface_hub regex pillow filelock importlib_metadata requests)
  export PYTHONPATH="$DIFFUSERS_SRC${PYTHONPATH:+:$PYTHONPATH}"
else
  reqs+=(diffusers)
fi
if ! "$venv/bin/python" -c "import torch, transformers, peft, safetensors, diffusers" 2>/dev/null; then
  "$venv/bin/pip" install --quiet "${reqs[@]}"
fi

if [ ! -f "$root/texforce-examples/target/texforce-examples.jar" ]; then
  (cd "$root" && ./mvnw -B -q package -DskipTests)
fi

if [ "${1:-}" = "--fixtures" ]; then
  shift
  exec "$venv/bin/python" "$root/tools/interop/make_lora_fixtures.py" "$@"
fi
exec "$venv/bin/python" "$root/tools/interop/check_diffusers_lora.py" "$@"
