"""Two-time correlation on NumPy (the shared kernel, float64)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import twotime

__all__ = ["xpcs_twotime"]


@hookimpl
def xpcs_twotime(frames: Any) -> np.ndarray:
    return twotime.twotime(np, np.asarray(frames, dtype=np.float64))
