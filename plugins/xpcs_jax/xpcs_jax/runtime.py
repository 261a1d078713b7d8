"""Import and configure JAX once: float64 on, GPU choice, memory fraction.

Environment (read when jax is first needed, before it is imported), ``XPCS_CACHE_DIR``
(the persistent compile cache) and:
``XPCS_USE_GPU`` (true/false/auto), ``XPCS_GPU_FALLBACK`` (default true),
``XPCS_GPU_MEMORY_FRACTION`` (0-1). Preallocation of GPU memory is off unless the
user set ``XLA_PYTHON_CLIENT_PREALLOCATE`` himself, so two GPU backends can share a
process.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import warnings
from types import ModuleType
from collections.abc import Callable
from typing import Any

from xpcs_core import config
from xpcs_core.errors import BackendUnavailable

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _set_env_before_import() -> None:
    os.environ["JAX_ENABLE_X64"] = "1"
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    fraction = config.gpu_memory_fraction()
    if fraction is not None:
        os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{fraction:.3f}"
    if config.use_gpu() == "false" and "jax" not in sys.modules:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")


def _pick_device(jax: ModuleType) -> Any:
    use_gpu = config.use_gpu()
    if use_gpu == "false":
        return jax.devices("cpu")[0]
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if gpus:
        return gpus[0]
    if use_gpu == "true":
        if not config.gpu_fallback():
            raise BackendUnavailable(
                "XPCS_USE_GPU=true but JAX sees no GPU and XPCS_GPU_FALLBACK=false "
                "(install jax with CUDA: pip install 'xpcs-jax[cuda12]')"
            )
        warnings.warn(
            "XPCS_USE_GPU=true but JAX sees no GPU; computing on the CPU "
            "(set XPCS_GPU_FALLBACK=false to make this an error)",
            RuntimeWarning,
            stacklevel=3,
        )
    return jax.devices("cpu")[0]


def _persistent_cache(jax: ModuleType) -> None:
    """jax's own persistent compilation cache in ``XPCS_CACHE_DIR``/jax (default: the user
    cache folder; ``XPCS_CACHE_DIR=none`` turns it off): a new process reuses the
    programs earlier ones compiled (the same shapes; see the shape buckets of the fits)."""
    folder = config.cache_dir()
    if folder is None:
        return
    try:
        (folder / "jax").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        warnings.warn(f"jax compile cache off: cannot create {folder / 'jax'}: {exc.strerror}", stacklevel=3)
        return
    jax.config.update("jax_compilation_cache_dir", str(folder / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def jax_module() -> ModuleType:
    """Return the configured ``jax`` module (imported and set up on first call)."""
    with _lock:
        if "jax" not in _state:
            _set_env_before_import()
            import jax

            jax.config.update("jax_enable_x64", True)
            _persistent_cache(jax)
            device = _pick_device(jax)
            jax.config.update("jax_default_device", device)
            _state["device"] = device
            _state["jax"] = jax
        return _state["jax"]


def device() -> Any:
    """The JAX device computations run on."""
    jax_module()
    return _state["device"]


def device_name(dev: Any) -> str:
    """``"cpu"`` or ``"cuda:0"`` style name of a JAX device."""
    platform = "cuda" if dev.platform == "gpu" else dev.platform
    return "cpu" if platform == "cpu" else f"{platform}:{dev.id}"


@functools.cache
def jitted(fn: Callable[..., Any], static: tuple[str, ...] = ()) -> Callable[..., Any]:
    """``jax.jit(fn bound to jax.numpy)``, built once per process (jax caches per shape).

    ``fn(xp, ...)`` is a shared kernel written against an array namespace; every array
    and scalar goes in as an argument, never as a closed-over constant.
    """
    jax = jax_module()
    import jax.numpy as jnp

    return jax.jit(functools.partial(fn, jnp), static_argnames=static)


def to_device(array: Any) -> Any:
    """A NumPy array on the chosen jax device."""
    return jax_module().device_put(array, device())
