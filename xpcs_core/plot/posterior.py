"""Posterior of one q-bin: corner (pair) and trace plots via ArviZ."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError

STYLES = ("corner", "trace")


def posterior_bin(fit: Any, column: int | None = None) -> int:
    """The g2 column of a posterior plot: ``column`` (checked) or the first sampled bin."""
    if getattr(fit, "posterior", None) is None:
        raise XpcsInputError("this fit has no posterior (run a Bayesian fit)")
    cols = [int(c) for c in np.asarray(fit.bin_index)]
    sampled = [c for k, c in enumerate(cols)
               if all(np.isfinite(np.asarray(d)[:, :, k]).all() for d in fit.posterior.draws.values())]
    if column is None:
        if not sampled:
            raise XpcsInputError("no bin of this fit has posterior draws")
        return sampled[0]
    if int(column) not in sampled:
        raise XpcsInputError(f"bin {column} has no posterior draws (sampled bins: {sampled})")
    return int(column)


def posterior_figure(fit: Any, column: int | None = None, style: str = "corner") -> Any:
    """Corner (pair plot with marginals) or trace plot of the posterior of g2 column
    ``column`` (default: the first sampled bin), drawn by ArviZ on a pyplot-free figure.

    Panels: corner n x n for n sampled parameters (the upper triangle hidden); trace n x 2.
    """
    if style not in STYLES:
        raise XpcsInputError(f"posterior plot style must be one of {', '.join(STYLES)}, not {style!r}")
    col = posterior_bin(fit, column)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az

        idata = fit.to_inference_data()
    post = idata.posterior.sel(bin=col)  # one bin: plain parameter names as labels
    with warnings.catch_warnings():  # ArviZ 0.2x calls matplotlib APIs that 3.11 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        fig = _draw(az, post, list(fit.posterior.draws), style)
    q = float(np.asarray(fit.q)[list(np.asarray(fit.bin_index)).index(col)])
    fig.suptitle(f"posterior of bin {col} (q = {q:.4g} Å⁻¹), {fit.posterior.sampler}", fontsize=10)
    return fig


def _draw(az: Any, post: Any, names: list[str], style: str) -> Any:
    from matplotlib.figure import Figure

    n = len(names)
    if style == "trace":
        fig = Figure(figsize=(9.0, 1.9 * n + 0.6), layout="constrained")
        axes = fig.subplots(n, 2, squeeze=False)
        az.plot_trace(post, var_names=names, axes=axes, compact=False, show=False)
        return fig
    fig = Figure(figsize=(2.3 * n + 0.8, 2.3 * n + 0.6), layout="constrained")
    axes = fig.subplots(n, n, squeeze=False)
    if n == 1:
        az.plot_posterior(post, var_names=names, ax=axes[0, 0], show=False, textsize=9)
        return fig
    az.plot_pair(post, var_names=names, kind="scatter", marginals=True, ax=axes, textsize=9,
                 scatter_kwargs={"alpha": 0.3, "s": 3}, show=False)
    for i in range(n):
        for j in range(i + 1, n):
            axes[i, j].set_visible(False)
    return fig
