#!/usr/bin/env bash
# Wheels of what the GPU machine's image lacks (it has jax, cupy, numpyro, numba, h5py,
# scipy, pluggy, click, rich, pytest, hypothesis, xarray, pandas, matplotlib, but no
# network), for its Python 3.12 on x86-64, into .whl/ (git-ignored). Run here, then
# carry .whl with benchmarks/gpu/check.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    "emcee==3.1.6" "arviz==0.23.4" "xarray-einstats==0.9.1" "h5netcdf==1.8.2" "platformdirs==4.5.1" \
    "hdf5plugin==7.1.0" "array-api-compat==1.16.0"
ls -la .whl
