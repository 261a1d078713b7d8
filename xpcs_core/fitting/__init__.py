"""g2 fitting: models, batched least squares, posteriors, tau(q).

Importing this package imports neither jax, numpyro nor arviz; backends do the
number crunching through the ``xpcs_fit_lsq`` / ``xpcs_sample_posterior`` hooks.
"""

from __future__ import annotations

import importlib
from typing import Any

from xpcs_core.fitting.models import (
    DEFAULT_PRIORS,
    DOUBLE,
    SINGLE,
    STRETCHED,
    G2Model,
    Prior,
    default_bounds,
    get_model,
    list_models,
    register_model,
)
from xpcs_core.fitting.problem import (
    FitProblem,
    FitWarning,
    LsqSolution,
    PosteriorDraws,
    SamplerSettings,
    build_problem,
)

_LAZY = {
    "FitResult": "xpcs_core.fitting.result",
    "fit_g2": "xpcs_core.fitting.api",
    "fit_tauq": "xpcs_core.fitting.tauq",
    "TauQFit": "xpcs_core.fitting.tauq",
    "PowerLawFit": "xpcs_core.fitting.tauq",
    "stored_fits": "xpcs_core.fitting.load",
    "load_fit": "xpcs_core.fitting.load",
}

__all__ = [
    "DEFAULT_PRIORS", "DOUBLE", "SINGLE", "STRETCHED", "FitProblem", "FitWarning", "G2Model", "LsqSolution",
    "PosteriorDraws", "Prior", "SamplerSettings", "build_problem", "default_bounds",
    "get_model", "list_models", "register_model", *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xpcs_core.fitting' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
