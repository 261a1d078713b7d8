"""What to draw, independent of the drawing library: the shared preparation layer.

The pyqtgraph views of the viewer and the matplotlib figures of :mod:`xpcs_core.plot`
both draw what the functions of this package return (curves, bands, images, ranges),
so the two never disagree. Only NumPy (and SciPy where noted) is used here.

Common pieces: :class:`Curve`, :class:`Band`, :class:`Panel`, :class:`Image2D`, the
colour :data:`PALETTE`, bin selection (:func:`select_bins`), image downsampling
(:func:`downsample`) and colour levels (:func:`color_levels`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError

#: colours of successive files / series (matplotlib's tab10), used by both renderers
PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
#: colour of fitted curves and posterior bands
FIT_COLOR = "#000000"
BAND_ALPHA = 0.25
#: largest side of an image sent to the screen or a figure (larger ones are block-averaged)
MAX_IMAGE_SIDE = 1024
#: default number of g2 panels drawn at once
MAX_PANELS = 16
#: colour-range presets: name -> (low, high) percentiles of the finite pixels
PERCENTILE_PRESETS: dict[str, tuple[float, float]] = {
    "min-max": (0.0, 100.0),
    "99.9%": (0.05, 99.95),
    "99.5%": (0.25, 99.75),
    "99%": (0.5, 99.5),
    "98%": (1.0, 99.0),
    "95%": (2.5, 97.5),
}
A_INV = "Å⁻¹"


def color(i: int) -> str:
    """Colour of series ``i`` (cycling through :data:`PALETTE`)."""
    return PALETTE[i % len(PALETTE)]


@dataclass
class Curve:
    """One series: points with optional error bars, or a line (``style="line"``)."""

    x: np.ndarray
    y: np.ndarray
    err: np.ndarray | None = None
    label: str = ""
    color: str = PALETTE[0]
    style: str = "points"  # "points" | "line" | "dashed"


@dataclass
class Band:
    """A shaded band between ``lo`` and ``hi`` (e.g. a 95 % posterior interval)."""

    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    label: str = ""
    color: str = FIT_COLOR


@dataclass
class Panel:
    """One plot: curves, bands, axis labels and ranges (None = automatic)."""

    title: str = ""
    curves: list[Curve] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    xlabel: str = ""
    ylabel: str = ""
    x_log: bool = False
    y_log: bool = False
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    text: str = ""
    text_loc: str = "upper right"  # or "lower left"
    key: int | None = None  # e.g. the 0-based g2 column shown

    def is_empty(self) -> bool:
        return not any(np.isfinite(c.y).any() for c in self.curves)


@dataclass
class Image2D:
    """An image ready for display.

    ``data`` (rows, cols) is the (possibly block-averaged, possibly log10) image;
    ``step`` the block size, so display pixel (r, c) covers full-resolution rows
    ``r*step .. r*step+step-1``; ``levels`` the colour range in ``data``'s units;
    ``extent`` (x0, x1, y0, y1) of the image in its axis units (pixels by default).
    """

    data: np.ndarray
    step: int = 1
    levels: tuple[float, float] = (0.0, 1.0)
    log: bool = False
    extent: tuple[float, float, float, float] | None = None
    label: str = ""
    cmap: str = "viridis"
    xlabel: str = "column"
    ylabel: str = "row"
    full_shape: tuple[int, int] = (0, 0)


def name_of(source: Any) -> str:
    """A short name of a result (its file name)."""
    path = getattr(source, "path", None)
    return os.path.basename(str(path)) if path is not None else "result"


def as_list(sources: Any) -> list[Any]:
    """One source or a sequence of them, as a list."""
    if isinstance(sources, list | tuple):
        return list(sources)
    return [sources]


def bin_label(q: float, phi: float | None = None) -> str:
    """Panel title of a bin: ``q = 0.00324 Å⁻¹`` (and ``φ = 45°``)."""
    text = f"q = {q:.4g} {A_INV}" if np.isfinite(q) else "q = ?"
    if phi is not None and np.isfinite(phi):
        text += f", φ = {phi:.3g}°"
    return text


def select_bins(
    q: np.ndarray,
    *,
    bins: Sequence[int] | None = None,
    q_range: tuple[float | None, float | None] | None = None,
    max_panels: int | None = MAX_PANELS,
) -> np.ndarray:
    """0-based columns to draw: ``bins`` when given (checked), else the bins with finite q
    inside ``q_range``; more than ``max_panels`` are thinned to evenly spaced ones."""
    q = np.asarray(q, dtype=np.float64).reshape(-1)
    n = q.size
    if bins is not None:
        chosen = np.asarray(list(bins), dtype=np.int64).reshape(-1)
        bad = chosen[(chosen < 0) | (chosen >= n)]
        if bad.size:
            raise XpcsInputError(f"bin {int(bad[0])} does not exist (there are {n} bins, 0..{n - 1})")
        return chosen
    keep = np.isfinite(q)
    if q_range is not None:
        lo, hi = q_range
        if lo is not None:
            keep &= q >= lo
        if hi is not None:
            keep &= q <= hi
    chosen = np.flatnonzero(keep)
    if max_panels is not None and max_panels > 0 and chosen.size > max_panels:
        pick = np.unique(np.round(np.linspace(0, chosen.size - 1, max_panels)).astype(np.int64))
        chosen = chosen[pick]
    return chosen


def parse_bins(text: str, n: int) -> list[int] | None:
    """Parse ``"0-3, 7, 9"`` (0-based, inclusive ranges) into columns; empty text: None."""
    text = text.strip()
    if not text:
        return None
    out: list[int] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                a, b = part.split("-", 1) if not part.startswith("-") else (part, part)
                out.extend(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise XpcsInputError(f"bins: cannot read {part!r} (use e.g. 0-3, 7)") from None
    select_bins(np.zeros(n), bins=out)  # range check
    return out


def grid_shape(n: int, max_cols: int = 4) -> tuple[int, int]:
    """(rows, cols) of a grid of ``n`` panels."""
    if n <= 0:
        return (1, 1)
    cols = min(max_cols, max(1, math.ceil(math.sqrt(n))))
    return (math.ceil(n / cols), cols)


def downsample(image: np.ndarray, max_side: int = MAX_IMAGE_SIDE) -> tuple[np.ndarray, int]:
    """Block-average ``image`` so that neither side exceeds ``max_side``; returns (image, step).

    NaN pixels are ignored within a block (a block of only NaN stays NaN).
    """
    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape
    step = max(1, math.ceil(max(h, w) / max(1, max_side)))
    if step == 1:
        return img, 1
    hh, ww = math.ceil(h / step) * step, math.ceil(w / step) * step
    padded = np.full((hh, ww), np.nan)
    padded[:h, :w] = img
    blocks = padded.reshape(hh // step, step, ww // step, step)
    finite = np.isfinite(blocks)
    total = np.where(finite, blocks, 0.0).sum(axis=(1, 3))
    count = finite.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out, step


def downsample_labels(labels: np.ndarray, max_side: int = MAX_IMAGE_SIDE) -> tuple[np.ndarray, int]:
    """Subsample a label map (labels cannot be averaged): every ``step``-th pixel."""
    h, w = labels.shape
    step = max(1, math.ceil(max(h, w) / max(1, max_side)))
    return np.asarray(labels)[::step, ::step], step


def color_levels(
    data: np.ndarray,
    *,
    percentiles: tuple[float, float] | str | None = "99.5%",
    levels: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """Colour range of ``data``: manual ``levels`` win, else the percentiles (a preset
    name of :data:`PERCENTILE_PRESETS` or a (low, high) pair) of the finite values."""
    if levels is not None:
        lo, hi = float(levels[0]), float(levels[1])
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
            raise XpcsInputError(f"colour range: need low < high, got {lo:g}, {hi:g}")
        return lo, hi
    if isinstance(percentiles, str):
        try:
            percentiles = PERCENTILE_PRESETS[percentiles]
        except KeyError:
            raise XpcsInputError(
                f"colour range preset {percentiles!r} unknown; use one of {', '.join(PERCENTILE_PRESETS)}"
            ) from None
    p_lo, p_hi = percentiles or (0.0, 100.0)
    finite = np.asarray(data)[np.isfinite(data)]
    if finite.size > 1_000_000:  # percentiles of a large image: a regular subsample is enough
        finite = finite[:: finite.size // 1_000_000]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, [p_lo, p_hi]))
    if hi <= lo:
        hi = lo + (abs(lo) * 1e-6 or 1.0)
    return lo, hi


def log_image(image: np.ndarray) -> np.ndarray:
    """log10 of an image; zero and negative pixels become NaN."""
    img = np.asarray(image, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(img > 0, np.log10(np.where(img > 0, img, 1.0)), np.nan)


def decimate(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Block means of (x, y) so at most ``max_points`` remain (for long time series)."""
    n = x.size
    if max_points <= 0 or n <= max_points:
        return x, y
    step = math.ceil(n / max_points)
    m = (n // step) * step
    xs = x[:m].reshape(-1, step).mean(axis=1)
    ys = y[:m].reshape(-1, step).mean(axis=1)
    return xs, ys


def auto_range(
    values: Sequence[np.ndarray], *, log: bool = False, pad: float = 0.05,
    percentiles: tuple[float, float] = (0.0, 100.0),
) -> tuple[float, float] | None:
    """A padded (low, high) range over the finite values of several arrays (positive only
    for ``log``); None when there is nothing finite."""
    parts = [np.asarray(v, dtype=np.float64).reshape(-1) for v in values if v is not None]
    allv = np.concatenate(parts) if parts else np.zeros(0)
    allv = allv[np.isfinite(allv)]
    if log:
        allv = allv[allv > 0]
    if allv.size == 0:
        return None
    lo, hi = (float(v) for v in np.percentile(allv, percentiles))
    if log:
        llo, lhi = math.log10(lo), math.log10(hi)
        span = (lhi - llo) or 1.0
        return 10 ** (llo - pad * span), 10 ** (lhi + pad * span)
    span = (hi - lo) or (abs(hi) * 0.1 or 1.0)
    return lo - pad * span, hi + pad * span
