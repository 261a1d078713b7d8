"""Q-map hook of the JAX backend: the shared kernel jit-compiled once per geometry kind and shape.

Every array and scalar goes in as an argument, never as a closed-over constant.
"""

from __future__ import annotations

from typing import Any

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import qmap

from xpcs_jax.runtime import jitted

__all__ = ["xpcs_compute_qmap"]


@hookimpl
def xpcs_compute_qmap(geometry: Any) -> dict[str, Any]:
    kind, static, values = qmap.arguments(geometry)
    fn = jitted(qmap.KERNELS[kind], tuple(static))
    return fn(**static, **values)
