"""Posterior sampling on NumPy: emcee, one ensemble per q-bin (:mod:`xpcs_numpy._emcee`)."""

from __future__ import annotations

from typing import Any

from xpcs_core.hookspecs import hookimpl

__all__ = ["xpcs_sample_posterior"]


@hookimpl
def xpcs_sample_posterior(problem: Any, start: Any, settings: Any) -> Any:
    """emcee, one ensemble per bin, vectorised log-probability over the walkers."""
    from xpcs_numpy._emcee import sample_emcee

    return sample_emcee(problem, start, settings)
