"""Backend info and start-up of the JAX backend (info is cheap: no jax import)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from xpcs_core import config
from xpcs_core.backend_info import BackendInfo
from xpcs_core.hookspecs import hookimpl

import xpcs_jax
from xpcs_jax.runtime import device, device_name, jax_module

__all__ = ["xpcs_backend_info", "xpcs_backend_load"]

_LIBS = ("jax", "jaxlib", "numpyro", "optimistix")

CPU_COSTS: dict[str, tuple[float, float, float]] = {
    # family: (overhead s, s per workload element, first call s = compilation), on a
    # 2-core CPU: dispatch and compilation dominate small work, large batches win
    "qmap": (1e-2, 5e-8, 0.4),
    "partition": (1e-2, 6e-8, 0.8),
    "binning": (1e-2, 2.7e-9, 0.5),
    "lsq": (1e-2, 2e-6, 3.0),
    "posterior": (0.2, 8e-3, 8.0),  # NUTS, all bins in one program
    "multitau": (1e-2, 4.5e-7, 3.0),  # benchmarks/results/multitau-cpu.txt
    "twotime": (5e-3, 2e-11, 0.3),
}
GPU_COSTS: dict[str, tuple[float, float, float]] = {
    # on a GPU the per-element costs drop by about 50x; overheads include the transfer
    family: (overhead * 2, per_element / 50, first) for family, (overhead, per_element, first) in CPU_COSTS.items()
}


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
        costs=GPU_COSTS if "cuda:0" in devices and config.use_gpu() != "false" else CPU_COSTS,
    )


@hookimpl
def xpcs_backend_load() -> list[str]:
    jax = jax_module()
    chosen = device()
    names = [device_name(chosen)]
    names += [device_name(d) for d in jax.devices() if d != chosen and device_name(d) not in names]
    return names
