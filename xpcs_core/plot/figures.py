"""matplotlib figures of results and fits, drawn from the shared preparation layer.

Every function returns a :class:`matplotlib.figure.Figure` made without pyplot (no
GUI backend is touched; safe in scripts, notebooks and worker threads). Panels are
the axes that hold data; colour bars are extra axes labelled ``"<colorbar>"``
(:func:`panels` lists the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xpcs_core.plot.g2 import g2_grid, tauq_panel, twotime_view
from xpcs_core.plot.prepare import BAND_ALPHA, Image2D, Panel, as_list, grid_shape, name_of
from xpcs_core.plot.saxs import intensity_panels, saxs1d_panel, saxs2d_image, stability_panel


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained", dpi=100)


def panels(fig: Any) -> list[Any]:
    """The data axes of a figure (colour bars left out)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_visible()]


def draw_panel(ax: Any, panel: Panel, *, legend: bool = False, small: bool = False) -> None:
    """Draw one prepared :class:`Panel` on matplotlib axes."""
    for band in panel.bands:
        ax.fill_between(band.x, band.lo, band.hi, color=band.color, alpha=BAND_ALPHA, lw=0, label=band.label)
    for c in panel.curves:
        if c.style == "points":
            ok = np.isfinite(c.y) & np.isfinite(c.x)
            err = None if c.err is None else np.where(np.isfinite(c.err), c.err, 0.0)[ok]
            ax.errorbar(c.x[ok], c.y[ok], yerr=err, fmt="o", ms=2.5 if small else 3.5, lw=0.8,
                        color=c.color, label=c.label, capsize=0)
        else:
            ax.plot(c.x, c.y, "--" if c.style == "dashed" else "-", color=c.color, lw=1.2, label=c.label)
    from matplotlib.ticker import NullFormatter

    if panel.x_log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    if panel.y_log:
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())
    if panel.x_range is not None:
        ax.set_xlim(*panel.x_range)
    if panel.y_range is not None:
        ax.set_ylim(*panel.y_range)
    fs = 7 if small else 9
    ax.set_title(panel.title, fontsize=fs + 1)
    ax.set_xlabel(panel.xlabel, fontsize=fs)
    ax.set_ylabel(panel.ylabel, fontsize=fs)
    ax.tick_params(which="both", labelsize=fs - 1)
    if panel.text:
        upper = panel.text_loc == "upper right"
        ax.text(0.97 if upper else 0.03, 0.95 if upper else 0.05, panel.text, transform=ax.transAxes,
                ha="right" if upper else "left", va="top" if upper else "bottom", fontsize=fs - 1,
                bbox={"facecolor": "white", "alpha": 0.7, "lw": 0})
    if legend and panel.curves:
        ax.legend(fontsize=fs - 1, frameon=False)


def draw_image(fig: Any, ax: Any, image: Image2D, *, colorbar: bool = True) -> Any:
    """Draw a prepared :class:`Image2D` (origin at the top left, like the detector view)."""
    art = ax.imshow(image.data, cmap=image.cmap, vmin=image.levels[0], vmax=image.levels[1],
                    extent=image.extent, origin="upper" if image.extent is None or image.extent[2] > image.extent[3]
                    else "lower", interpolation="nearest", aspect="equal")
    ax.set_xlabel(image.xlabel, fontsize=9)
    ax.set_ylabel(image.ylabel, fontsize=9)
    ax.set_title(image.label, fontsize=10)
    if colorbar:
        fig.colorbar(art, ax=ax, shrink=0.85)
    return art


def g2_figure(sources: Any, fits: Any = None, *, extra: int = 0, **options: Any) -> Any:
    """Grid of g2 panels (one per selected bin) with fits and posterior bands; one legend.

    ``options`` are those of :func:`xpcs_core.plot.g2.g2_grid` (bins, q_range,
    max_panels, every, y_range, segments). ``extra`` leaves that many empty panels at
    the end (used by :func:`fit_figure`).
    """
    grid = g2_grid(sources, fits=fits, **options)
    n = len(grid.panels)
    rows, cols = grid_shape(n + extra)
    fig = _figure(2.6 * cols + 0.4, 2.2 * rows + 0.6)
    gs = fig.add_gridspec(rows, cols)
    first = None
    for k, panel in enumerate(grid.panels):
        ax = fig.add_subplot(gs[k // cols, k % cols], sharex=first, sharey=first)
        first = first or ax
        draw_panel(ax, panel, small=True)
        if k + cols < n:  # a panel below shares the axis: no tick labels here
            ax.tick_params(labelbottom=False)
            ax.set_xlabel("")
        if k % cols:
            ax.tick_params(labelleft=False)
            ax.set_ylabel("")
    fig.xpcs_extra_axes = [fig.add_subplot(gs[k // cols, k % cols]) for k in range(n, n + extra)]  # type: ignore[attr-defined]
    if not grid.panels and not extra:
        ax = fig.add_subplot(gs[0, 0])
        ax.text(0.5, 0.5, grid.message or "nothing to draw", ha="center", va="center")
        ax.set_axis_off()
    handles = [_legend_handle(label, col) for label, col in grid.legend]
    if handles:
        fig.legend(handles=handles, loc="outside upper center", ncols=min(5, len(handles)), fontsize=8,
                   frameon=False)
    return fig


def _legend_handle(label: str, col: str) -> Any:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if "posterior" in label:
        return Patch(color=col, alpha=BAND_ALPHA, label=label)
    if label == "fit":
        return Line2D([], [], color=col, lw=1.2, label=label)
    return Line2D([], [], color=col, marker="o", ls="", ms=4, label=label)


def fit_figure(source: Any, fit: Any, **options: Any) -> Any:
    """g2 panels with the fit, plus one tau(q) panel."""
    fig = g2_figure(source, fit, extra=1, **options)
    ax = fig.xpcs_extra_axes[0]
    draw_panel(ax, tauq_panel(fit), legend=True, small=True)
    return fig


def tauq_figure(fit: Any, tauq: Any = None) -> Any:
    """tau vs q with the power laws and D (one panel)."""
    fig = _figure(5.5, 4.2)
    draw_panel(fig.add_subplot(), tauq_panel(fit, tauq), legend=True)
    return fig


def saxs2d_figure(source: Any, **options: Any) -> Any:
    """The SAXS image (log by default) with a colour bar; options of ``saxs2d_image``."""
    image = saxs2d_image(source, **options)
    h, w = image.full_shape
    fig = _figure(6.0, 5.0 * h / max(w, 1) + 0.5)
    draw_image(fig, fig.add_subplot(), image)
    return fig


def saxs1d_figure(sources: Any, **options: Any) -> Any:
    """I(q) of one or several files (options of ``saxs1d_panel``)."""
    fig = _figure(6.0, 4.5)
    draw_panel(fig.add_subplot(), saxs1d_panel(sources, **options), legend=True)
    return fig


def stability_figure(source: Any, **options: Any) -> Any:
    """SAXS 1D per time segment."""
    fig = _figure(6.0, 4.5)
    draw_panel(fig.add_subplot(), stability_panel(source, **options), legend=True)
    return fig


def intensity_figure(source: Any, **options: Any) -> Any:
    """Intensity vs time and its FFT (two panels)."""
    top, bottom = intensity_panels(source, **options)
    fig = _figure(7.0, 5.5)
    a, b = fig.subplots(2, 1)
    draw_panel(a, top)
    draw_panel(b, bottom)
    return fig


def twotime_figure(source: Any, label: int | None = None, **options: Any) -> Any:
    """The C2 map of one bin and g2 from its diagonals (two panels)."""
    view = twotime_view(source, label, **options)
    fig = _figure(10.0, 4.5)
    a, b = fig.subplots(1, 2)
    draw_image(fig, a, view.image)
    draw_panel(b, view.g2)
    return fig


def overview_figure(source: Any, fit: Any = None, *, bins: Sequence[int] | None = None) -> Any:
    """What one file holds, one panel each: SAXS 2D, SAXS 1D, intensity vs time, and g2 of
    a few bins overlaid (with their fits) or, for two-time only, the first C2 map."""
    src = as_list(source)[0]
    jobs: list[tuple[str, Any]] = []
    if getattr(src, "saxs_2d", None) is not None:
        jobs.append(("image", saxs2d_image(src)))
    if getattr(src, "saxs_1d", None) is not None:
        jobs.append(("panel", saxs1d_panel(src)))
    if getattr(src, "intensity_vs_time", None) is not None:
        jobs.append(("panel", intensity_panels(src)[0]))
    if "multitau" in src.analysis:
        grid = g2_grid(src, fits=fit, bins=bins, max_panels=6)
        merged = Panel(title=f"g2, {name_of(src)}", xlabel="τ [s]", ylabel="g2", x_log=True,
                       x_range=grid.x_range, y_range=grid.y_range)
        for i, p in enumerate(grid.panels):
            for c in p.curves:
                c.color = _cycle(i)
                c.label = p.title if c.style == "points" else ""
                merged.curves.append(c)
        jobs.append(("panel", merged))
    elif "twotime" in src.analysis:
        jobs.append(("image", twotime_view(src).image))
    rows, cols = grid_shape(len(jobs), max_cols=2)
    fig = _figure(6.0 * cols, 4.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).reshape(-1)
    for ax, (kind, item) in zip(axes, jobs, strict=False):
        if kind == "image":
            draw_image(fig, ax, item)
        else:
            draw_panel(ax, item, legend=True)
    for ax in axes[len(jobs):]:
        ax.set_visible(False)
    fig.suptitle(name_of(src))
    return fig


def _cycle(i: int) -> str:
    from xpcs_core.plot.prepare import color

    return color(i)
