"""Backend info and array ops of the NumPy reference backend."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import numpy as np

from xpcs_core.backend_info import BackendInfo
from xpcs_core.hookspecs import hookimpl

import xpcs_numpy

__all__ = ["xpcs_backend_info", "xpcs_array_namespace", "xpcs_to_device", "xpcs_to_numpy"]


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


@hookimpl
def xpcs_array_namespace() -> Any:
    return np


@hookimpl
def xpcs_to_device(array: Any, dtype: Any | None) -> np.ndarray:
    return np.asarray(array, dtype=dtype)


@hookimpl
def xpcs_to_numpy(array: Any) -> np.ndarray:
    return np.asarray(array)
