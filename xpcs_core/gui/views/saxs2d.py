"""SAXS-2D tab: the time-averaged image (log/linear, colour map, colour range), a hover
readout (intensity, q, phi, row, column) and a q-map/partition overlay."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from xpcs_core.gui.pgdraw import COLORMAPS, colormap, draw_image, image_plot
from xpcs_core.gui.views.base import View
from xpcs_core.plot.prepare import PERCENTILE_PRESETS
from xpcs_core.plot.saxs import label_image, pixel_readout, saxs2d_image

OVERLAYS = ("none", "dynamic", "static", "mask")


class Saxs2DView(View):
    name = "saxs-2d"
    title = "SAXS-2D"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.log = self.add_control(None, self.check("log", True), "log")
        self.cmap = self.add_control("colours", self.combo(list(COLORMAPS)), "cmap")
        self.preset = self.add_control("range", self.combo([*PERCENTILE_PRESETS, "manual"], current="99.5%"),
                                       "preset")
        self.vmin = self.add_control("min", self.number_edit("min"), "vmin")
        self.vmax = self.add_control("max", self.number_edit("max"), "vmax")
        self.overlay = self.add_control("overlay", self.combo(list(OVERLAYS)), "overlay")
        self.end_controls()
        self.canvas = pg.GraphicsLayoutWidget()
        self.plot, self.item = image_plot()
        self.overlay_item = pg.ImageItem()
        self.plot.addItem(self.overlay_item)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=colormap("viridis"), interactive=False, width=15)
        self.bar.setImageItem(self.item)
        self.canvas.addItem(self.plot, 0, 0)
        self.canvas.addItem(self.bar, 0, 1)
        self.layout_.addWidget(self.canvas, 1)
        self.readout = QLabel("")
        self.layout_.addWidget(self.readout)
        self.image = None
        self.maps: dict[str, np.ndarray] | None = None
        self._shown_path: str | None = None
        self.canvas.scene().sigMouseMoved.connect(self._hover)

    def options(self) -> dict[str, Any]:
        preset = self.preset.currentText()
        levels = None
        if preset == "manual":
            lo, hi = self.number(self.vmin, "colour minimum"), self.number(self.vmax, "colour maximum")
            if lo is not None and hi is not None:
                levels = (lo, hi)
        return {"log": self.log.isChecked(), "percentiles": preset if preset != "manual" else "99.5%",
                "levels": levels, "cmap": self.cmap.currentText()}

    def update_view(self) -> None:
        res = self.session.current
        if res is None:
            self.item.clear()
            self.overlay_item.clear()
            self.show_note("no file selected")
            return
        path = self.session.current_path
        opts = self.options()
        self.maps = self.session.maps(path, self._maps_ready)

        def work(job: Any) -> Any:
            return saxs2d_image(res, **opts)

        self.run_job(work, lambda img: self._draw(path, img), label="SAXS 2D", where=path)

    def _maps_ready(self, maps: dict[str, np.ndarray]) -> None:
        self.maps = maps

    def _draw(self, path: str, image: Any) -> None:
        if path != self.session.current_path:
            return
        self.image = image
        draw_image(self.item, image, cmap=self.cmap.currentText())
        self.bar.setColorMap(colormap(self.cmap.currentText()))
        self.bar.setLevels(image.levels)
        self.plot.setTitle(image.label, size="9pt")
        which = self.overlay.currentText()
        if which == "none":
            self.overlay_item.clear()
        else:
            draw_image(self.overlay_item, label_image(self.session.current, which), opacity=0.35)
        if self._shown_path != path:
            self.plot.getViewBox().autoRange(padding=0.02)
            self._shown_path = path
        if image.step > 1:
            h, w = image.full_shape
            self.show_note(f"{w} x {h} image shown block-averaged {image.step} x {image.step} "
                           "(the readout uses full-resolution pixels)")

    def _hover(self, pos: Any) -> None:
        res = self.session.current
        if (res is None or self.image is None or self._shown_path != self.session.current_path
                or not self.plot.sceneBoundingRect().contains(pos)):
            return  # before its image is drawn the readout would read the full image in the GUI thread
        p = self.plot.getViewBox().mapSceneToView(pos)
        row, col = int(np.floor(p.y())), int(np.floor(p.x()))
        try:
            self.readout.setText(pixel_readout(res, row, col, self.maps))
        except Exception:  # a pixel read that fails must not disturb the mouse
            self.readout.setText("")
