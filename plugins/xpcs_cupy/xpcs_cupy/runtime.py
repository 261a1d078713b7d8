"""Import CuPy once, check for a CUDA device, apply the memory fraction."""

from __future__ import annotations

import ctypes.util
import importlib.metadata
import importlib.util
import threading
from types import ModuleType

from xpcs_core import config
from xpcs_core.errors import BackendUnavailable

INSTALL = "pip install './plugins/xpcs_cupy[cuda12]'"
_lock = threading.Lock()
_cupy: list[ModuleType] = []


def cupy_version() -> str | None:
    """Version of the installed CuPy wheel, from metadata (no import)."""
    for dist in ("cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x", "cupy"):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None


def probe() -> str | None:
    """Why cupy cannot run here (without importing it), or None if it may."""
    if config.use_gpu() == "false":
        return "XPCS_USE_GPU=false"
    if importlib.util.find_spec("cupy") is None:
        return f"cupy is not installed: {INSTALL}"
    if ctypes.util.find_library("cuda") is None and not _libcuda_loadable():
        return "no NVIDIA driver found (libcuda is missing); cupy needs a CUDA GPU"
    return None


def _libcuda_loadable() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def cupy_module() -> ModuleType:
    """Return the ``cupy`` module after checking that a device works."""
    with _lock:
        if not _cupy:
            reason = probe()
            if reason:
                raise BackendUnavailable(reason)
            import cupy

            try:
                count = cupy.cuda.runtime.getDeviceCount()
            except Exception as exc:  # CUDARuntimeError and friends
                raise BackendUnavailable(f"CUDA is not usable: {exc}") from exc
            if count < 1:
                raise BackendUnavailable("no CUDA device found")
            fraction = config.gpu_memory_fraction()
            if fraction is not None:
                cupy.get_default_memory_pool().set_limit(fraction=fraction)
            _cupy.append(cupy)
        return _cupy[0]
