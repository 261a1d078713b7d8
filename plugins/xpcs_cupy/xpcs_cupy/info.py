"""Backend info and start-up of the CuPy backend (info probes without importing cupy)."""

from __future__ import annotations

from xpcs_core.backend_info import BackendInfo
from xpcs_core.hookspecs import hookimpl

import xpcs_cupy
from xpcs_cupy.runtime import cupy_module, cupy_version, probe

__all__ = ["xpcs_backend_info", "xpcs_backend_load"]


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
