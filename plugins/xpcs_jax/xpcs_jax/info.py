"""Backend info and start-up of the JAX backend (info is cheap: no jax import)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from xpcs_core.backend_info import BackendInfo
from xpcs_core.hookspecs import hookimpl

import xpcs_jax
from xpcs_jax.runtime import device, device_name, jax_module

__all__ = ["xpcs_backend_info", "xpcs_backend_load"]

_LIBS = ("jax", "jaxlib", "numpyro", "optimistix")


def _versions() -> dict[str, str]:
    out = {}
    for dist in _LIBS:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _cuda_plugin_installed() -> bool:
    """Whether a CUDA build of jaxlib is installed (checked from metadata, no import)."""
    for dist in ("jax-cuda12-plugin", "jax-cuda13-plugin"):
        try:
            importlib.metadata.version(dist)
            return True
        except importlib.metadata.PackageNotFoundError:
            pass
    return False


@hookimpl
def xpcs_backend_info() -> BackendInfo:
    missing = [lib for lib in ("jax", "jaxlib", "numpyro") if importlib.util.find_spec(lib) is None]
    reason = None
    if missing:
        reason = f"{', '.join(missing)} not installed: pip install ./plugins/xpcs_jax"
    devices = ("cpu", "cuda:0") if _cuda_plugin_installed() else ("cpu",)
    return BackendInfo(
        name="jax",
        version=xpcs_jax.__version__,
        priority=60,
        available=not missing,
        reason=reason,
        devices=devices,
        library_versions=_versions(),
        description="JAX + NumPyro: jit, vmap, NUTS; GPU when present",
    )


@hookimpl
def xpcs_backend_load() -> list[str]:
    jax = jax_module()
    chosen = device()
    names = [device_name(chosen)]
    names += [device_name(d) for d in jax.devices() if d != chosen and device_name(d) not in names]
    return names
