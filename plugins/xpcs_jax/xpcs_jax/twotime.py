"""Two-time correlation on JAX: the shared kernel, jit-compiled per block shape."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import twotime
from xpcs_jax.runtime import device, jax_module, jitted

__all__ = ["xpcs_twotime"]


@hookimpl
def xpcs_twotime(frames: Any) -> Any:
    data = jax_module().device_put(np.asarray(frames, dtype=np.float64), device())
    return jitted(twotime.twotime)(data)
