"""Two-time correlation on JAX: the shared kernel, jit-compiled per block shape."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import twotime
from xpcs_jax.runtime import device, jax_module

__all__ = ["xpcs_twotime"]


@functools.cache
def _compiled() -> Any:
    jax = jax_module()
    import jax.numpy as jnp

    return jax.jit(functools.partial(twotime.twotime, jnp))


@hookimpl
def xpcs_twotime(frames: Any) -> Any:
    data = jax_module().device_put(np.asarray(frames, dtype=np.float64), device())
    return _compiled()(data)
