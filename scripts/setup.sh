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

extras="$(IFS=,; echo "$*")"
say "building and installing kale${extras:+ [$extras]} (the Rust extension compiles in release mode)"
# An editable install: the Python sources are used in place, the extension is built once.
.venv/bin/python -m pip install -q maturin
.venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"
say "ready: $(.venv/bin/kale --version)"
