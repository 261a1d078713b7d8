"""Multi-tau and two-time correlation on NumPy (the shared kernels, float64)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import correlation

__all__ = ["xpcs_multitau", "xpcs_twotime"]


@hookimpl
def xpcs_multitau(frames: Any, n_levels: int | None) -> dict[str, Any]:
    return correlation.multitau(np, np.asarray(frames, dtype=np.float64), n_levels)


@hookimpl
def xpcs_twotime(frames: Any) -> np.ndarray:
    return correlation.twotime(np, np.asarray(frames, dtype=np.float64))
