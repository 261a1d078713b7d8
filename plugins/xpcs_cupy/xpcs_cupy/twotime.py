"""Two-time correlation on CuPy (the shared kernel on the GPU)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import twotime
from xpcs_cupy.runtime import cupy_module, on_gpu

__all__ = ["xpcs_twotime"]


@hookimpl
@on_gpu
def xpcs_twotime(frames: Any) -> Any:
    cp = cupy_module()
    return twotime.twotime(cp, cp.asarray(np.asarray(frames, dtype=np.float64)))
