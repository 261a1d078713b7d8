"""Figures of XPCS results: what to draw (:mod:`xpcs_core.plot.prepare`, ``g2``, ``saxs``)
and matplotlib figures of it (:mod:`xpcs_core.plot.figures`, ``posterior``).

The viewer's pyqtgraph views draw the same prepared curves, bands and images, so a
figure and the viewer never disagree. Importing this package is cheap: matplotlib and
ArviZ are imported when a figure is made.

>>> import xpcs_core.plot as xp                                  # doctest: +SKIP
>>> fig = xp.figure("g2", "result.h5", max_panels=9)             # doctest: +SKIP
>>> xp.save_figure("fit", "result.h5", "fit.pdf", fit=fit)       # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "figure": "xpcs_core.plot.save",
    "save_figure": "xpcs_core.plot.save",
    "KINDS": "xpcs_core.plot.save",
    "panels": "xpcs_core.plot.figures",
    "g2_figure": "xpcs_core.plot.figures",
    "fit_figure": "xpcs_core.plot.figures",
    "tauq_figure": "xpcs_core.plot.figures",
    "saxs2d_figure": "xpcs_core.plot.figures",
    "saxs1d_figure": "xpcs_core.plot.figures",
    "stability_figure": "xpcs_core.plot.figures",
    "intensity_figure": "xpcs_core.plot.figures",
    "twotime_figure": "xpcs_core.plot.figures",
    "overview_figure": "xpcs_core.plot.figures",
    "posterior_figure": "xpcs_core.plot.posterior",
    "g2_grid": "xpcs_core.plot.g2",
    "tauq_panel": "xpcs_core.plot.g2",
    "twotime_view": "xpcs_core.plot.g2",
    "saxs2d_image": "xpcs_core.plot.saxs",
    "saxs1d_panel": "xpcs_core.plot.saxs",
    "stability_panel": "xpcs_core.plot.saxs",
    "intensity_panels": "xpcs_core.plot.saxs",
    "label_image": "xpcs_core.plot.saxs",
    "select_bins": "xpcs_core.plot.prepare",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xpcs_core.plot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
