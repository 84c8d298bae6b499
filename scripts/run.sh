#!/usr/bin/env bash
# The main job on embedded defaults, from a fresh machine: set up, then `kale run`:
# WordNet graph -> CommonsenseQA rationales written by SmolLM2-135M-Instruct -> KALE
# fine-tuning -> evaluation of the base and the trained model -> report.
# Extra arguments go to `kale run` (e.g. a config file, or --set synth.limit=50).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh train eval assets
.venv/bin/kale run "$@"
