"""Import CuPy once, check for a CUDA device, apply the memory fraction."""

from __future__ import annotations

import ctypes.util
import functools
import importlib.metadata
import importlib.util
import logging
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from xpcs_core import config
from xpcs_core.errors import BackendUnavailable, XpcsBackendError

log = logging.getLogger(__name__)

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


def _out_of_memory(exc: BaseException) -> bool:
    """cupy's ``OutOfMemoryError`` (and the CUDA runtime's), told by name: no cupy import."""
    return type(exc).__name__ in ("OutOfMemoryError", "CUDARuntimeError") and "memory" in str(exc).lower()


def on_gpu(hook: Callable[..., Any]) -> Callable[..., Any]:
    """Run a hookimpl on the GPU; out of GPU memory is reported, and with
    ``XPCS_GPU_FALLBACK`` on (the default) the call is declined so that the next backend
    along the priority order computes it (the core logs it and records the fallback)."""

    @functools.wraps(hook)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return hook(*args, **kwargs)
        except Exception as exc:
            if not _out_of_memory(exc):
                raise
            if config.gpu_fallback():
                log.warning("cupy: out of GPU memory in %s (%s); the next backend computes it",
                            hook.__name__, exc)
                return None
            raise XpcsBackendError(
                f"cupy: out of GPU memory in {hook.__name__} ({exc}); lower the workload, set "
                "XPCS_GPU_MEMORY_FRACTION, or allow XPCS_GPU_FALLBACK=true"
            ) from None

    return run


def guard_memory(method: Callable[..., Any]) -> Callable[..., Any]:
    """A method of a stateful GPU object (an accumulator mid-stream, which cannot be
    handed to another backend): out of GPU memory becomes an ``XpcsBackendError``."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            if not _out_of_memory(exc):
                raise
            raise XpcsBackendError(
                f"cupy: out of GPU memory in {method.__qualname__} ({exc}); use smaller blocks, "
                "set XPCS_GPU_MEMORY_FRACTION, or name another backend") from None

    return run
