"""g2 least squares on NumPy: the vectorised Levenberg-Marquardt of :mod:`xpcs_core.kernels.lsq`."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl

__all__ = ["xpcs_fit_lsq"]


@hookimpl
def xpcs_fit_lsq(problem: Any) -> Any:
    """All bins at once (no Python loop over bins)."""
    from xpcs_core.kernels.lsq import solve_lm

    return solve_lm(np, problem)
