# Shared set-up for kas's two commands (sourced, not run). Idempotent: checks what is
# present and installs only what is missing, into KAS_HOME (default ~/.cache/kas).
#
# Needs: a Rust toolchain (cargo), a C and C++ compiler (printed C loop nests and the generated
# CUDA kernels are compiled for the CPU in tests), Python 3 with venv (for NVIDIA's wheels).
# Installs: NVRTC 13.0 from PyPI into "$KAS_HOME/nvrtc-13.0" (the generated CUDA is compiled
# with it, with or without a GPU). When libtorch is linked, the torch venv of
# ../shared/TOOLCHAIN.md will be installed here too, into "$KAS_HOME/torch-2.11.0".

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

# NVRTC 13.0 (pinned: driver 580 accepts CUDA 13.0 PTX).
NVRTC_VENV="$KAS_HOME/nvrtc-13.0"
NVRTC_LIB="$NVRTC_VENV/lib/python3.$(python3 -c 'import sys; print(sys.version_info.minor)')/site-packages/nvidia/cu13/lib"
if [ ! -e "$NVRTC_LIB/libnvrtc.so.13" ]; then
    echo "kas set-up: installing NVRTC 13.0 into $NVRTC_VENV" >&2
    [ -x "$NVRTC_VENV/bin/pip" ] || python3 -m venv "$NVRTC_VENV"
    "$NVRTC_VENV/bin/pip" install -q --disable-pip-version-check --no-deps nvidia-cuda-nvrtc==13.0.88
fi
export LD_LIBRARY_PATH="$NVRTC_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# Run from the repository root whatever the caller's directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
