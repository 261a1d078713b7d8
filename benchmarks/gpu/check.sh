#!/usr/bin/env bash
# One call on a lent GPU machine: install the project, run the conformance suites of
# cupy and jax on the GPU, the CUDA multi-tau kernel's check, and the GPU benchmarks.
# Figures land in $OUT (or benchmarks/results/ without it) as *-gpu.txt, the device named.
#   device run, carry [".whl"]:  bash benchmarks/gpu/check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-benchmarks/results}
export PYTHONUNBUFFERED=1 XPCS_USE_GPU=true XPCS_CACHE_DIR=/tmp/xpcs-cache
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
python3 -m pip install -q --no-deps --no-build-isolation -e . -e plugins/xpcs_numpy \
    -e plugins/xpcs_jax -e plugins/xpcs_cupy > "$OUT/install-gpu.log" 2>&1 || { tail "$OUT/install-gpu.log"; exit 1; }
device=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
echo "device: $device" | tee "$OUT/conformance-gpu.txt"
python3 -m xpcs_core.cli.main backends 2>&1 | tee -a "$OUT/conformance-gpu.txt"
for b in cupy jax; do
    echo "== conformance, backend $b" | tee -a "$OUT/conformance-gpu.txt"
    timeout 240 python3 -m pytest -q -p no:cacheprovider --pyargs xpcs_core.testing --xpcs-backend "$b" \
        2>&1 | tail -n 25 | tee -a "$OUT/conformance-gpu.txt"
done
echo "== the CUDA multi-tau kernel against the generic accumulator, on the GPU" | tee -a "$OUT/conformance-gpu.txt"
python3 - <<'PY' 2>&1 | tee -a "$OUT/conformance-gpu.txt"
from xpcs_cupy._multitau_cuda import cupy_launch
print("kernel verified and used" if cupy_launch() is not None else "kernel NOT used (see the warning)")
PY
{ echo "device: $device"; timeout 200 python3 -m xpcs_core.cli.main bench --quick 2>&1; } | tee "$OUT/bench-gpu.txt"
{ echo "device: $device"; timeout 120 python3 benchmarks/bench_multitau_gpu.py 2>&1; } | tee "$OUT/multitau-gpu.txt"
