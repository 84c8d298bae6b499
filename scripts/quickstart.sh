#!/usr/bin/env bash
# The main job on embedded defaults, from a fresh machine: set up, then run it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/kale quickstart "$@"
