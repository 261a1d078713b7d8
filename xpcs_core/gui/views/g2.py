"""g2 tab: a grid of q-bins with error bars, fit curves and 95 % posterior bands; y-range
control, every n-th point, one legend; g2 per time segment."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QLineEdit, QScrollArea

from xpcs_core.gui.pgdraw import draw_panel, legend_html
from xpcs_core.gui.views.base import View
from xpcs_core.plot.g2 import G2Grid, g2_grid
from xpcs_core.plot.prepare import grid_shape, parse_bins, select_bins

PANEL_HEIGHT = 190


class G2View(View):
    name = "g2"
    title = "g2"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.q_min = self.add_control("q", self.number_edit("min", 70), "q_min")
        self.q_max = self.add_control("–", self.number_edit("max", 70), "q_max")
        self.max_panels = self.add_control("panels", self.spin(1, 100, 16), "max_panels")
        self.page = self.add_control("page", self.spin(0, 999, 0), None)
        self.page.setToolTip("0: bins spread over the q range; 1, 2, ...: consecutive pages")
        self.bins = QLineEdit()
        self.bins.setPlaceholderText("bins, e.g. 0-3, 7")
        self.bins.setMaximumWidth(110)
        self.bins.editingFinished.connect(self.redraw)
        self.add_control(None, self.bins, "bins")
        self.every = self.add_control("every", self.spin(1, 100, 1), "every")
        self.y_min = self.add_control("y", self.number_edit("min", 60), "y_min")
        self.y_max = self.add_control("–", self.number_edit("max", 60), "y_max")
        self.errors = self.add_control(None, self.check("errors", True), "errors")
        self.segments = self.add_control(None, self.check("per segment", False), "segments")
        self.end_controls()
        self.legend = QLabel("")
        self.layout_.addWidget(self.legend)
        self.canvas = pg.GraphicsLayoutWidget()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.canvas)
        self.layout_.addWidget(self.scroll, 1)
        self.plots: list[pg.PlotItem] = []  # built (some may be hidden)
        self.shown: list[pg.PlotItem] = []  # the visible ones, one per panel
        self._shape: tuple[int, int] | None = None
        self.grid: G2Grid | None = None
        self.session.fit_changed.connect(lambda _: self.mark_dirty())

    def selection_options(self, res: Any) -> dict[str, Any]:
        """Bins and ranges chosen by the controls (shared with the Fit tab's preview)."""
        q = np.asarray(res.dynamic_q)
        q_range = (self.number(self.q_min, "q minimum"), self.number(self.q_max, "q maximum"))
        bins = parse_bins(self.bins.text(), q.size)
        max_panels = self.max_panels.value()
        if bins is None and self.page.value() > 0:
            in_range = select_bins(q, q_range=q_range, max_panels=None)
            start = (self.page.value() - 1) * max_panels
            bins = list(in_range[start:start + max_panels])
            if not bins:
                pages = max(1, math.ceil(in_range.size / max_panels))
                self.show_note(f"page {self.page.value()} is empty: {pages} page(s) of {max_panels} bins")
        y = (self.number(self.y_min, "y minimum"), self.number(self.y_max, "y maximum"))
        return {"bins": bins, "q_range": q_range, "max_panels": max_panels, "every": self.every.value(),
                "y_range": y if None not in y else None, "errors": self.errors.isChecked()}

    def update_view(self) -> None:
        sources = self.session.selection
        if not sources:
            self._layout(0)
            self.legend.setText("")
            self.show_note("no file selected")
            return
        fits = [self.session.fit_of(p) for p in self.session.selected if p in self.session.results]
        opts = self.selection_options(sources[0])
        self.grid = g2_grid(sources, fits=fits, segments=self.segments.isChecked(), **opts)
        self._draw(self.grid)

    def _layout(self, n: int) -> None:
        """``n`` visible panels; the plots of a built grid of the same shape are reused."""
        if n and self.plots and grid_shape(n) == self._shape and n <= len(self.plots):
            for k, plot in enumerate(self.plots):
                plot.setVisible(k < n)
            self.shown = self.plots[:n]
            return
        self.canvas.clear()
        self.plots, self.shown, self._shape = [], [], None
        if n == 0:
            return
        rows, cols = self._shape = grid_shape(n)
        for k in range(rows * cols if rows > 1 else n):
            plot = self.canvas.addPlot(row=k // cols, col=k % cols)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setVisible(k < n)
            self.plots.append(plot)
        self.shown = self.plots[:n]
        self.canvas.setMinimumHeight(rows * PANEL_HEIGHT)

    def prepare_layout(self) -> None:
        """Build the default grid ahead of the data (called while files open)."""
        if not self.plots:
            self._layout(self.max_panels.value())

    def _draw(self, grid: G2Grid) -> None:
        self._layout(len(grid.panels))
        for plot in self.shown[1:]:  # linked axes would re-range every panel for each panel drawn
            plot.setXLink(None)
            plot.setYLink(None)
        for plot, panel in zip(self.shown, grid.panels, strict=True):
            draw_panel(plot, panel, small=True)
        for plot in self.shown[1:]:
            plot.setXLink(self.shown[0])
            plot.setYLink(self.shown[0])
        self.legend.setText(legend_html(grid.legend))
        notes = [grid.message] if grid.message else []
        if grid.n_bins > len(grid.panels):
            notes.append(f"showing {len(grid.panels)} of {grid.n_bins} bins")
        if not grid.panels:
            notes.append("no bins in the chosen q range")
        self.show_note("; ".join(notes))
