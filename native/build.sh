#!/usr/bin/env bash
# Compiles every kernel in native/ with nvcc into one fat binary holding SASS for sm_75 (T4, RTX 20xx), sm_80 (A100;
# sm_86/sm_89 GPUs run it too) and sm_90 (H100) plus compute_90 PTX that newer GPUs JIT-compile, and also writes
# the per-kernel PTX and CUBIN for inspection.
# Warnings are errors. Output: native/build/ (texforce-kernels.fatbin is what texforce-cuda packs as a resource).
#   native/build.sh                    build everything
#   native/build.sh --resources        also print registers, spills and shared memory per kernel
#   native/build.sh --fatbin-only DIR  only the fat binary, into DIR (what the Maven build of texforce-cuda runs)
# NVCC overrides the compiler (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
if [ ! -x "$nvcc" ]; then
  echo "native/build.sh: nvcc not found (set NVCC or install the CUDA toolkit)" >&2
  exit 1
fi
out="$here/build"
flags=(-std=c++17 -O3 -Werror all-warnings -Xptxas -Werror -Xcompiler -Wall,-Wextra -I "$here")
resources=()
fatbin_only=false
case "${1:-}" in
  --resources) resources=(--resource-usage) ;;
  --fatbin-only) fatbin_only=true; out="${2:?--fatbin-only needs an output folder}" ;;
  "") ;;
  *) echo "native/build.sh: unknown option $1" >&2; exit 2 ;;
esac
mkdir -p "$out"
sources=("$here"/*.cu)
for src in "${sources[@]}"; do
  $fatbin_only && break
  name="$(basename "$src" .cu)"
  "$nvcc" "${flags[@]}" -arch=compute_90 -ptx -o "$out/$name.ptx" "$src"
  for sm in 75 80 90; do
    "$nvcc" "${flags[@]}" "${resources[@]}" -gencode "arch=compute_$sm,code=sm_$sm" -cubin \
      -o "$out/$name.sm_$sm.cubin" "$src"
  done
done
# One translation unit for the fat binary, so that the Java side loads a single module.
unit="$out/texforce-kernels.cu"
printf '#include "%s"\n' "${sources[@]}" > "$unit"
"$nvcc" "${flags[@]}" -fatbin \
  -gencode arch=compute_75,code=sm_75 -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
  -o "$out/texforce-kernels.fatbin" "$unit"
rm "$unit"
if $fatbin_only; then
  echo "native/build.sh: $out/texforce-kernels.fatbin"
else
  echo "native/build.sh: ${#sources[@]} kernel files -> PTX, sm_75, sm_80 and sm_90 CUBIN, $out/texforce-kernels.fatbin"
fi
