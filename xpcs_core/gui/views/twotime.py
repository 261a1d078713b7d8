"""Two Time tab: the C2 map of a chosen bin (optionally smoothed) and g2 from its diagonals."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg

from xpcs_core.gui.pgdraw import COLORMAPS, colormap, draw_image, draw_panel, image_plot
from xpcs_core.gui.views.base import View
from xpcs_core.plot.g2 import twotime_view


class TwotimeView(View):
    name = "two-time"
    title = "Two Time"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.bin = self.add_control("bin", self.combo([]), None)
        self.smooth = self.add_control("smoothing σ [frames]", self.dspin(0.0, 50.0, 0.0, 0.5, 1), "smooth")
        self.cmap = self.add_control("colours", self.combo(["plasma", *COLORMAPS]), "cmap")
        self.end_controls()
        self.canvas = pg.GraphicsLayoutWidget()
        self.map_plot, self.item = image_plot(invert_y=False)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=colormap("plasma"), interactive=False, width=15)
        self.bar.setImageItem(self.item)
        self.canvas.addItem(self.map_plot, 0, 0)
        self.canvas.addItem(self.bar, 0, 1)
        self.g2_plot = self.canvas.addPlot(row=0, col=2)
        self.layout_.addWidget(self.canvas, 1)
        self.view = None

    def _bins(self, res: Any) -> None:
        labels = [str(int(b)) for b in res.twotime_bins]
        if [self.bin.itemText(i) for i in range(self.bin.count())] != labels:
            self.bin.blockSignals(True)
            self.bin.clear()
            self.bin.addItems(labels)
            self.bin.blockSignals(False)

    def update_view(self) -> None:
        res, path = self.session.current, self.session.current_path
        if res is None or "twotime" not in res.analysis:
            self.item.clear()
            self.g2_plot.clear()
            self.bin.clear()
            self.show_note("no file selected" if res is None else "this file holds no two-time results")
            return
        self._bins(res)
        label = int(self.bin.currentText()) if self.bin.currentText() else None
        smooth = self.smooth.value()

        def work(job: Any) -> Any:
            return twotime_view(res, label, smooth=smooth)

        self.run_job(work, lambda v: self._draw(path, v), label="two-time map", where=path)

    def _draw(self, path: str, view: Any) -> None:
        if path != self.session.current_path:
            return
        self.view = view
        cmap = self.cmap.currentText()
        draw_image(self.item, view.image, cmap=cmap)
        self.bar.setColorMap(colormap(cmap))
        self.bar.setLevels(view.image.levels)
        self.map_plot.setTitle(view.image.label, size="9pt")
        self.map_plot.setLabel("bottom", view.image.xlabel)
        self.map_plot.setLabel("left", view.image.ylabel)
        self.map_plot.getViewBox().autoRange(padding=0.02)
        draw_panel(self.g2_plot, view.g2)
