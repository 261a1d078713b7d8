"""``figure(kind, ...)`` and ``save_figure(kind, ...)``: one entry point for every figure
(used by ``--plot FILE.png|.pdf|.svg`` of the CLI)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xpcs_core.errors import XpcsInputError

FORMATS = (".png", ".pdf", ".svg")
KINDS = ("overview", "g2", "fit", "tauq", "saxs2d", "saxs1d", "stability", "intensity", "twotime",
         "posterior")
"""Figure kinds and their panels: overview (one per item the file holds: SAXS 2D, SAXS 1D,
I(t), g2 or C2), g2 (one per selected bin), fit (g2 bins + tau(q)), tauq (1), saxs2d (1),
saxs1d (1), stability (1), intensity (2: I(t), FFT), twotime (2: C2, g2), posterior
(corner n x n or trace n x 2 for n parameters)."""


def _is_path(obj: Any) -> bool:
    return isinstance(obj, str | bytes) or hasattr(obj, "__fspath__")


def _is_fit(obj: Any) -> bool:
    return hasattr(obj, "bin_index") and hasattr(obj, "model") and hasattr(obj, "values")


def _builders() -> dict[str, Callable[..., Any]]:
    from xpcs_core.plot import figures as f
    from xpcs_core.plot.posterior import posterior_figure

    return {
        "overview": lambda src, fit, **o: f.overview_figure(src, fit, **o),
        "g2": lambda src, fit, **o: f.g2_figure(src, fit, **o),
        "fit": lambda src, fit, **o: f.fit_figure(src, _need_fit(fit, "fit"), **o),
        "tauq": lambda src, fit, **o: f.tauq_figure(_need_fit(fit, "tauq"), **o),
        "saxs2d": lambda src, fit, **o: f.saxs2d_figure(src, **o),
        "saxs1d": lambda src, fit, **o: f.saxs1d_figure(src, **o),
        "stability": lambda src, fit, **o: f.stability_figure(src, **o),
        "intensity": lambda src, fit, **o: f.intensity_figure(src, **o),
        "twotime": lambda src, fit, **o: f.twotime_figure(src, **o),
        "posterior": lambda src, fit, **o: posterior_figure(_need_fit(fit, "posterior"), **o),
    }


def _need_fit(fit: Any, kind: str) -> Any:
    if fit is None:
        raise XpcsInputError(f"a {kind!r} figure needs a fit result (pass fit=...)")
    return fit


def figure(kind: str, source: Any = None, *, fit: Any = None, **options: Any) -> Any:
    """Build the matplotlib figure ``kind`` (see :data:`KINDS`).

    ``source``: a result-file path, an opened :class:`~xpcs_core.XpcsResult`, a list of
    them (g2, saxs1d overlay several files) or, for ``tauq``/``posterior``, a
    :class:`~xpcs_core.FitResult`. ``fit``: the FitResult drawn on g2/fit/overview
    figures (its ``provenance["source"]`` file is opened when ``source`` is None or the
    fit itself). ``options`` go to the figure function (e.g. ``bins``, ``q_range``,
    ``max_panels``, ``every``, ``y_range`` for g2; ``log``, ``percentiles``, ``levels``
    for saxs2d; ``label``, ``smooth`` for twotime; ``column``, ``style`` (corner/trace) for posterior).
    """
    builders = _builders()
    if kind not in builders:
        raise XpcsInputError(f"unknown figure kind {kind!r}; choose from {', '.join(KINDS)}")
    if _is_fit(source):
        fit, source = (source if fit is None else fit), None
    if source is None and fit is not None and kind not in ("tauq", "posterior"):
        source = fit.provenance.get("source")
    if source is None and kind not in ("tauq", "posterior"):
        raise XpcsInputError(f"a {kind!r} figure needs a result file")
    opened: list[Any] = []
    try:
        srcs = source if isinstance(source, list | tuple) else [source]
        resolved = []
        for s in srcs:
            if _is_path(s):
                from xpcs_core.io.result import open_result

                s = open_result(s)
                opened.append(s)
            resolved.append(s)
        src = resolved if isinstance(source, list | tuple) else resolved[0]
        return builders[kind](src, fit, **options)
    finally:
        for r in opened:
            r.close()


def save_figure(kind: str, source: Any, path: str | os.PathLike[str], *, fit: Any = None,
                dpi: int = 120, **options: Any) -> Path:
    """Write figure ``kind`` of ``source`` (and ``fit``) to ``path`` (.png, .pdf or .svg),
    atomically; returns the path. Arguments as for :func:`figure`.

    Raises XpcsInputError for an unknown kind or suffix, a missing output directory, or
    a source without the data the figure needs.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise XpcsInputError(f"{target}: plot files must end in {', '.join(FORMATS)}")
    fig = figure(kind, source, fit=fit, **options)
    from xpcs_core.io.atomic import atomic_path

    with atomic_path(target, suffix=".tmp" + suffix) as tmp:
        fig.savefig(tmp, format=suffix[1:], dpi=dpi)
    return target
