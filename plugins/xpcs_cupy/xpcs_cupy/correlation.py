"""Multi-tau and two-time correlation on CuPy (the shared kernels on the GPU)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import correlation
from xpcs_cupy.runtime import cupy_module

__all__ = ["xpcs_multitau", "xpcs_twotime"]


@hookimpl
def xpcs_multitau(frames: Any, n_levels: int | None) -> dict[str, Any]:
    cp = cupy_module()
    return correlation.multitau(cp, cp.asarray(np.asarray(frames, dtype=np.float64)), n_levels)


@hookimpl
def xpcs_twotime(frames: Any) -> Any:
    cp = cupy_module()
    return correlation.twotime(cp, cp.asarray(np.asarray(frames, dtype=np.float64)))
