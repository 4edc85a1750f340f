#!/usr/bin/env bash
# Check that the installation is right and fast on a GPU (`make gpu-check`): CUDA ops,
# RoIAlign CUDA vs CPU, the B/16 recognizer in fp32/bf16/fp16 vs CPU, 20 training steps of
# the finetuning (fp16 AmpOptimWrapper, bf16) and pretraining recipes, dist_train.sh over
# NCCL, the AVA detector and the benchmark; one summary table, exit 1 on any failure.
# Without CUDA it runs the CPU-runnable checks at a tiny size, lists the skipped ones and
# exits 0. Flags: --only/--skip CHECK[,CHECK], --tiny, --steps N, --json FILE
# (docs/gpu_check.md; the checks are umt_mm/diagnostics/gpu_check.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
[[ -x "$PY" ]] || PY=python
exec "$PY" -m umt_mm.diagnostics "$@"
