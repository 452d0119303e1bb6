#!/usr/bin/env bash
# The full srwm-fewshot-strokes scale (5-way 1-shot and 5-shot, SRWM / DeltaNet / LSTM with a
# Conv-4 encoder, procedural characters) on a CUDA machine.  Usage:
#   scripts/gpu_srwm_fewshot.sh [OUT] [extra --set KEY=VALUE ...]
# Resumes from OUT's checkpoint when OUT already holds an unfinished run.  To spend more of a GPU's
# budget, pass e.g. `--set steps=20000 --set batch=64` (the paper: 300k steps of 128 episodes).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/srwm-fewshot-strokes-full-gpu}
shift || true
if [ -f "$OUT/config.json" ]; then  # resume: the run keeps its saved config
  exec .venv/bin/metahook run srwm-fewshot-strokes --out "$OUT" --resume
fi
SETS=(--set device=cuda --set threads=4)
for s in "$@"; do SETS+=(--set "$s"); done
exec .venv/bin/metahook run srwm-fewshot-strokes --scale full --seed 0 --out "$OUT" "${SETS[@]}"
