# Shared set-up for kas's two commands (sourced, not run). Idempotent: checks what is
# present and installs only what is missing, into KAS_HOME (default ~/.cache/kas).
#
# Today the workspace needs only a Rust toolchain (cargo) and a C compiler (the printed C loop
# nests are compiled in tests). When the code-generation issue links libtorch, the torch venv of
# ../shared/TOOLCHAIN.md is installed here, into "$KAS_HOME/torch-2.11.0".

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

# Run from the repository root whatever the caller's directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
