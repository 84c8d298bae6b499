#!/usr/bin/env bash
# The checks that need a GPU, in one run (sized for a short lease on one H100/H200):
# the compiled fused kernel against the reference, the loss benchmark (naive, chunked
# reference, fused, Liger when installed) and the KA training-step benchmark.
#   bash benches/gpu_check.sh [LOGDIR]
# Uses the python3 on PATH (torch, triton, transformers, hypothesis, pytest); PYTHONPATH gets
# python/ so no install is needed. Each part has its own time limit so one slow part cannot
# take the others' output with it.
set -u
cd "$(dirname "$0")/.."
LOG=${1:-runs/gpu-check}
mkdir -p "$LOG"
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
part() {  # part NAME SECONDS CMD...
  local name=$1 secs=$2; shift 2
  echo "== $name: $*"
  timeout "$secs" "$@" 2>&1 | tee "$LOG/$name.log"
  echo "== $name: exit ${PIPESTATUS[0]}"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, triton, transformers; print('torch', torch.__version__, 'triton', triton.__version__, 'transformers', transformers.__version__)"
part kernel_tests 150 python3 -m pytest -q -p no:cacheprovider tests/test_train_kernel_cuda.py
part kl_loss 170 python3 benches/bench_kl_loss.py --device cuda --dtype bfloat16
part kl_loss_jsd 60 python3 benches/bench_kl_loss.py --device cuda --dtype bfloat16 --divergence jsd --vocab 151936
part train_step 110 python3 benches/bench_train_step.py --device cuda --vocab 151936
part train_step_smollm 80 python3 benches/bench_train_step.py --device cuda --vocab 49152
