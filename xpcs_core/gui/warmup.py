"""Import (and run once, on a tiny problem) the heavy code of Bayesian fits and posterior
plots, off the GUI thread."""

from __future__ import annotations

import importlib
import warnings

import numpy as np

MODULES = (
    "scipy.optimize", "scipy.stats", "scipy.ndimage", "emcee", "arviz", "matplotlib.figure",
    "matplotlib.backends.backend_agg", "xpcs_core.fitting.diagnostics", "xpcs_core.fitting.posterior",
    "xpcs_core.plot.figures", "xpcs_core.plot.posterior",
)


def warm_up(sample: bool = True) -> list[str]:
    """Import :data:`MODULES` (those installed) and, with ``sample``, run a tiny emcee fit
    and draw its corner plot (first calls compile numba kernels of ArviZ). Returns the
    modules imported."""
    done = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in MODULES:
            try:
                importlib.import_module(name)
            except ImportError:
                continue
            done.append(name)
        if sample:
            _tiny_fit()
    return done


def _tiny_fit() -> None:
    import xpcs_core as xc
    from xpcs_core.errors import XpcsError
    from xpcs_core.plot.posterior import posterior_figure

    t = np.geomspace(1e-3, 1.0, 24)
    g2 = 1.0 + 0.2 * np.exp(-2 * t / 0.05)
    try:
        fit = xc.fit_g2(t=t, g2=g2[:, None], g2_err=np.full((24, 1), 0.01), q=np.array([0.01]),
                        bayes=True, chains=8, warmup=4, draws=8, backend="numpy", tauq=False)
        posterior_figure(fit, 0).canvas.draw()
    except (XpcsError, ImportError):  # no numpy backend, or no sampler: nothing to warm
        return
