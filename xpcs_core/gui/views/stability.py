"""Stability tab: SAXS 1D of each time segment of the current file."""

from __future__ import annotations

from typing import Any

from xpcs_core.gui.views.base import View
from xpcs_core.gui.views.saxs1d import legend_plot, redraw_with_legend
from xpcs_core.plot.saxs import WEIGHTINGS, stability_panel


class StabilityView(View):
    name = "stability"
    title = "Stability"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.weighting = self.add_control("weighting", self.combo(list(WEIGHTINGS)), "weighting")
        self.relative = self.add_control(None, self.check("ratio to the mean", False), "relative")
        self.log_x = self.add_control(None, self.check("log q", True), "log_x")
        self.log_y = self.add_control(None, self.check("log I", True), "log_y")
        self.end_controls()
        self.plot = legend_plot()
        self.layout_.addWidget(self.plot, 1)
        self.panel = None

    def update_view(self) -> None:
        res = self.session.current
        if res is None:
            self.plot.getPlotItem().clear()
            self.show_note("no file selected")
            return
        self.panel = stability_panel(res, weighting=self.weighting.currentText(), relative=self.relative.isChecked(),
                                     log_x=self.log_x.isChecked(), log_y=self.log_y.isChecked())
        redraw_with_legend(self.plot, self.panel)
        if self.panel.text:
            self.show_note(self.panel.text)
