"""Backend info of the NumPy reference backend (cheap: no heavy import)."""

from __future__ import annotations

import importlib.metadata

from xpcs_core.backend_info import BackendInfo
from xpcs_core.hookspecs import hookimpl

import xpcs_numpy

__all__ = ["xpcs_backend_info"]


COSTS: dict[str, tuple[float, float, float]] = {
    # family: (overhead s, s per workload element, first call s), measured on a 2-core
    # laptop-class CPU (benchmarks/results/*-cpu.txt); `xpcs bench --calibrate` refines them
    "qmap": (1e-3, 1.3e-7, 0.0),
    "partition": (2e-3, 1.5e-7, 0.0),
    "binning": (1e-3, 8e-10, 0.0),
    "lsq": (3e-3, 2e-6, 0.0),
    "posterior": (0.5, 3.6e-2, 0.0),  # emcee defaults, per bin x delay
    "multitau": (1e-2, 7e-9, 1.0),  # numba kernels; first call loads them from numba's cache
    "twotime": (1e-3, 2e-11, 0.0),
}


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("numpy", "scipy", "emcee"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


@hookimpl
def xpcs_backend_info() -> BackendInfo:
    return BackendInfo(
        name="numpy",
        version=xpcs_numpy.__version__,
        priority=10,
        devices=("cpu",),
        library_versions=_versions(),
        description="NumPy + SciPy + emcee reference backend",
        costs=COSTS,
    )
