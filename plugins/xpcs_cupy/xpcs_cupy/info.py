"""Backend info and start-up of the CuPy backend (info probes without importing cupy)."""

from __future__ import annotations

from xpcs_core.backend_info import BackendInfo
from xpcs_core.hookspecs import hookimpl

import xpcs_cupy
from xpcs_cupy.runtime import cupy_module, cupy_version, probe

__all__ = ["xpcs_backend_info", "xpcs_backend_load"]


COSTS: dict[str, tuple[float, float, float]] = {
    # family: (overhead s incl. transfer, s per workload element, first call s = kernel
    # compilation); GPU estimates, not yet measured on a lent GPU (docs/architecture.md)
    "qmap": (1e-2, 2e-9, 0.3),
    "partition": (1e-2, 3e-9, 0.3),
    "binning": (1e-2, 5e-11, 0.3),
    "multitau": (1e-2, 1e-9, 0.5),
    "twotime": (1e-2, 5e-13, 0.1),
    # ~50 iterations of a few dozen small kernels each: launch-bound until thousands of bins
    "lsq": (0.1, 2e-8, 0.5),
}


@hookimpl
def xpcs_backend_info() -> BackendInfo:
    reason = probe()
    version = cupy_version()
    return BackendInfo(
        name="cupy",
        version=xpcs_cupy.__version__,
        priority=50,
        available=reason is None,
        reason=reason,
        devices=() if reason else ("cuda:0",),
        library_versions={"cupy": version} if version else {},
        description="CuPy on NVIDIA GPUs",
        costs=COSTS,
    )


@hookimpl
def xpcs_backend_load() -> list[str]:
    cupy = cupy_module()
    return [f"cuda:{i}" for i in range(cupy.cuda.runtime.getDeviceCount())]
