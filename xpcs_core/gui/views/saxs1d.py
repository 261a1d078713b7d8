"""SAXS-1D tab: I(q) of the selected files per phi bin, q²/q⁴ weighting, log axes, offsets."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg

from xpcs_core.gui.pgdraw import draw_panel
from xpcs_core.gui.views.base import View
from xpcs_core.plot.saxs import WEIGHTINGS, saxs1d_panel


def legend_plot() -> pg.PlotWidget:
    """A plot widget with one legend."""
    widget = pg.PlotWidget()
    widget.getPlotItem().addLegend(offset=(-10, 10), labelTextSize="8pt")
    return widget


def redraw_with_legend(widget: pg.PlotWidget, panel: Any) -> None:
    plot = widget.getPlotItem()
    legend = plot.legend
    draw_panel(plot, panel)
    if legend is not None:
        legend.clear()
        for item in plot.listDataItems():
            name = item.name()
            if name:
                legend.addItem(item, name)


class Saxs1DView(View):
    name = "saxs-1d"
    title = "SAXS-1D"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.weighting = self.add_control("weighting", self.combo(list(WEIGHTINGS)), "weighting")
        self.phi = self.add_control("φ", self.combo(["all"]), None)
        self.offset = self.add_control("offset ×", self.dspin(1.0, 1000.0, 1.0, 0.5), "offset")
        self.log_x = self.add_control(None, self.check("log q", True), "log_x")
        self.log_y = self.add_control(None, self.check("log I", True), "log_y")
        self.end_controls()
        self.plot = legend_plot()
        self.layout_.addWidget(self.plot, 1)
        self.panel = None

    def _phi_items(self, res: Any) -> None:
        import numpy as np

        phi = getattr(res, "static_phi", None) if res is not None else None
        items = ["all"] + ([f"{v:.3g}°" for v in np.unique(phi[np.isfinite(phi)])] if phi is not None else [])
        if [self.phi.itemText(i) for i in range(self.phi.count())] != items:
            self.phi.blockSignals(True)
            self.phi.clear()
            self.phi.addItems(items)
            self.phi.blockSignals(False)

    def update_view(self) -> None:
        sources = self.session.selection
        self._phi_items(sources[0] if sources else None)
        phi = "all" if self.phi.currentIndex() <= 0 else self.phi.currentIndex() - 1
        self.panel = saxs1d_panel(sources, weighting=self.weighting.currentText(), phi=phi,
                                  offset=self.offset.value(), log_x=self.log_x.isChecked(),
                                  log_y=self.log_y.isChecked())
        redraw_with_legend(self.plot, self.panel)
        if self.panel.text:
            self.show_note(self.panel.text)
