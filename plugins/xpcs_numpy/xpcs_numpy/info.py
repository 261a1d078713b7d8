"""Backend info of the NumPy reference backend (cheap: no heavy import)."""

from __future__ import annotations

import importlib.metadata

from xpcs_core.backend_info import BackendInfo
from xpcs_core.hookspecs import hookimpl

import xpcs_numpy

__all__ = ["xpcs_backend_info"]


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
    )
