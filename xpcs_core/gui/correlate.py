"""The Correlate action: raw frames + a q-map -> a result file, in the background with
progress (frames/s, ETA) and cancel; the result opens in the viewer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from xpcs_core.errors import XpcsInputError

MODES = ("multitau", "twotime", "both")


def default_output(raw: str) -> str:
    """``<raw stem>_results.hdf`` next to the raw file (as ``xpcs correlate``)."""
    p = Path(raw)
    return str(p.with_name(f"{p.stem.removesuffix('_master')}_results.hdf"))


def rate_text(done: int, total: int, elapsed: float) -> str:
    """``1200/4000 frames, 850 frames/s, ETA 3.3 s``."""
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else float("inf")
    eta_text = f"{eta:.1f} s" if eta != float("inf") else "?"
    return f"{done}/{total} frames, {rate:.0f} frames/s, ETA {eta_text}"


class CorrelateDialog(QDialog):
    """Not modal: the viewer stays usable while the job runs."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Correlate raw data")
        self.setModal(False)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.raw = QLineEdit()
        self.raw.textChanged.connect(self._raw_changed)
        self.qmap = QLineEdit()
        self.output = QLineEdit()
        form.addRow("raw frames", self._with_browse(self.raw, "Raw frames", open_=True))
        form.addRow("q-map", self._with_browse(self.qmap, "Q-map file", open_=True))
        form.addRow("output", self._with_browse(self.output, "Result file", open_=False))
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        form.addRow("mode", self.mode)
        self.bins = QLineEdit()
        self.bins.setPlaceholderText("two-time bins, e.g. 1,3-5 (default all)")
        form.addRow("two-time bins", self.bins)
        self.segments = QSpinBox()
        self.segments.setRange(1, 1000)
        form.addRow("segments", self.segments)
        self.bad = QComboBox()
        self.bad.addItems(["none", "auto", "list"])
        self.bad_list = QLineEdit()
        self.bad_list.setPlaceholderText("auto:T threshold, or frames 3,17,100-120")
        form.addRow("bad frames", _row(self.bad, self.bad_list))
        self.frames = QLineEdit()
        self.frames.setPlaceholderText("B:E (default all)")
        form.addRow("frames", self.frames)
        self.stride, self.avg = QSpinBox(), QSpinBox()
        for box in (self.stride, self.avg):
            box.setRange(1, 100000)
        form.addRow("stride / average", _row(self.stride, self.avg))
        self.frame_time = QDoubleSpinBox()
        self.frame_time.setDecimals(7)
        self.frame_time.setRange(0.0, 1000.0)
        self.frame_time.setSpecialValueText("from the file")
        form.addRow("frame time [s]", self.frame_time)
        layout.addLayout(form)
        self.progress = QProgressBar()
        self.rate = QLabel("")
        layout.addWidget(self.progress)
        layout.addWidget(self.rate)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Correlate")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        for b in (self.run_button, self.cancel_button, close):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.job: Any = None
        self.report: Any = None

    def _with_browse(self, edit: QLineEdit, title: str, *, open_: bool) -> QWidget:
        button = QPushButton("…")
        button.setMaximumWidth(30)

        def browse() -> None:
            folder = self.window.last_folder()
            if open_:
                name, _ = QFileDialog.getOpenFileName(self, title, folder, "HDF5 / NumPy (*.h5 *.hdf *.hdf5 *.nxs "
                                                      "*.npy);;All files (*)")
            else:
                name, _ = QFileDialog.getSaveFileName(self, title, folder, "HDF5 (*.hdf *.h5)")
            if name:
                edit.setText(name)

        button.clicked.connect(browse)
        return _row(edit, button)

    def _raw_changed(self, text: str) -> None:
        if text and not self.output.text():
            self.output.setText(default_output(text))

    def kwargs(self) -> dict[str, Any]:
        """Arguments of :func:`xpcs_core.correlate` from the form."""
        raw, qmap = self.raw.text().strip(), self.qmap.text().strip()
        if not raw or not qmap:
            raise XpcsInputError("choose a raw file and a q-map file")
        bad = {"none": None, "auto": "auto"}.get(self.bad.currentText(), self.bad_list.text().strip() or None)
        if self.bad.currentText() == "auto" and self.bad_list.text().strip().startswith("auto:"):
            bad = self.bad_list.text().strip()
        return {
            "raw": raw, "qmap": qmap, "output": self.output.text().strip() or default_output(raw),
            "mode": self.mode.currentText(), "bins": self.bins.text().strip() or None,
            "segments": self.segments.value(), "bad_frames": bad, "frames": self.frames.text().strip() or None,
            "stride": self.stride.value(), "avg": self.avg.value(),
            "frame_time": self.frame_time.value() or None,
        }

    def start(self) -> Any:
        """Run the correlation in the background (returns the job, or None)."""
        import xpcs_core

        if self.job is not None:
            return None
        try:
            kw = self.kwargs()
            correlate = getattr(xpcs_core, "correlate", None)
            if correlate is None:
                raise XpcsInputError("this installation has no correlator (xpcs_core.correlate)")
        except (XpcsInputError, AttributeError, ImportError) as exc:
            self.window.report_error("Correlate", exc)
            return None
        backend = self.window.session.backend
        started = time.perf_counter()

        def work(job: Any) -> Any:
            args = dict(kw)
            return correlate(args.pop("raw"), args.pop("qmap"), args.pop("output"), backend=backend,
                             progress=job.progress, cancel=job.cancel, **args)

        def progress(done: int, total: int) -> None:
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)
            self.rate.setText(rate_text(done, total, time.perf_counter() - started))

        def done(report: Any) -> None:
            self.report = report
            self.rate.setText(f"done: {report.frames_used} frames used, {report.rate_fps:.0f} frames/s, "
                              f"wrote {report.output}")
            self.window.session.record(report.backend, "correlation")
            if report.output is not None:
                self.window.open_paths([str(report.output)])

        def cancelled() -> None:
            self.rate.setText("cancelled")

        def failed(exc: BaseException) -> None:
            self.rate.setText(f"failed: {exc}")
            self.window.report_error(self.raw.text().strip() or "Correlate", exc)

        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.job = self.window.jobs.start(work, label="correlate", on_done=done, on_error=failed,
                                          on_progress=progress, on_cancel=cancelled, on_finish=self._finished)
        return self.job

    def _finished(self) -> None:
        self.job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.set()


def _row(*widgets: QWidget) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for x in widgets:
        lay.addWidget(x)
    return w
