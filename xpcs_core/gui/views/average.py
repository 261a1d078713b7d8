"""Average tab: the selected files averaged with outlier rejection (g2 baseline, contrast,
intensity), a preview of what is rejected, saved to a new file (engine:
:func:`xpcs_core.average`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
)

from xpcs_core.errors import XpcsInputError
from xpcs_core.gui.views.base import View
from xpcs_core.plot.prepare import color

COLUMNS = ("file", "used", "baseline", "contrast", "mean intensity", "stability", "weight", "reasons")
REJECTED = "#d62728"


class AverageView(View):
    name = "average"
    title = "Average"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.by_baseline = self.add_control(None, self.check("baseline", True), "baseline")
        self.by_contrast = self.add_control(None, self.check("contrast", True), "contrast")
        self.by_intensity = self.add_control(None, self.check("intensity", True), "intensity")
        self.ref = self.add_control("baseline", self.dspin(0.5, 2.0, 1.0, 0.01, 3), "ref")
        self.tol = self.add_control("±", self.dspin(0.001, 1.0, 0.05, 0.01, 3), "tol")
        self.z_max = self.add_control("z max", self.dspin(0.5, 100.0, 3.5, 0.5, 1), "z_max")
        preview = QPushButton("Preview")
        preview.clicked.connect(self.preview)
        save = QPushButton("Average and save…")
        save.clicked.connect(self._save_clicked)
        self.add_control(None, preview)
        self.add_control(None, save)
        self.end_controls()
        self.progress = QProgressBar()
        self.layout_.addWidget(self.progress)
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        split.addWidget(self.table)
        self.canvas = pg.GraphicsLayoutWidget()
        self.base_plot = self.canvas.addPlot(row=0, col=0, title="g2 baseline per file")
        self.int_plot = self.canvas.addPlot(row=0, col=1, title="mean intensity per file")
        split.addWidget(self.canvas)
        self.layout_.addWidget(split, 1)
        self.report: Any = None

    def redraw(self) -> None:  # option changes do not recompute; Preview does
        return

    def update_view(self) -> None:
        if len(self.session.selected) < 2:
            self.show_note("select two or more files of the same partition to average them")
        self.preview()

    def options(self) -> dict[str, Any]:
        criteria = [n for n, box in (("baseline", self.by_baseline), ("contrast", self.by_contrast),
                                     ("intensity", self.by_intensity)) if box.isChecked()]
        return {"reject": criteria or None, "baseline_ref": self.ref.value(), "baseline_tol": self.tol.value(),
                "z_max": self.z_max.value()}

    def preview(self) -> Any:
        """Compute the statistics and the verdicts (no output) in the background."""
        return self._run(None)

    def average_to(self, output: str | Path) -> Any:
        """Average the files that pass into ``output`` (background) and open it."""
        return self._run(Path(output))

    def _run(self, output: Path | None) -> Any:
        files = list(self.session.selected)
        if not files:
            self._show(None)
            return None
        if output is not None and len(files) < 2:
            self.window.report_error("Average", XpcsInputError("select two or more files to average"))
            return None
        opts = self.options()

        def work(job: Any) -> Any:
            import xpcs_core as xc

            return xc.average(files, output, reject_only=output is None, progress=job.progress, **opts)

        def done(report: Any) -> None:
            self._show(report)
            if output is not None:
                self.window.status(f"averaged {len(report.used)} of {len(report.files)} files into {output}")
                self.window.open_paths([str(output)], add=True)

        self.progress.setRange(0, 0)
        job = self.run_job(work, done, label="average", where="Average",
                           on_progress=lambda d, t: (self.progress.setRange(0, max(t, 1)), self.progress.setValue(d)))
        job.signals.finished.connect(lambda: (self.progress.setRange(0, 1), self.progress.setValue(1)))
        return job

    def _show(self, report: Any) -> None:
        self.report = report
        stats = [] if report is None else report.files
        self.table.setRowCount(len(stats))
        for r, s in enumerate(stats):
            cells = [Path(s.path).name, "yes" if s.used else "rejected", _f(s.baseline), _f(s.contrast),
                     _f(s.mean_intensity), _f(s.stability), _f(s.weight), "; ".join(s.reasons)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not s.used:
                    item.setForeground(pg.mkColor(REJECTED))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        for plot, attr in ((self.base_plot, "baseline"), (self.int_plot, "mean_intensity")):
            plot.clear()
            if not stats:
                continue
            x = np.arange(len(stats))
            y = np.array([getattr(s, attr) for s in stats], dtype=np.float64)
            brushes = [pg.mkBrush(color(0) if s.used else REJECTED) for s in stats]
            plot.plot(x, y, pen=None, symbol="o", symbolBrush=brushes, symbolPen=None, symbolSize=9)
            plot.setLabel("bottom", "file (table row)")
            plot.setXRange(-0.5, len(stats) - 0.5)
        if report is not None and stats:
            ref, tol = report.settings.get("baseline_ref", 1.0), report.settings.get("baseline_tol", 0.05)
            for v in (ref - tol, ref + tol):
                self.base_plot.addLine(y=v, pen=pg.mkPen("#999999", style=Qt.PenStyle.DashLine))
        notes = [] if report is None else list(report.notes)
        if report is not None:
            notes.insert(0, f"{len(report.used)} of {len(report.files)} files used")
        self.show_note("; ".join(notes))

    def _save_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save the average", self.window.last_folder(),
                                              "HDF5 (*.h5 *.hdf *.hdf5)")
        if name:
            self.average_to(name)


def _f(v: Any) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{v:.5g}" if math.isfinite(v) else "–"
