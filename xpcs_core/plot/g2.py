"""What to draw for g2 (grid of q-bins, fits, posterior bands), tau(q) and two-time maps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError
from xpcs_core.plot.prepare import (
    A_INV,
    FIT_COLOR,
    MAX_PANELS,
    Band,
    Curve,
    Image2D,
    Panel,
    as_list,
    auto_range,
    bin_label,
    color,
    color_levels,
    downsample,
    name_of,
    select_bins,
)

#: central posterior interval drawn as a band
BAND_LEVEL = 0.95
#: posterior draws evaluated per band
BAND_DRAWS = 200
#: points of a fitted curve
CURVE_POINTS = 120


@dataclass
class G2Grid:
    """A grid of g2 panels (one per selected bin) with one legend for the whole view."""

    panels: list[Panel]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (label, colour)
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    bins: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_bins: int = 0
    message: str = ""


def _fits_for(sources: list[Any], fits: Any) -> list[Any]:
    if fits is None:
        return [None] * len(sources)
    if isinstance(fits, list | tuple):
        out = list(fits) + [None] * (len(sources) - len(fits))
        return out[: len(sources)]
    if isinstance(fits, dict):
        return [fits.get(str(getattr(s, "path", i)), fits.get(i)) for i, s in enumerate(sources)]
    return [fits] + [None] * (len(sources) - 1)


def fit_row(fit: Any, column: int) -> int | None:
    """Row of a FitResult holding g2 column ``column`` (None if not fitted)."""
    if fit is None:
        return None
    rows = np.flatnonzero(np.asarray(fit.bin_index) == column)
    if rows.size == 0:
        return None
    row = int(rows[0])
    return row if bool(fit.success[row]) else None


def fit_curve(fit: Any, row: int, t: np.ndarray) -> np.ndarray:
    """Least-squares model curve of bin ``row`` at delays ``t``."""
    params = {n: fit.values[row, j] for j, n in enumerate(fit.param_names)}
    return np.asarray(fit.model.fn(np, t, params), dtype=np.float64)


def posterior_band(fit: Any, row: int, t: np.ndarray, level: float = BAND_LEVEL,
                   n_draws: int = BAND_DRAWS) -> tuple[np.ndarray, np.ndarray] | None:
    """(lo, hi) central ``level`` interval of the model over posterior draws of bin ``row``."""
    post = getattr(fit, "posterior", None)
    if post is None:
        return None
    params: dict[str, Any] = {}
    n_total = None
    for j, name in enumerate(fit.param_names):
        if name in post.draws:
            d = np.asarray(post.draws[name])[:, :, row].reshape(-1)
            if not np.isfinite(d).all():
                return None
            n_total = d.size
            params[name] = d
        else:
            params[name] = fit.values[row, j]
    if n_total is None:
        return None
    take = np.unique(np.linspace(0, n_total - 1, min(n_draws, n_total)).astype(np.int64))
    p = {k: (v[take][:, None] if isinstance(v, np.ndarray) else v) for k, v in params.items()}
    curves = np.asarray(fit.model.fn(np, t[None, :], p), dtype=np.float64)
    a = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(curves, [a, 100.0 - a], axis=0)
    return lo, hi


def g2_grid(
    sources: Any,
    *,
    fits: Any = None,
    bins: Sequence[int] | None = None,
    q_range: tuple[float | None, float | None] | None = None,
    max_panels: int | None = MAX_PANELS,
    every: int = 1,
    y_range: tuple[float, float] | None = None,
    segments: bool = False,
    errors: bool = True,
    band_level: float = BAND_LEVEL,
) -> G2Grid:
    """Panels of g2(tau) for the selected bins of one or several results.

    ``sources``: results with ``tau``, ``g2``, ``g2_err``, ``dynamic_q`` (and
    ``dynamic_phi``), overlaid by column; ``fits``: a FitResult (of the first source),
    a list aligned with ``sources`` or a {path: FitResult} dict -- their curves and, after
    a Bayesian fit, the ``band_level`` posterior band are drawn. Bins: see
    :func:`~xpcs_core.plot.prepare.select_bins`. ``every``: plot every n-th delay.
    ``segments``: g2 of each time segment of the first source instead of the files.
    """
    srcs = [s for s in as_list(sources) if s is not None and "multitau" in getattr(s, "analysis", ["multitau"])]
    if not srcs:
        return G2Grid(panels=[], message="no multi-tau g2 in the selected files")
    if int(every) < 1:
        raise XpcsInputError(f"every: must be a positive integer, got {every}")
    every = int(every)
    first = srcs[0]
    q = np.asarray(first.dynamic_q, dtype=np.float64)
    phi = getattr(first, "dynamic_phi", None)
    chosen = select_bins(q, bins=bins, q_range=q_range, max_panels=max_panels)
    fit_list = _fits_for(srcs, fits)
    series: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray | None]] = []
    legend: list[tuple[str, str]] = []
    seg_note = ""
    if segments:
        seg = getattr(first, "g2_segments", None)
        if seg is None:
            seg_note = f"{name_of(first)} holds no g2 per segment; showing the whole run"
        else:
            seg_err = getattr(first, "g2_segments_err", None)
            labels = getattr(first, "g2_segments_labels", None) or [f"segment {i + 1}" for i in range(len(seg))]
            for i in range(seg.shape[0]):
                series.append((str(labels[i]), color(i), first.tau, seg[i], None if seg_err is None else seg_err[i]))
    if not series:
        for i, s in enumerate(srcs):
            err = s.g2_err if errors else None
            series.append((name_of(s), color(i), s.tau, s.g2, err))
    legend = [(label, col) for label, col, *_ in series]
    panels: list[Panel] = []
    all_y: list[np.ndarray] = []
    all_t: list[np.ndarray] = []
    for col in chosen:
        panel = Panel(title=bin_label(q[col], None if phi is None else phi[col]), xlabel="τ [s]",
                      ylabel="g2", x_log=True, key=int(col), text_loc="lower left")
        for label, colr, tau, g2, err in series:
            if col >= g2.shape[1]:
                continue
            t = np.asarray(tau)[::every]
            y = np.asarray(g2)[::every, col]
            e = None if err is None else np.asarray(err)[::every, col]
            panel.curves.append(Curve(t, y, e, label=label, color=colr))
            all_y.append(y)
            all_t.append(t)
        if not segments or seg_note:
            for s, fit in zip(srcs, fit_list, strict=True):
                row = fit_row(fit, int(col))
                if row is None:
                    continue
                t_pos = np.asarray(s.tau)[np.asarray(s.tau) > 0]
                tt = np.geomspace(t_pos.min(), t_pos.max(), CURVE_POINTS)
                band = posterior_band(fit, row, tt, level=band_level)
                if band is not None:
                    panel.bands.append(Band(tt, band[0], band[1], label=f"{band_level:.0%} posterior"))
                panel.curves.append(Curve(tt, fit_curve(fit, row, tt), label=f"{fit.model.name} fit",
                                          color=FIT_COLOR, style="line"))
                tau_name = next((n for n in ("tau", "tau1") if n in fit.param_names), None)
                if tau_name is not None:
                    j = fit.model.index(tau_name)
                    panel.text = f"{tau_name} = {fit.values[row, j]:.3g} ± {fit.errors[row, j]:.2g} s"
        panels.append(panel)
    if any(f is not None for f in fit_list):
        legend.append(("fit", FIT_COLOR))
        if any(getattr(f, "posterior", None) is not None for f in fit_list if f is not None):
            legend.append((f"{band_level:.0%} posterior", FIT_COLOR))
    yr = y_range if y_range is not None else auto_range(all_y, percentiles=(0.5, 99.5))
    xr = auto_range(all_t, log=True, pad=0.02)
    for p in panels:
        p.x_range, p.y_range = xr, yr
    return G2Grid(panels=panels, legend=legend, x_range=xr, y_range=yr, bins=chosen,
                  n_bins=int(q.size), message=seg_note)


# ------------------------------------------------------------------------ tau(q)
def tauq_panel(fit: Any, tauq: Any = None) -> Panel:
    """tau vs q (log-log) with the power laws (alpha free and alpha = 2) and D (and R)."""
    tq = tauq if tauq is not None else getattr(fit, "tauq", None)
    panel = Panel(title="τ(q)", xlabel=f"q [{A_INV}]", ylabel="τ [s]", x_log=True, y_log=True)
    if tq is None:
        if fit is None:
            panel.text = "no fit yet"
            return panel
        name = next((n for n in ("tau", "tau1") if n in fit.param_names), None)
        if name is None:
            panel.text = f"model {fit.model.name!r} has no relaxation time"
            return panel
        ok = fit.success & np.isfinite(fit.q)
        panel.curves.append(Curve(fit.q[ok], fit.value(name)[ok], fit.error(name)[ok], label=name))
        panel.text = "no tau(q) fit (fewer than 2 usable bins)"
        return panel
    used = np.asarray(tq.used, dtype=bool)
    q, tau, err = np.asarray(tq.q), np.asarray(tq.tau), np.asarray(tq.tau_err)
    panel.curves.append(Curve(q[used], tau[used], err[used], label=f"{tq.param} (used)", color=color(0)))
    if (~used).any():
        rest = ~used & np.isfinite(q) & np.isfinite(tau) & (tau > 0)
        panel.curves.append(Curve(q[rest], tau[rest], None, label="not used", color="#999999"))
    q_pos = q[used & (q > 0)]
    if q_pos.size:
        qq = np.geomspace(q_pos.min() / 1.2, q_pos.max() * 1.2, 60)
        b = tq.brownian
        panel.curves.append(Curve(qq, b.a * qq ** -2.0, label="α = 2 (Brownian)", color=FIT_COLOR, style="line"))
        if tq.free is not None:
            f = tq.free
            panel.curves.append(Curve(qq, f.a * qq ** -f.alpha, label=f"α = {f.alpha:.3g} ± {f.alpha_err:.2g}",
                                      color=color(3), style="dashed"))
    panel.text = diffusion_text(tq)
    return panel


def diffusion_text(tq: Any) -> str:
    """``D = 1.00e+05 ± 2e+03 Å²/s (1.000e-03 µm²/s)`` and the radius when known."""
    if tq is None:
        return ""
    lines = [f"D = {tq.D_A2_per_s:.4g} ± {tq.D_A2_per_s_err:.2g} Å²/s",
             f"  = {tq.D_um2_per_s:.4g} ± {tq.D_um2_per_s_err:.2g} µm²/s ({int(np.sum(tq.used))} bins)"]
    if tq.free is not None:
        lines.append(f"α = {tq.free.alpha:.3g} ± {tq.free.alpha_err:.2g}")
    r = tq.radius_m
    if r is not None and math.isfinite(r):
        lines.append(f"R = {r * 1e9:.4g} ± {tq.radius_m_err * 1e9:.2g} nm "
                     f"(T = {tq.temperature:g} K, η = {tq.viscosity:g} Pa·s)")
    return "\n".join(lines)


# ---------------------------------------------------------------------- two-time
@dataclass
class TwotimeView:
    """A C2 map (display image, time axes in s) and g2 from its diagonals."""

    image: Image2D
    g2: Panel
    label: int
    labels: list[int]


def diagonal_g2(c2: np.ndarray) -> np.ndarray:
    """Mean of each diagonal k = 0..n-1 of a square C2 map."""
    n = c2.shape[0]
    return np.array([np.nanmean(np.diagonal(c2, k)) for k in range(n)])


def twotime_view(
    source: Any,
    label: int | None = None,
    *,
    smooth: float = 0.0,
    percentiles: tuple[float, float] | str | None = "99%",
    levels: tuple[float, float] | None = None,
    max_side: int = 1024,
) -> TwotimeView:
    """The C2 map of dynamic ``label`` (default: the first stored one), optionally
    Gaussian-smoothed by ``smooth`` frames (display only), and g2 from its diagonals
    (the stored ``c2_g2`` column when present, else computed from the raw map)."""
    if "twotime" not in getattr(source, "analysis", []):
        raise XpcsInputError(f"{getattr(source, 'path', 'result')}: the file holds no two-time results")
    labels = [int(b) for b in source.twotime_bins]
    label = labels[0] if label is None else int(label)
    c2 = np.asarray(source.c2(label), dtype=np.float64)
    n = c2.shape[0]
    dt = source.frame_time * source.twotime_stride_frame * source.twotime_avg_frame
    shown = c2
    if smooth and smooth > 0:
        from scipy.ndimage import gaussian_filter

        shown = gaussian_filter(c2, float(smooth), mode="nearest")
    img, step = downsample(shown, max_side)
    lv = color_levels(img, percentiles=percentiles, levels=levels)
    image = Image2D(img, step=step, levels=lv, extent=(0.0, n * dt, 0.0, n * dt),
                    label=f"C2, bin {label}", xlabel="t₁ [s]", ylabel="t₂ [s]", full_shape=(n, n),
                    cmap="plasma")
    stored = getattr(source, "twotime_g2", None)
    if stored is not None and stored.shape[0] == n:
        g = np.asarray(stored)[:, labels.index(label)]
    else:
        g = diagonal_g2(c2)
    tau = np.arange(n) * dt
    q = np.asarray(source.dynamic_q)
    title = bin_label(q[label - 1]) if 0 < label <= q.size else f"bin {label}"
    panel = Panel(title=f"g2 from C2 diagonals, {title}", xlabel="τ [s]", ylabel="g2", x_log=True,
                  curves=[Curve(tau[1:], g[1:], label=f"bin {label}", style="points")])
    panel.y_range = auto_range([g[1:]], percentiles=(0.5, 99.5))
    return TwotimeView(image=image, g2=panel, label=label, labels=labels)
