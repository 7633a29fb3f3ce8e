# Shared set-up for kas's two commands (sourced, not run). Idempotent: checks what is
# present and installs only what is missing, into KAS_HOME (default ~/.cache/kas).
#
# Needs: a Rust toolchain (cargo), a C and C++ compiler (printed C loop nests and the generated
# CUDA kernels are compiled for the CPU in tests), Python 3 with venv (for NVIDIA's wheels).
# Installs: libtorch 2.11.0 and NVRTC 13.0 from PyPI into "$KAS_HOME/torch-2.11.0", and nvcc
# 13.0 into "$KAS_HOME/nvcc-13.0" (see docs/ARCHITECTURE.md, "Building for a GPU"); sets
# LIBTORCH, LD_LIBRARY_PATH and KAS_NVCC for the build and the tests, and changes to the
# repository root.
#
# Sourced into an interactive shell it sets no shell option (no `set -e`: a failing command
# later must not close the terminal) and never exits the shell: a missing prerequisite or a
# failed install prints one line and makes `source` return 2. scripts/main and scripts/test set
# their own strict mode, so there a failure here stops the script.

_kas_env_fail() {
    echo "kas set-up: $*" >&2
    return 2
}

# The prerequisites, checked before anything is written.
_kas_env_check() {
    command -v cargo >/dev/null 2>&1 ||
        { _kas_env_fail "'cargo' is required but not found: install Rust with rustup (https://rustup.rs)"; return; }
    command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 ||
        { _kas_env_fail "a C compiler (cc or gcc) is required: on Debian, apt-get install gcc"; return; }
    command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 ||
        { _kas_env_fail "a C++ compiler (c++ or g++) is required: on Debian, apt-get install g++"; return; }
    command -v python3 >/dev/null 2>&1 ||
        { _kas_env_fail "'python3' is required but not found: install Python 3 with venv (on Debian: apt-get install python3-venv)"; return; }
}

# pip-installs packages "$2…" into the venv "$1" (made when missing), quietly.
_kas_env_pip() {
    local venv="$1"
    shift
    if [ ! -x "$venv/bin/pip" ]; then
        python3 -m venv "$venv" || { _kas_env_fail "python3 -m venv $venv failed (on Debian: apt-get install python3-venv)"; return; }
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check --no-cache-dir "$@" ||
        _kas_env_fail "pip install into $venv failed (see pip's message above)"
}

_kas_env_setup() {
    _kas_env_check || return
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" ||
        { _kas_env_fail "cannot find the repository root from ${BASH_SOURCE[0]}"; return; }

    export KAS_HOME="${KAS_HOME:-$HOME/.cache/kas}"
    mkdir -p "$KAS_HOME" || { _kas_env_fail "cannot create KAS_HOME=$KAS_HOME: set KAS_HOME to a writable folder"; return; }

    local pyver
    pyver="python3.$(python3 -c 'import sys; print(sys.version_info.minor)')" ||
        { _kas_env_fail "python3 does not run"; return; }

    # libtorch 2.11.0 (the CUDA 13.0 wheel from PyPI, as on the GPU machine; it runs on the CPU
    # too) plus the two small CUDA runtime wheels libtorch_cpu.so needs, and NVRTC 13.0 (the
    # generated CUDA is compiled with it, with or without a GPU). Pinned: tch 0.24 = libtorch
    # 2.11; driver 580 accepts CUDA 13.0 PTX. ~1.5 GB, once.
    local torch_venv="$KAS_HOME/torch-2.11.0"
    local site="$torch_venv/lib/$pyver/site-packages"
    if [ ! -e "$site/torch/lib/libtorch_cpu.so" ] || [ ! -e "$site/nvidia/cu13/lib/libnvrtc.so.13" ]; then
        echo "kas set-up: installing libtorch 2.11.0 and NVRTC 13.0 into $torch_venv (once, ~1.5 GB)" >&2
        _kas_env_pip "$torch_venv" --no-deps torch==2.11.0 nvidia-cuda-runtime==13.0.96 \
            nvidia-cuda-cupti==13.0.85 nvidia-cuda-nvrtc==13.0.88 || return
    fi

    # nvcc 13.0 from PyPI (pinned; its dependencies are not), to check that export bundles
    # build outside kas. ~300 MB, once.
    local nvcc_venv="$KAS_HOME/nvcc-13.0"
    local nvcc_site="$nvcc_venv/lib/$pyver/site-packages/nvidia/cu13"
    if [ ! -x "$nvcc_site/bin/nvcc" ] || [ ! -e "$nvcc_site/include/cuda_runtime.h" ]; then
        echo "kas set-up: installing nvcc 13.0 into $nvcc_venv (once, ~300 MB)" >&2
        _kas_env_pip "$nvcc_venv" nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 \
            nvidia-cuda-crt==13.0.88 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 || return
    fi

    export LIBTORCH="$site/torch"
    case ":${LD_LIBRARY_PATH:-}:" in
        *":$site/nvidia/cu13/lib:"*) ;;
        *) export LD_LIBRARY_PATH="$site/nvidia/cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
    esac
    export KAS_NVCC="$nvcc_site/bin/nvcc"

    # Ray 2.60.0, for `kas search --engine ray` and its test (README, "Across hosts"). Optional:
    # when it cannot be installed the set-up says so and goes on; the test skips, saying why.
    local ray_venv="$KAS_HOME/ray-2.60.0"
    if [ ! -x "$ray_venv/bin/ray" ]; then
        echo "kas set-up: installing ray 2.60.0 into $ray_venv (once, ~250 MB)" >&2
        _kas_env_pip "$ray_venv" ray==2.60.0 ||
            echo "kas set-up: ray was not installed; kas search --engine ray and its test are unavailable" >&2
    fi

    # Run from the repository root whatever the caller's directory.
    cd "$here" || { _kas_env_fail "cannot change to $here"; return; }
}

# `return` ends a sourced file with a status; run as a program (`bash scripts/env.sh`) the file
# is not sourced, and `exit` ends it.
if _kas_env_setup; then
    unset -f _kas_env_fail _kas_env_check _kas_env_pip _kas_env_setup
    return 0 2>/dev/null || exit 0
else
    unset -f _kas_env_fail _kas_env_check _kas_env_pip _kas_env_setup
    return 2 2>/dev/null || exit 2
fi
