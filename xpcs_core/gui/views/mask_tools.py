"""Mask editing for the Q-map tab: interactive pyqtgraph ROIs turned into regions of
:mod:`xpcs_core.masks` and kept as steps of a :class:`~xpcs_core.masks.MaskBuilder`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg

from xpcs_core import masks
from xpcs_core.errors import XpcsInputError

SHAPES = ("rectangle", "circle", "polygon")
MODES = ("exclude", "include")
ROI_PEN = pg.mkPen("#d62728", width=2)


class MaskEditor:
    """The mask being edited: the file's mask as first step, then shapes, rings,
    thresholds and blemish maps (each one undoable)."""

    def __init__(self, shape: Sequence[int], file_mask: np.ndarray | None = None) -> None:
        self.builder = masks.MaskBuilder(shape)
        if file_mask is not None:
            self.builder.intersect(np.asarray(file_mask) != 0, "file mask")
        self.rois: list[tuple[str, pg.ROI]] = []

    @property
    def shape(self) -> tuple[int, int]:
        return self.builder.shape

    def mask(self) -> np.ndarray:
        return self.builder.to_array()

    def steps(self) -> list[str]:
        return [f"{s.op} {s.label}" for s in self.builder.steps]

    # ---------------------------------------------------------- regions
    def region(self, kind: str, params: Sequence[Any], maps: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The bool region of ``kind``: rectangle (x0, y0, x1, y1), circle (cx, cy, r),
        polygon ([(x, y), ...]) or ring (q_low, q_high; needs the q map). x = column, y = row."""
        if kind == "rectangle":
            return masks.rectangle(self.shape, *params)
        if kind == "circle":
            return masks.circle(self.shape, *params)
        if kind == "polygon":
            return masks.polygon(self.shape, params)
        if kind == "ring":
            if maps is None or "q" not in maps:
                raise XpcsInputError("the q map is not computed yet; try again in a moment")
            return masks.ring(maps["q"], *params)
        raise XpcsInputError(f"unknown mask shape {kind!r}; use rectangle, circle, polygon or ring")

    def add(self, kind: str, params: Sequence[Any], mode: str = "exclude",
            maps: dict[str, np.ndarray] | None = None) -> None:
        """Exclude (subtract) or include (add) a region."""
        region = self.region(kind, params, maps)
        label = f"{kind} {_short(params)}"
        if mode == "exclude":
            self.builder.subtract(region, label)
        elif mode == "include":
            self.builder.add(region, label)
        else:
            raise XpcsInputError(f"mask mode must be exclude or include, not {mode!r}")

    def threshold(self, image: np.ndarray | None, low: float | None, high: float | None) -> None:
        if image is None:
            raise XpcsInputError("no SAXS 2D image to threshold")
        if low is None and high is None:
            raise XpcsInputError("give a lower and/or an upper threshold")
        self.builder.threshold(image, low, high)

    def blemish(self, source: Any) -> None:
        self.builder.blemish(source)

    def undo(self) -> None:
        if len(self.builder.steps) > 1 or (self.builder.steps and self.builder.steps[0].label != "file mask"):
            self.builder.undo()

    # ---------------------------------------------------------- interactive ROIs
    def new_roi(self, kind: str) -> pg.ROI:
        """An interactive ROI in the middle of the detector (view coords = pixels)."""
        h, w = self.shape
        cx, cy, s = w / 2, h / 2, min(h, w) / 6
        if kind == "rectangle":
            roi = pg.RectROI([cx - s, cy - s], [2 * s, 2 * s], pen=ROI_PEN)
        elif kind == "circle":
            roi = pg.CircleROI([cx - s, cy - s], [2 * s, 2 * s], pen=ROI_PEN)
        elif kind == "polygon":
            roi = pg.PolyLineROI([[cx - s, cy - s], [cx + s, cy - s], [cx, cy + s]], closed=True, pen=ROI_PEN)
        else:
            raise XpcsInputError(f"unknown ROI shape {kind!r}")
        self.rois.append((kind, roi))
        return roi

    @staticmethod
    def roi_params(kind: str, roi: pg.ROI) -> list[Any]:
        """Region parameters (pixel-centre coordinates) of an interactive ROI; the view
        shows pixel (row r, column c) over [c, c+1) x [r, r+1), so centres are at +0.5."""
        pos, size = roi.pos(), roi.size()
        x0, y0 = pos.x() - 0.5, pos.y() - 0.5
        if kind == "rectangle":
            return [x0, y0, x0 + size.x(), y0 + size.y()]
        if kind == "circle":
            r = size.x() / 2
            return [x0 + r, y0 + size.y() / 2, r]
        pts = [roi.mapToParent(h["pos"]) for h in roi.handles]
        return [(p.x() - 0.5, p.y() - 0.5) for p in pts]

    def apply_rois(self, mode: str) -> list[pg.ROI]:
        """Turn every open ROI into a mask step; returns the ROIs (to remove from the view)."""
        done = []
        for kind, roi in self.rois:
            self.add(kind, self.roi_params(kind, roi), mode)
            done.append(roi)
        self.rois.clear()
        return done


def _short(params: Sequence[Any]) -> str:
    flat = np.asarray(params, dtype=np.float64).reshape(-1)
    text = ", ".join(f"{v:.4g}" for v in flat[:6])
    return f"({text}{', ...' if flat.size > 6 else ''})"
