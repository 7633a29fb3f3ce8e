# Shared set-up for kas's two commands (sourced, not run). Idempotent: checks what is
# present and installs only what is missing, into KAS_HOME (default ~/.cache/kas).
#
# Needs: a Rust toolchain (cargo), a C and C++ compiler (printed C loop nests and the generated
# CUDA kernels are compiled for the CPU in tests), Python 3 with venv (for NVIDIA's wheels).
# Installs: libtorch 2.11.0 and NVRTC 13.0 from PyPI into "$KAS_HOME/torch-2.11.0", and nvcc
# 13.0 into "$KAS_HOME/nvcc-13.0" (see docs/ARCHITECTURE.md, "Building for a GPU"); sets
# LIBTORCH, LD_LIBRARY_PATH and KAS_NVCC for the build and the tests.

set -euo pipefail

export KAS_HOME="${KAS_HOME:-$HOME/.cache/kas}"
mkdir -p "$KAS_HOME"

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "kas set-up: '$1' is required but not found: $2" >&2
        exit 2
    fi
}

need cargo "install Rust with rustup (https://rustup.rs)"
if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
    echo "kas set-up: a C compiler (cc or gcc) is required: on Debian, apt-get install gcc" >&2
    exit 2
fi

if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1; then
    echo "kas set-up: a C++ compiler (c++ or g++) is required: on Debian, apt-get install g++" >&2
    exit 2
fi
need python3 "install Python 3 with venv (on Debian: apt-get install python3-venv)"

# libtorch 2.11.0 (the CUDA 13.0 wheel from PyPI, as on the GPU machine; it runs on the CPU too)
# plus the two small CUDA runtime wheels libtorch_cpu.so needs, and NVRTC 13.0 (the generated
# CUDA is compiled with it, with or without a GPU). Pinned: tch 0.24 = libtorch 2.11; driver 580
# accepts CUDA 13.0 PTX. ~1.5 GB, once.
TORCH_VENV="$KAS_HOME/torch-2.11.0"
PYVER="python3.$(python3 -c 'import sys; print(sys.version_info.minor)')"
SITE="$TORCH_VENV/lib/$PYVER/site-packages"
if [ ! -e "$SITE/torch/lib/libtorch_cpu.so" ] || [ ! -e "$SITE/nvidia/cu13/lib/libnvrtc.so.13" ]; then
    echo "kas set-up: installing libtorch 2.11.0 and NVRTC 13.0 into $TORCH_VENV (once, ~1.5 GB)" >&2
    [ -x "$TORCH_VENV/bin/pip" ] || python3 -m venv "$TORCH_VENV"
    "$TORCH_VENV/bin/pip" install -q --disable-pip-version-check --no-deps torch==2.11.0 \
        nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85 nvidia-cuda-nvrtc==13.0.88
fi
export LIBTORCH="$SITE/torch"
export LD_LIBRARY_PATH="$SITE/nvidia/cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# nvcc 13.0 from PyPI (pinned; its dependencies are not), to check that export bundles build
# outside kas. ~300 MB, once.
NVCC_VENV="$KAS_HOME/nvcc-13.0"
export KAS_NVCC="$NVCC_VENV/lib/$PYVER/site-packages/nvidia/cu13/bin/nvcc"
if [ ! -x "$KAS_NVCC" ] || [ ! -e "$NVCC_VENV/lib/$PYVER/site-packages/nvidia/cu13/include/cuda_runtime.h" ]; then
    echo "kas set-up: installing nvcc 13.0 into $NVCC_VENV (once, ~300 MB)" >&2
    [ -x "$NVCC_VENV/bin/pip" ] || python3 -m venv "$NVCC_VENV"
    "$NVCC_VENV/bin/pip" install -q --disable-pip-version-check nvidia-cuda-nvcc==13.0.88 \
        nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85
fi

# Run from the repository root whatever the caller's directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
