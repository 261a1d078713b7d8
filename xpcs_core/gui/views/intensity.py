"""Intensity-Time tab: mean intensity vs time and the power spectrum of its fluctuations."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg

from xpcs_core.gui.pgdraw import draw_panel
from xpcs_core.gui.views.base import View
from xpcs_core.plot.saxs import intensity_panels


class IntensityView(View):
    name = "intensity"
    title = "Intensity-Time"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.fft = self.add_control(None, self.check("show FFT", True), "fft")
        self.end_controls()
        self.canvas = pg.GraphicsLayoutWidget()
        self.top = self.canvas.addPlot(row=0, col=0)
        self.bottom = self.canvas.addPlot(row=1, col=0)
        self.layout_.addWidget(self.canvas, 1)
        self.panels: tuple[Any, Any] | None = None

    def update_view(self) -> None:
        res = self.session.current
        if res is None:
            self.top.clear()
            self.bottom.clear()
            self.show_note("no file selected")
            return
        self.panels = intensity_panels(res)
        draw_panel(self.top, self.panels[0])
        self.bottom.setVisible(self.fft.isChecked())
        if self.fft.isChecked():
            draw_panel(self.bottom, self.panels[1])
        if self.panels[0].text:
            self.show_note(self.panels[0].text)
