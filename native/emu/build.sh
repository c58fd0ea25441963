#!/usr/bin/env bash
# Builds the CUDA host emulator: the kernels of native/ compiled as host C++ (cuda_emu.h supplies the device
# language) together with host versions of the driver API and cuBLAS calls the Java backend binds, into one
# shared library that io.texforce.cuda.CudaBackend loads in place of libcuda/libcublas (TEXFORCE_CUDA_EMULATOR, or
# CudaBackend.emulator(path)). It lets the whole CUDA backend (Java bindings and kernels) run and be tested on a
# machine without a GPU. Needs g++ (C++20) and CUDA's headers (cuda_bf16.h, vector_types.h), not a GPU or nvcc.
#   native/emu/build.sh OUT_DIR                 writes OUT_DIR/libtexforce-cuda-emu.so
#   native/emu/build.sh --if-possible OUT_DIR   the same, but without a compiler or CUDA headers only says so and
#                                               exits 0 (what the Maven build runs; the emulator tests then skip)
# CXX overrides the compiler, CUDA_HOME the toolkit (default /usr/local/cuda).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
native="$(dirname "$here")"
missing=1
if [ "${1:-}" = "--if-possible" ]; then missing=0; shift; fi
out="${1:?usage: native/emu/build.sh [--if-possible] OUT_DIR}"
cxx="${CXX:-g++}"
cuda="${CUDA_HOME:-/usr/local/cuda}"
if ! command -v "$cxx" > /dev/null; then
  echo "native/emu/build.sh: no C++ compiler ($cxx); set CXX. The CUDA host emulator is not built." >&2
  exit $missing
fi
if [ "$(uname -m)" != "x86_64" ]; then
  echo "native/emu/build.sh: the emulator's fiber switch is written for x86-64, this is $(uname -m). The CUDA host emulator is not built." >&2
  exit $missing
fi
if ! echo '#include <atomic>
#include <bit>
int main() { float f = 0; std::atomic_ref<float>(f).fetch_add(1.0f); return std::bit_cast<int>(f) == 0; }' \
    | "$cxx" -std=c++20 -x c++ - -o /dev/null 2> /dev/null; then
  echo "native/emu/build.sh: $cxx lacks C++20 (std::atomic_ref<float>, std::bit_cast; GCC 11 or newer has them). The CUDA host emulator is not built." >&2
  exit $missing
fi
if [ ! -f "$cuda/include/cuda_bf16.h" ]; then
  echo "native/emu/build.sh: CUDA headers not found under $cuda/include (set CUDA_HOME). The CUDA host emulator is not built." >&2
  exit $missing
fi
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# One translation unit with every kernel file (as the fat binary has) and the registry of their extern "C" kernels.
unit="$work/kernels.cpp"
{
  echo '#include "registry.h"'
  for src in "$native"/*.cu "$here"/test_kernels.cu; do printf '#include "%s"\n' "$src"; done
  echo 'namespace tfemu {'
  echo 'const KernelEntry kernels[] = {'
  cat "$native"/*.cu "$here"/test_kernels.cu | tr '\n' ' ' \
    | grep -oE 'extern "C" __global__ void +(__launch_bounds__\([^)]*\) *)?[A-Za-z_][A-Za-z0-9_]* *\(' \
    | sed -E 's/.* ([A-Za-z_][A-Za-z0-9_]*) *\($/    TFEMU_KERNEL(\1),/'
  echo '};'
  echo 'const int kernel_count = sizeof(kernels) / sizeof(kernels[0]);'
  echo '}  // namespace tfemu'
} > "$unit"
flags=(-std=c++20 -O2 -g -fPIC -ffp-contract=off -fno-fast-math -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas
       -I "$here/include" -I "$here" -I "$native" -I "$cuda/include")
"$cxx" "${flags[@]}" -include "$here/cuda_emu.h" -c "$unit" -o "$work/kernels.o"
for part in fiber memory driver cublas; do
  "$cxx" "${flags[@]}" -c "$here/$part.cpp" -o "$work/$part.o"
done
# -Bsymbolic: the library's own calls bind to itself, so two copies loaded at once (tests emulating two GPU
# generations) never call into each other.
"$cxx" -shared -Wl,-Bsymbolic -o "$out/libtexforce-cuda-emu.so" "$work"/*.o -lpthread
# cuDNN, which io.texforce.cuda.Cudnn reaches through JavaCPP's JNI bindings (org.bytedeco:cuda): those link
# libcudnn_{graph,ops,cnn,adv}.so.9, libcublas(Lt).so.13, libcudart.so.13 and libcuda.so.1 by name and with
# symbol versions named after them. out/cudnn/ holds the emulated cuDNN (cudnn.cpp) and stand-ins of those names:
# each defines its version node; the cuDNN ones depend on the emulation, whose unversioned symbols then satisfy the
# bindings' versioned references. Cudnn loads them all by path before JavaCPP loads its bindings. The stand-in
# libcuda.so.1 exports no driver function (Driver.load() then says there is no GPU, as without one).
mkdir -p "$out/cudnn"
"$cxx" "${flags[@]}" -c "$here/cudnn.cpp" -o "$work/cudnn.o"
"$cxx" -shared -Wl,-Bsymbolic -Wl,-soname,libtexforce-cudnn-emu.so -o "$out/cudnn/libtexforce-cudnn-emu.so" \
  "$work/cudnn.o"
for name in libcudnn_graph.so.9 libcudnn_ops.so.9 libcudnn_cnn.so.9 libcudnn_adv.so.9 libcublasLt.so.13 \
    libcublas.so.13 libcudart.so.13 libcuda.so.1; do
  stub="tfemu_stand_in_$(echo "$name" | tr '.-' '__')"
  echo "$name { global: $stub; local: *; };" > "$work/$name.map"
  echo "extern \"C\" void $stub() {}" > "$work/$name.cpp"
  needs=()
  if [[ "$name" == libcudnn_* ]]; then needs=(-Wl,--no-as-needed -L"$out/cudnn" -l:libtexforce-cudnn-emu.so); fi
  "$cxx" -shared -fPIC -Wl,-soname,"$name" -Wl,--version-script="$work/$name.map" -Wl,-rpath,'$ORIGIN' \
    -o "$out/cudnn/$name" "$work/$name.cpp" "${needs[@]}"
done
echo "native/emu/build.sh: $out/libtexforce-cuda-emu.so ($(grep -c TFEMU_KERNEL "$unit") kernels), $out/cudnn/"
