#!/usr/bin/env bash
# The full-size pipeline on a GPU machine (target < 8 min): notebooks 01-04 through run_notebook on CUDA (bf16),
# then fine-tune tokens/s, generation tokens/s (batch 1/16/64), index QPS and embedding throughput, written to
# OUT_DIR/gpu_figures.json with the output notebooks beside it.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]                 bootstraps .venv (as make demo) and runs
#   PYTHON=python3 bash benchmarks/gpu_check.sh OUT_DIR    uses an interpreter that already has the ml and
#                                                          notebook extras and the two model packages (a GPU box
#                                                          without PyPI); the repo goes on PYTHONPATH
#   bash benchmarks/gpu_check.sh OUT_DIR --small           CPU-sized parameters, to try the script anywhere
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-benchmarks/.cache/gpu}
shift || true
mkdir -p "$OUT"
if [ -z "${PYTHON:-}" ]; then
  make .venv/.installed-run >/dev/null
  PYTHON=.venv/bin/python
fi
export LLMOPS_HOME="$(cd "$OUT" && pwd)/ws" LLMOPS_CACHE="${LLMOPS_CACHE:-$PWD/.cache/llmops}" LLMOPS_QUIET=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec "$PYTHON" -m benchmarks.gpu_check "$OUT" "$@"
