#!/usr/bin/env bash
# Every test: the Rust crates' own tests, then the Python suite against the built wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test train eval ray assets
printf '\033[1m==> cargo test\033[0m\n'
cargo test --workspace --exclude kale-py --release
printf '\033[1m==> pytest\033[0m\n'
.venv/bin/python -m pytest "$@"
