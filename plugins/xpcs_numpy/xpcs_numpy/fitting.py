"""g2 fitting on NumPy: vectorised least squares and emcee posteriors."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl

__all__ = ["xpcs_fit_lsq", "xpcs_sample_posterior"]


@hookimpl
def xpcs_fit_lsq(problem: Any) -> Any:
    """All bins at once with the vectorised Levenberg-Marquardt of the core (in NumPy)."""
    from xpcs_core.fitting.lsq import solve_lm

    return solve_lm(np, problem)


@hookimpl
def xpcs_sample_posterior(problem: Any, start: Any, settings: Any) -> Any:
    """emcee, one ensemble per bin, vectorised log-probability over the walkers."""
    from xpcs_numpy.fitting_emcee import sample_emcee

    return sample_emcee(problem, start, settings)
