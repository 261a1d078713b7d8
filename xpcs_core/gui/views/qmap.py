"""Q-map tab: dynamic/static label maps and the mask; draw rectangle/circle/polygon/ring
masks, threshold and blemish; recompute the partition and save a q-map file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from xpcs_core.errors import XpcsInputError
from xpcs_core.gui.pgdraw import draw_image, image_plot
from xpcs_core.gui.views.base import View
from xpcs_core.gui.views.mask_tools import MODES, SHAPES, MaskEditor
from xpcs_core.plot.saxs import label_image, saxs2d_image

DISPLAYS = ("dynamic", "static", "mask", "SAXS + mask")


class QmapView(View):
    name = "qmap"
    title = "Q-map && mask"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.display = self.add_control("show", self.combo(list(DISPLAYS)), "display")
        self.end_controls()
        tools = QWidget()
        grid = QGridLayout(tools)
        grid.setContentsMargins(0, 0, 0, 0)
        mask_box = QGroupBox("mask")
        mg = QGridLayout(mask_box)
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        mg.addWidget(QLabel("mode"), 0, 0)
        mg.addWidget(self.mode, 0, 1)
        for i, shape in enumerate(SHAPES):
            b = QPushButton(shape)
            b.clicked.connect(lambda _=False, s=shape: self.add_roi(s))
            mg.addWidget(b, 0, 2 + i)
        apply = QPushButton("Apply shapes")
        apply.clicked.connect(self.apply_rois)
        mg.addWidget(apply, 0, 5)
        self.ring_lo, self.ring_hi = self.number_edit("q low", live=False), self.number_edit("q high", live=False)
        ring = QPushButton("Add q ring")
        ring.clicked.connect(self._ring_clicked)
        self.th_lo, self.th_hi = self.number_edit("I low", live=False), self.number_edit("I high", live=False)
        thr = QPushButton("Threshold")
        thr.clicked.connect(self._threshold_clicked)
        for c, w in enumerate((QLabel("ring"), self.ring_lo, self.ring_hi, ring)):
            mg.addWidget(w, 1, c)
        for c, w in enumerate((QLabel("keep"), self.th_lo, self.th_hi, thr)):
            mg.addWidget(w, 2, c)
        for c, (text, slot) in enumerate((("Blemish…", self._blemish_clicked), ("Undo", self.undo),
                                          ("Reset", self.reset_mask))):
            b = QPushButton(text)
            b.clicked.connect(slot)
            mg.addWidget(b, 1 + c // 2, 4 + c % 2)
        grid.addWidget(mask_box, 0, 0)
        part_box = QGroupBox("partition")
        pg_ = QGridLayout(part_box)
        self.n_dq, self.n_dphi, self.n_sq, self.n_sphi = _spin(12), _spin(1), _spin(60), _spin(1)
        self.scale = QComboBox()
        self.scale.addItems(["log", "linear"])
        self.fold = _spin(1, 1, 12)
        cells = (("dynamic q", self.n_dq), ("φ", self.n_dphi), ("static q", self.n_sq), ("φ", self.n_sphi),
                 ("scale", self.scale), ("φ fold", self.fold))
        for i, (text, w) in enumerate(cells):
            pg_.addWidget(QLabel(text), i // 2, 2 * (i % 2))
            pg_.addWidget(w, i // 2, 2 * (i % 2) + 1)
        for key, w in (("n_dq", self.n_dq), ("n_dphi", self.n_dphi), ("n_sq", self.n_sq),
                       ("n_sphi", self.n_sphi), ("scale", self.scale), ("fold", self.fold)):
            self._persist[key] = w
        recompute = QPushButton("Recompute partition")
        recompute.clicked.connect(self.recompute)
        save = QPushButton("Save q-map…")
        save.clicked.connect(self._save_clicked)
        pg_.addWidget(recompute, 3, 0, 1, 2)
        pg_.addWidget(save, 3, 2, 1, 2)
        grid.addWidget(part_box, 0, 1)
        self.layout_.addWidget(tools)
        self.steps = QLabel("")
        self.steps.setWordWrap(True)
        self.layout_.addWidget(self.steps)
        self.canvas = pg.GraphicsLayoutWidget()
        self.plot, self.item = image_plot()
        self.canvas.addItem(self.plot)
        self.layout_.addWidget(self.canvas, 1)
        self.editor: MaskEditor | None = None
        self.partition: Any = None
        self._editor_path: str | None = None
        self._fresh = True
        self.maps: dict[str, np.ndarray] | None = None

    # ------------------------------------------------------------ drawing
    def _ensure_editor(self) -> MaskEditor | None:
        res, path = self.session.current, self.session.current_path
        if res is None:
            return None
        if self.editor is None or self._editor_path != path:
            self.editor = MaskEditor(res.detector_shape, res.qmap.mask)
            self.partition, self._editor_path = None, path
            for roi in self.plot.items[:]:
                if isinstance(roi, pg.ROI):
                    self.plot.removeItem(roi)
            self._fresh = True
        return self.editor

    def update_view(self) -> None:
        editor = self._ensure_editor()
        if editor is None:
            self.item.clear()
            self.show_note("no file selected")
            return
        res = self.session.current
        self.maps = self.session.maps(self.session.current_path, self._maps_ready)
        which = self.display.currentText()
        if which in ("dynamic", "static"):
            labels = None
            if self.partition is not None:
                labels = getattr(self.partition, which).labels
            draw_image(self.item, label_image(res, which, labels=labels))
        elif which == "mask":
            draw_image(self.item, label_image(res, "mask", labels=editor.mask().astype(np.int64)), cmap="gray")
        else:
            mask, path = editor.mask(), self.session.current_path

            def work(job: Any) -> Any:
                img = res.saxs_2d
                if img is None:
                    raise XpcsInputError(f"{res.path}: the file holds no SAXS 2D image")
                return saxs2d_image(res, image=np.where(mask, img, np.nan))

            self.run_job(work, lambda image: path == self.session.current_path and draw_image(self.item, image),
                         label="masked image", where=path)
        if self._fresh:  # a new file: show all of it
            self.plot.getViewBox().autoRange(items=[self.item], padding=0.02)
            self._fresh = False
        source = "recomputed" if self.partition is not None else "from the file"
        self.steps.setText(f"mask: {' → '.join(editor.steps()) or 'every pixel'}; "
                           f"{int(editor.mask().sum())} good pixels; partition {source}")

    def _maps_ready(self, maps: dict[str, np.ndarray]) -> None:
        self.maps = maps

    # ------------------------------------------------------------ mask actions
    def _act(self, fn: Any, *args: Any) -> bool:
        try:
            if self._ensure_editor() is None:
                raise XpcsInputError("open a result file first")
            fn(*args)
        except Exception as exc:
            self.window.report_error(self.session.current_path or self.title, exc)
            return False
        self.redraw()
        return True

    def add_roi(self, kind: str) -> Any:
        """Put an interactive ROI of ``kind`` on the image (applied with :meth:`apply_rois`)."""
        editor = self._ensure_editor()
        if editor is None:
            return None
        roi = editor.new_roi(kind)
        self.plot.addItem(roi)
        return roi

    def apply_rois(self) -> bool:
        def apply() -> None:
            for roi in self.editor.apply_rois(self.mode.currentText()):
                self.plot.removeItem(roi)
        return self._act(apply)

    def add_region(self, kind: str, params: Any, mode: str = "exclude") -> bool:
        """Add a region directly (scripts, tests): see :meth:`MaskEditor.region`."""
        return self._act(lambda: self.editor.add(kind, params, mode, self.maps))

    def _ring_clicked(self) -> None:
        self._act(lambda: self.editor.add("ring", (self.number(self.ring_lo, "ring low") or 0.0,
                                                   self.number(self.ring_hi, "ring high") or np.inf),
                                          self.mode.currentText(), self.maps))

    def _threshold_clicked(self) -> None:
        self._act(lambda: self.editor.threshold(self.session.current.saxs_2d, self.number(self.th_lo, "low"),
                                                self.number(self.th_hi, "high")))

    def _blemish_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Blemish or mask file", self.window.last_folder(),
                                              "Masks (*.h5 *.hdf *.hdf5 *.tif *.tiff *.npy);;All files (*)")
        if name:
            self._act(self.editor.blemish, name)

    def undo(self) -> None:
        self._act(lambda: self.editor.undo())

    def reset_mask(self) -> None:
        self.editor = None
        self._act(lambda: None)

    # ------------------------------------------------------------ partition
    def recompute(self) -> Any:
        """Recompute the partition with the current mask and settings (background job)."""
        editor, res, path = self._ensure_editor(), self.session.current, self.session.current_path
        if editor is None:
            self.window.report_error(self.title, XpcsInputError("open a result file first"))
            return None
        mask = editor.mask()
        opts = {"dynamic": (self.n_dq.value(), self.n_dphi.value()), "static": (self.n_sq.value(), self.n_sphi.value()),
                "scale": self.scale.currentText(), "phi_fold": self.fold.value(), "backend": self.session.backend}

        def work(job: Any) -> Any:
            import xpcs_core as xc

            return xc.make_partition(res.geometry, mask, **opts)

        def done(partition: Any) -> None:
            if path != self.session.current_path:
                return
            self.partition = partition
            if partition.provenance is not None:
                self.session.record(partition.provenance, "partition")
            self.window.status(f"partition: {partition.dynamic.n_labels} dynamic, "
                               f"{partition.static.n_labels} static bins")
            self.redraw()

        return self.run_job(work, done, label="partition", where=path)

    def save_qmap(self, path: str | Path) -> Path:
        """Write the (recomputed or the file's) partition with the current mask to a q-map file."""
        import xpcs_core as xc

        if self.partition is None:
            raise XpcsInputError("recompute the partition first (it holds the edited mask)")
        return xc.write_qmap(path, self.partition)

    def _save_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save q-map file", self.window.last_folder(),
                                              "HDF5 (*.h5 *.hdf5)")
        if name:
            try:
                self.window.status(f"wrote {self.save_qmap(name)}")
            except Exception as exc:
                self.window.report_error(name, exc)


def _spin(value: int, lo: int = 1, hi: int = 10000) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(value)
    return box
