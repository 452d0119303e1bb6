#!/usr/bin/env bash
# The neural branch's GPU check, for a lent CUDA machine that has PyTorch and Triton but no network
# (not part of CI). Run from the repository root:
#
#   WHEELS=.gpu OUT=/tmp/gpu bash benchmarks/gpu_neural_check.sh
#
# WHEELS: an optional folder of wheels to install first without the network (fla-core: fetch it
# beforehand with `pip download --no-deps -d .gpu fla-core`). Writes into OUT:
#   gpu_deltanet_vs_fla.json  our chunkwise DeltaNet on CUDA vs our recurrent form and fla's
#                             Triton kernel (outputs, gradients, forward+backward ms)
#   <experiment>.json         result.json of each neural experiment's quick scale on CUDA
set -u
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi -L
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
if [ -n "${WHEELS:-}" ]; then
    python3 -m pip install -q --no-deps --no-index "$WHEELS"/*.whl
fi
python3 benchmarks/gpu_deltanet_vs_fla.py | tee "$OUT/gpu_deltanet_vs_fla.json"
for name in fwp-assoc-retrieval fwp-capacity srwm-fewshot meta-lstm-quadratic; do
    rm -rf "/tmp/gpu-runs/$name"
    start=$(date +%s)
    python3 -m metahook run "$name" --scale quick --set device=cuda --out "/tmp/gpu-runs/$name" \
        --quiet && cp "/tmp/gpu-runs/$name/result.json" "$OUT/$name.json"
    echo "$name: exit $?, $(( $(date +%s) - start )) s"
done
