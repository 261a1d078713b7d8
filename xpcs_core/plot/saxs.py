"""What to draw for SAXS 2D / 1D, stability (SAXS 1D per segment), intensity vs time
(with its FFT) and the q-map label maps."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError
from xpcs_core.plot.prepare import (
    A_INV,
    MAX_IMAGE_SIDE,
    Curve,
    Image2D,
    Panel,
    as_list,
    auto_range,
    color,
    color_levels,
    decimate,
    downsample,
    downsample_labels,
    log_image,
    name_of,
)

WEIGHTINGS = {"none": 0, "q2": 2, "q4": 4}
#: points of a time series sent to the screen or a figure
MAX_SERIES_POINTS = 4000


def saxs2d_image(
    source: Any,
    *,
    log: bool = True,
    percentiles: tuple[float, float] | str | None = "99.5%",
    levels: tuple[float, float] | None = None,
    max_side: int = MAX_IMAGE_SIDE,
    cmap: str = "viridis",
    image: np.ndarray | None = None,
) -> Image2D:
    """The time-averaged SAXS image, block-averaged to at most ``max_side`` pixels a side.

    ``levels`` (low, high) are in counts (converted to log10 with ``log``); otherwise
    the colour range is set by ``percentiles`` (a preset name or a pair). ``image``
    overrides the source's ``saxs_2d`` (e.g. an already loaded array).
    """
    img = source.saxs_2d if image is None else image
    if img is None:
        raise XpcsInputError(f"{getattr(source, 'path', 'result')}: the file holds no SAXS 2D image")
    full_shape = tuple(np.shape(img))
    small, step = downsample(img, max_side)
    if log:
        small = log_image(small)
        if levels is not None:
            lo, hi = levels
            if lo <= 0 or hi <= 0:
                raise XpcsInputError(f"colour range: logarithmic display needs positive limits, got {lo:g}, {hi:g}")
            levels = (float(np.log10(lo)), float(np.log10(hi)))
    lv = color_levels(small, percentiles=percentiles, levels=levels)
    h, w = full_shape
    return Image2D(small, step=step, levels=lv, log=log, extent=(0.0, float(w), float(h), 0.0),
                   label="log10 I [counts/pixel/frame]" if log else "I [counts/pixel/frame]",
                   cmap=cmap, full_shape=full_shape)  # type: ignore[arg-type]


def label_image(source: Any, which: str = "dynamic", *, max_side: int = MAX_IMAGE_SIDE,
                labels: np.ndarray | None = None) -> Image2D:
    """The dynamic or static label map (0 = unused pixel shown as NaN), or the mask."""
    qmap = source.qmap
    if labels is None:
        if which == "mask":
            labels = np.asarray(qmap.mask, dtype=np.int64)
        elif which in ("dynamic", "static"):
            labels = getattr(qmap, which).labels
        else:
            raise XpcsInputError(f"label map must be dynamic, static or mask, not {which!r}")
    small, step = downsample_labels(np.asarray(labels), max_side)
    data = np.where(small > 0, small, np.nan).astype(np.float64)
    top = float(np.nanmax(data)) if np.isfinite(data).any() else 1.0
    h, w = np.shape(labels)
    return Image2D(data, step=step, levels=(0.0, max(top, 1.0)), extent=(0.0, float(w), float(h), 0.0),
                   label=f"{which} labels" if which != "mask" else "mask (1 = good)", cmap="tab20",
                   full_shape=(h, w))


def pixel_readout(source: Any, row: int, col: int, maps: dict[str, np.ndarray] | None = None) -> str:
    """``I = 1.2, q = 0.0031 Å⁻¹, φ = 12°, row 10, col 20`` for one full-resolution pixel."""
    h, w = source.detector_shape
    if not (0 <= row < h and 0 <= col < w):
        return ""
    parts = []
    img = source.saxs_2d
    if img is not None:
        parts.append(f"I = {img[row, col]:.4g}")
    if maps is not None:
        if "q" in maps:
            parts.append(f"q = {maps['q'][row, col]:.4g} {A_INV}")
        if "phi" in maps:
            parts.append(f"φ = {maps['phi'][row, col]:.1f}°")
    dyn = source.qmap.dynamic.labels[row, col]
    parts.append(f"row {row}, col {col}")
    parts.append(f"dynamic bin {int(dyn)}" if dyn > 0 else "not in a bin")
    return ", ".join(parts)


def _phi_groups(q: np.ndarray, phi: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    """(label, indices sorted by q) of each phi bin (one group without phi)."""
    if phi is None:
        return [("", np.argsort(q, kind="stable"))]
    groups = []
    for value in np.unique(phi[np.isfinite(phi)]):
        idx = np.flatnonzero(phi == value)
        groups.append((f"φ = {value:.3g}°", idx[np.argsort(q[idx], kind="stable")]))
    return groups


def _weight(q: np.ndarray, y: np.ndarray, weighting: str) -> np.ndarray:
    if weighting not in WEIGHTINGS:
        raise XpcsInputError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
    return y * q ** WEIGHTINGS[weighting]


def _ylabel(weighting: str) -> str:
    return {"none": "I [counts/pixel/frame]", "q2": "I·q²", "q4": "I·q⁴"}[weighting]


def saxs1d_panel(
    sources: Any,
    *,
    weighting: str = "none",
    phi: str | int = "all",
    offset: float = 1.0,
    log_x: bool = True,
    log_y: bool = True,
) -> Panel:
    """I(q) of each file (and each phi bin), weighted by q² or q⁴ if asked; file k is
    multiplied by ``offset**k`` (spread on a log axis)."""
    panel = Panel(title="SAXS 1D", xlabel=f"q [{A_INV}]", ylabel=_ylabel(weighting), x_log=log_x, y_log=log_y)
    k = 0
    for i, s in enumerate(as_list(sources)):
        y_all = getattr(s, "saxs_1d", None)
        if y_all is None:
            continue
        q, ph = np.asarray(s.static_q), getattr(s, "static_phi", None)
        groups = _phi_groups(q, ph)
        if phi != "all" and ph is not None:
            groups = [groups[int(phi)]] if 0 <= int(phi) < len(groups) else []
        for label, idx in groups:
            y = _weight(q[idx], np.asarray(y_all)[idx], weighting) * offset**i
            name = name_of(s) + (f" {label}" if label else "")
            panel.curves.append(Curve(q[idx], y, None, label=name, color=color(k), style="line"))
            k += 1
    if not panel.curves:
        panel.text = "no SAXS 1D in the selected files"
    panel.y_range = auto_range([c.y for c in panel.curves], log=log_y)
    return panel


def stability_panel(source: Any, *, weighting: str = "none", relative: bool = False, log_x: bool = True,
                    log_y: bool = True) -> Panel:
    """SAXS 1D of each time segment (phi bins averaged), to spot drifts and damage;
    ``relative``: each segment divided by the mean of all segments (weighting cancels)."""
    panel = Panel(title=f"Stability: SAXS 1D per segment, {name_of(source)}", xlabel=f"q [{A_INV}]",
                  ylabel="I / ⟨I⟩ over segments" if relative else _ylabel(weighting), x_log=log_x,
                  y_log=log_y and not relative)
    seg = getattr(source, "saxs_1d_segments", None)
    if seg is None:
        panel.text = f"{name_of(source)} holds no SAXS 1D per segment"
        return panel
    q = np.asarray(source.static_q)
    uq = np.unique(q[np.isfinite(q)])
    inv = np.searchsorted(uq, q)
    rows = []
    for row in np.asarray(seg):
        ok = np.isfinite(q) & np.isfinite(row)
        sums = np.bincount(inv[ok], weights=row[ok], minlength=uq.size)
        counts = np.bincount(inv[ok], minlength=uq.size)
        with np.errstate(invalid="ignore", divide="ignore"):
            rows.append(sums / counts)
    mean = np.mean(rows, axis=0)
    for i, y in enumerate(rows):
        with np.errstate(invalid="ignore", divide="ignore"):
            shown = y / mean if relative else _weight(uq, y, weighting)
        panel.curves.append(Curve(uq, shown, label=f"segment {i + 1}", color=color(i), style="line"))
    panel.y_range = auto_range([c.y for c in panel.curves], log=panel.y_log)
    return panel


def intensity_panels(source: Any, *, max_points: int = MAX_SERIES_POINTS) -> tuple[Panel, Panel]:
    """Mean intensity vs time and the power spectrum of its fluctuations."""
    name = name_of(source)
    top = Panel(title=f"Intensity vs time, {name}", xlabel="t [s]", ylabel="mean count / pixel / frame")
    bottom = Panel(title="FFT of the intensity", xlabel="f [Hz]", ylabel="power", x_log=True, y_log=True)
    it = getattr(source, "intensity_vs_time", None)
    if it is None:
        top.text = bottom.text = f"{name} holds no intensity vs time"
        return top, bottom
    frames, counts = np.asarray(it[0]), np.asarray(it[1])
    t = frames * float(source.frame_time)
    x, y = decimate(t, counts, max_points)
    top.curves.append(Curve(x, y, label=name, color=color(0), style="line"))
    top.y_range = auto_range([y])
    good = np.isfinite(counts)
    if good.sum() >= 4:
        c = counts[good] - counts[good].mean()
        power = np.abs(np.fft.rfft(c)) ** 2 / c.size
        freq = np.fft.rfftfreq(c.size, d=float(source.frame_time))
        f, p = decimate(freq[1:], power[1:], max_points)
        bottom.curves.append(Curve(f, p, label="power", color=color(1), style="line"))
        bottom.y_range = auto_range([p], log=True)
    return top, bottom
