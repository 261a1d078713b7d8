"""The viewer's tabs, one module each, in the order they appear."""

from __future__ import annotations

from xpcs_core.gui.views.average import AverageView
from xpcs_core.gui.views.diffusion import DiffusionView
from xpcs_core.gui.views.fit import FitView
from xpcs_core.gui.views.g2 import G2View
from xpcs_core.gui.views.intensity import IntensityView
from xpcs_core.gui.views.metadata import MetadataView
from xpcs_core.gui.views.qmap import QmapView
from xpcs_core.gui.views.saxs1d import Saxs1DView
from xpcs_core.gui.views.saxs2d import Saxs2DView
from xpcs_core.gui.views.stability import StabilityView
from xpcs_core.gui.views.twotime import TwotimeView

VIEW_CLASSES = (
    Saxs2DView, Saxs1DView, StabilityView, IntensityView, G2View, FitView, DiffusionView, TwotimeView,
    QmapView, AverageView, MetadataView,
)

__all__ = ["VIEW_CLASSES"]
