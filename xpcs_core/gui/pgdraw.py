"""Draw the prepared panels and images of :mod:`xpcs_core.plot` with pyqtgraph."""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from xpcs_core.plot.prepare import BAND_ALPHA, Image2D, Panel

pg.setConfigOptions(antialias=False, imageAxisOrder="row-major", background="w", foreground="k")

COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "turbo", "gray")


def _log(v: np.ndarray, on: bool) -> np.ndarray:
    if not on:
        return v
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)


def draw_panel(plot: pg.PlotItem, panel: Panel, *, title: bool = True, small: bool = False) -> None:
    """Replace the content of ``plot`` with ``panel`` (curves, error bars, bands, ranges)."""
    plot.clear()
    plot.disableAutoRange()  # ranges are set once at the end, not after every item
    plot.setLogMode(x=panel.x_log, y=panel.y_log)
    for side in ("bottom", "left"):
        plot.getAxis(side).enableAutoSIPrefix(False)
    for band in panel.bands:
        lo = pg.PlotDataItem(band.x, band.lo, pen=None)
        hi = pg.PlotDataItem(band.x, band.hi, pen=None)
        plot.addItem(lo)
        plot.addItem(hi)
        fill = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(_rgba(band.color, BAND_ALPHA)))
        plot.addItem(fill)
    size = 4 if small else 6
    for c in panel.curves:
        ok = np.isfinite(c.x) & np.isfinite(c.y)
        if panel.x_log:
            ok &= c.x > 0
        if panel.y_log:
            ok &= c.y > 0
        x, y = c.x[ok], c.y[ok]
        if c.style == "points":
            if c.err is not None:
                e = np.where(np.isfinite(c.err[ok]), c.err[ok], 0.0)
                xv, yv = _log(x, panel.x_log), _log(y, panel.y_log)
                if panel.y_log:
                    top = _log(y + e, True) - yv
                    bottom = yv - _log(np.where(y - e > 0, y - e, y), True)
                else:
                    top = bottom = e
                plot.addItem(pg.ErrorBarItem(x=xv, y=yv, top=top, bottom=bottom, beam=0,
                                             pen=pg.mkPen(c.color, width=1)))
            plot.plot(x, y, pen=None, symbol="o", symbolSize=size, symbolBrush=c.color,
                      symbolPen=None, name=c.label or None)
        else:
            style = {"dashed": pg.QtCore.Qt.PenStyle.DashLine}.get(c.style, pg.QtCore.Qt.PenStyle.SolidLine)
            plot.plot(x, y, pen=pg.mkPen(c.color, width=2 if not small else 1.5, style=style), name=c.label or None)
    if title:
        plot.setTitle(html.escape(panel.title), size="8pt" if small else "10pt")
    plot.setLabel("bottom", panel.xlabel)
    plot.setLabel("left", panel.ylabel)
    set_ranges(plot, panel)
    if panel.text:
        text = pg.TextItem(panel.text, color="k", anchor=(1, 0) if panel.text_loc == "upper right" else (0, 1))
        plot.addItem(text, ignoreBounds=True)
        vb = plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        if panel.text_loc == "upper right":
            text.setPos(x1, y1)
        else:
            text.setPos(x0, y0)
        plot.xpcs_text = text  # type: ignore[attr-defined]


def set_ranges(plot: pg.PlotItem, panel: Panel) -> None:
    """Apply the panel's x/y ranges (in log10 for log axes), else auto range."""
    vb = plot.getViewBox()
    if panel.x_range is not None:
        lo, hi = panel.x_range
        vb.setXRange(*(_axis(lo, hi, panel.x_log)), padding=0)
    else:
        vb.enableAutoRange(axis="x")
    if panel.y_range is not None:
        lo, hi = panel.y_range
        vb.setYRange(*(_axis(lo, hi, panel.y_log)), padding=0)
    else:
        vb.enableAutoRange(axis="y")


def _axis(lo: float, hi: float, log: bool) -> tuple[float, float]:
    if log:
        return math.log10(max(lo, 1e-300)), math.log10(max(hi, 1e-300))
    return lo, hi


def _rgba(hex_color: str, alpha: float) -> tuple[int, int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), round(alpha * 255)


def colormap(name: str) -> pg.ColorMap:
    """A pyqtgraph colour map by matplotlib name (falls back to viridis)."""
    if name == "gray":
        return pg.ColorMap([0.0, 1.0], [(0, 0, 0), (255, 255, 255)])
    if name == "tab20":
        rng = np.random.default_rng(7)
        colors = rng.integers(40, 255, size=(64, 3))
        return pg.ColorMap(np.linspace(0, 1, 64), [tuple(int(v) for v in c) for c in colors])
    try:
        return pg.colormap.get(name)
    except Exception:
        return pg.colormap.get("viridis")


def draw_image(item: pg.ImageItem, image: Image2D, *, cmap: str | None = None, opacity: float = 1.0) -> None:
    """Show ``image`` in ``item`` so that view coordinates are full-resolution pixels
    (or the image's extent)."""
    item.setImage(image.data, levels=image.levels, autoLevels=False)
    item.setColorMap(colormap(cmap or image.cmap))
    item.setOpacity(opacity)
    if image.extent is not None:
        x0, x1, y0, y1 = image.extent
        item.setRect(QRectF(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)))


def legend_html(entries: list[tuple[str, str]]) -> str:
    """One legend for a whole view, as rich text (● file, — fit, ▮ band)."""
    parts = []
    for label, col in entries:
        mark = "▮" if "posterior" in label else ("—" if label == "fit" else "●")
        parts.append(f'<span style="color:{col}">{mark}</span>&nbsp;{html.escape(label)}')
    return "&nbsp;&nbsp;&nbsp;".join(parts)


def image_plot(widget: pg.GraphicsLayoutWidget | None = None, *, invert_y: bool = True) -> tuple[pg.PlotItem, pg.ImageItem]:
    """A plot with a locked aspect ratio holding one ImageItem."""
    plot = pg.PlotItem()
    plot.setAspectLocked(True)
    if invert_y:
        plot.invertY(True)
    item = pg.ImageItem()
    plot.addItem(item)
    return plot, item

