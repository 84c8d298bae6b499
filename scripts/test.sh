#!/usr/bin/env bash
# Every check: formatting and lints (Rust and Python), the Rust crates' own tests, the
# extension's stubs against the built module, then the Python suite against it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test train eval ray assets

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
# rustfmt and clippy are rustup components of the toolchain, not crates: say which is missing.
for tool in fmt clippy; do
    cargo "$tool" --version >/dev/null 2>&1 || {
        echo "error: cargo $tool is missing: rustup component add $([ "$tool" = fmt ] && echo rustfmt || echo clippy)" >&2
        exit 1
    }
done

step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "ruff check, ruff format --check"
.venv/bin/ruff check python tests benches scripts
.venv/bin/ruff format --check python tests benches scripts
step "cargo test"
cargo test --workspace --exclude kale-py --release
step "stubtest kale._core"
.venv/bin/python -m mypy.stubtest kale._core --allowlist tests/stubtest_allowlist.txt
step "pytest"
.venv/bin/python -m pytest "$@"
