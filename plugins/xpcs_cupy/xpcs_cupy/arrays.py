"""Backend info, start-up and array ops of the CuPy backend."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.backend_info import BackendInfo
from xpcs_core.hookspecs import hookimpl

import xpcs_cupy
from xpcs_cupy.runtime import cupy_module, cupy_version, probe

__all__ = [
    "xpcs_backend_info",
    "xpcs_backend_load",
    "xpcs_array_namespace",
    "xpcs_to_device",
    "xpcs_to_numpy",
]


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
    )


@hookimpl
def xpcs_backend_load() -> list[str]:
    cupy = cupy_module()
    return [f"cuda:{i}" for i in range(cupy.cuda.runtime.getDeviceCount())]


@hookimpl
def xpcs_array_namespace() -> Any:
    return cupy_module()


@hookimpl
def xpcs_to_device(array: Any, dtype: Any | None) -> Any:
    return cupy_module().asarray(np.asarray(array), dtype=dtype)


@hookimpl
def xpcs_to_numpy(array: Any) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array
    return cupy_module().asnumpy(array)
