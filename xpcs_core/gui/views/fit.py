"""Fit tab: model, per-parameter fix/bounds/start, q and t ranges, least-squares and
Bayesian fits with progress and cancel, the results table (of a fit made here, or of one
stored in the file, labelled so, with a selector of the stored models), the posterior of
the selected bin, and export (CSV/JSON table, the fit into a new result file)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from xpcs_core.errors import XpcsInputError
from xpcs_core.gui.views.base import View
from xpcs_core.gui.views.fit_table import ParamTable, PosteriorPanel, ResultTable


class FitView(View):
    name = "fit"
    title = "Fit"

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        import xpcs_core as xc

        self.end_controls()
        split = QSplitter(Qt.Orientation.Horizontal)
        self.layout_.addWidget(split, 1)
        left = QWidget()
        lay = QVBoxLayout(left)
        form = QFormLayout()
        self.model = QComboBox()
        self.model.addItems(xc.list_models())
        self.model.setCurrentText("single")
        self.model.currentTextChanged.connect(self._model_changed)
        self._persist["model"] = self.model
        form.addRow("model", self.model)
        lay.addLayout(form)
        self.params = ParamTable()
        lay.addWidget(self.params)
        ranges = QGroupBox("ranges (empty: all)")
        rform = QFormLayout(ranges)
        self.q_min, self.q_max = self.number_edit("min", live=False), self.number_edit("max", live=False)
        self.t_min, self.t_max = self.number_edit("min", live=False), self.number_edit("max", live=False)
        rform.addRow("q [Å⁻¹]", _pair(self.q_min, self.q_max))
        rform.addRow("τ [s]", _pair(self.t_min, self.t_max))
        lay.addWidget(ranges)
        sampler = QGroupBox("Bayesian sampler (0: its default)")
        sform = QFormLayout(sampler)
        self.chains, self.warmup, self.draws = _count(), _count(), _count()
        sform.addRow("chains / walkers", self.chains)
        sform.addRow("warm-up", self.warmup)
        sform.addRow("draws", self.draws)
        for key, w in (("chains", self.chains), ("warmup", self.warmup), ("draws", self.draws)):
            self._persist[key] = w
        lay.addWidget(sampler)
        buttons = QHBoxLayout()
        self.fit_button = QPushButton("Fit")
        self.bayes_button = QPushButton("Bayesian fit")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.fit_button.clicked.connect(lambda: self.start_fit(bayes=False))
        self.bayes_button.clicked.connect(lambda: self.start_fit(bayes=True))
        self.cancel_button.clicked.connect(self.cancel)
        for b in (self.fit_button, self.bayes_button, self.cancel_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setFormat("%p %")
        lay.addWidget(self.progress)
        export = QHBoxLayout()
        self.export_button = QPushButton("Export table…")
        self.save_button = QPushButton("Save fit to file…")
        self.export_button.clicked.connect(self._export_dialog)
        self.save_button.clicked.connect(self._save_dialog)
        export.addWidget(self.export_button)
        export.addWidget(self.save_button)
        lay.addLayout(export)
        lay.addStretch(1)
        split.addWidget(left)
        right = QSplitter(Qt.Orientation.Vertical)
        self.table = ResultTable()
        self.posterior = PosteriorPanel(self)
        top = QWidget()
        top_lay = QVBoxLayout(top)
        top_lay.setContentsMargins(0, 0, 0, 0)
        top_lay.addLayout(self._stored_bar())
        top_lay.addWidget(self.table, 1)
        right.addWidget(top)
        right.addWidget(self.posterior)
        split.addWidget(right)
        split.setSizes([330, 900])
        self.table.bin_selected.connect(self._bin_selected)
        self.job = None
        self.session.fit_changed.connect(lambda _: self.mark_dirty())
        self._model_changed(self.model.currentText())

    def _stored_bar(self) -> QHBoxLayout:
        """What the table shows (a stored fit, with its model, backend and date) and the
        stored models of the file (choosing one shows it; a new fit replaces it)."""
        bar = QHBoxLayout()
        self.source_label = QLabel("")
        self.source_label.setStyleSheet("font-weight: bold;")
        self.stored_box = QComboBox()
        self.stored_box.setToolTip("fits stored in the file (xpcs fit -o / --in-place): choose one to show it")
        self.stored_box.activated.connect(self._stored_chosen)
        self.stored_caption = QLabel("stored fits:")
        bar.addWidget(self.source_label)
        bar.addStretch(1)
        bar.addWidget(self.stored_caption)
        bar.addWidget(self.stored_box)
        return bar

    def _stored_chosen(self, index: int) -> None:
        path = self.session.current_path
        model = self.stored_box.itemText(index)
        if path and model:
            self.session.show_stored(path, model)

    def _show_source(self, fit: Any) -> None:
        """The label above the table and the stored-fit selector of the current file."""
        path = self.session.current_path
        models = self.session.stored.get(path, []) if path else []
        shown = self.session.stored_shown.get(path) if path else None
        self.stored_box.blockSignals(True)
        self.stored_box.clear()
        self.stored_box.addItems(models)
        if models:
            self.stored_box.setCurrentIndex(models.index(shown) if shown in models else -1)
        self.stored_box.blockSignals(False)
        self.stored_box.setVisible(bool(models))
        self.stored_caption.setVisible(bool(models))
        if shown is not None:
            text = self.session.stored_label(path)
        elif fit is not None:
            text = f"fit made here: {fit.model.name}, {fit.provenance.get('backend', '?')}"
        else:
            text = "no fit yet" if not models else "no fit shown: choose a stored fit"
        self.source_label.setText(text)

    # ------------------------------------------------------------------ state
    def _model_changed(self, name: str) -> None:
        import xpcs_core as xc

        self.params.set_model(xc.get_model(name))

    def update_view(self) -> None:
        fit = self.session.fit_of(self.session.current_path)
        if self.session.current is None:
            self.show_note("no file selected")
        elif "multitau" not in self.session.current.analysis:
            self.show_note("this file holds no multi-tau g2 to fit")
        self._show_source(fit)
        self.table.show_fit(fit)
        self.posterior.show_bin(fit, None)

    def _bin_selected(self, column: int) -> None:
        fit = self.session.fit_of(self.session.current_path)
        if fit is not None and fit.posterior is not None:
            self.posterior.show_bin(fit, column)

    def fit_kwargs(self, bayes: bool) -> dict[str, Any]:
        """Arguments of :func:`xpcs_core.fit_g2` from the controls."""
        kw: dict[str, Any] = {"model": self.model.currentText(), **self.params.settings()}
        for name, lo_w, hi_w in (("q_range", self.q_min, self.q_max), ("t_range", self.t_min, self.t_max)):
            lo, hi = self.number(lo_w, f"{name} minimum"), self.number(hi_w, f"{name} maximum")
            if lo is not None or hi is not None:
                kw[name] = (-float("inf") if lo is None else lo, float("inf") if hi is None else hi)
        if bayes:
            kw.update(bayes=True, chains=self.chains.value() or None, warmup=self.warmup.value() or None,
                      draws=self.draws.value() or None)
        return kw

    # ------------------------------------------------------------------ run
    def start_fit(self, bayes: bool = False) -> Any:
        """Fit the current file in the background (returns the job, or None)."""
        res, path = self.session.current, self.session.current_path
        if res is None:
            self.window.report_error("Fit", XpcsInputError("open a result file first"))
            return None
        if self.job is not None:
            return None
        try:
            kw = self.fit_kwargs(bayes)
        except XpcsInputError as exc:
            self.window.report_error("Fit", exc)
            return None
        backend = self.session.backend
        started = time.perf_counter()

        helper = self.session.helper if bayes else None

        def work(job: Any) -> tuple[Any, list[str]]:
            import xpcs_core as xc

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if helper is None:  # least squares: quick, in this process
                    fit = xc.fit_g2(res, backend=backend, progress=job.progress, cancel=job.cancel, **kw)
                else:  # sampling: in the helper process (see xpcs_core.gui.helper)
                    data = {"t": res.tau, "g2": res.g2, "g2_err": res.g2_err, "q": res.dynamic_q}
                    fit = helper.call("fit", {**data, **kw, "backend": backend}, progress=job.progress,
                                      cancel=job.cancel)
                    fit.provenance["source"] = str(res.path)
            return fit, [str(w.message) for w in caught]

        def done(out: tuple[Any, list[str]]) -> None:
            fit, notes = out
            self.progress.setValue(self.progress.maximum())
            self.session.set_fit(path, fit)
            n_ok = int(fit.success.sum())
            extra = f"; {notes[0]}" if notes else ""
            self.window.status(f"{'Bayesian ' if bayes else ''}fit of {Path(path).name}: {n_ok}/{fit.n_bins} "
                               f"bins in {time.perf_counter() - started:.1f} s on "
                               f"{fit.provenance.get('backend')}{extra}")

        self.progress.setRange(0, 0 if not bayes else 100)
        self.progress.setValue(0)
        self._running(True)
        self.job = self.run_job(work, done, label="Bayesian fit" if bayes else "fit", where=path,
                                on_progress=self._progress, on_cancel=self._cancelled)
        self.job.signals.finished.connect(self._finished)
        return self.job

    def _progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))

    def _cancelled(self) -> None:
        self.window.status("fit cancelled")
        self.show_note("fit cancelled")

    def _finished(self) -> None:
        self.job = None
        self._running(False)
        self.progress.setRange(0, 100)

    def _running(self, running: bool) -> None:
        self.fit_button.setEnabled(not running)
        self.bayes_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.set()

    # ------------------------------------------------------------------ export
    def _fit_or_error(self) -> Any:
        fit = self.session.fit_of(self.session.current_path)
        if fit is None:
            raise XpcsInputError("no fit to export: run a fit first")
        return fit

    def export_table(self, path: str | Path) -> Path:
        """Write the results table as CSV (``.csv``) or JSON (``.json``)."""
        fit, target = self._fit_or_error(), Path(path)
        if target.suffix.lower() == ".json":
            fit.to_json(target)
        elif target.suffix.lower() == ".csv":
            fit.to_csv(target)
        else:
            raise XpcsInputError(f"{target}: export to a .csv or .json file")
        return target

    def save_fit(self, path: str | Path) -> Path:
        """Write a new result file: a copy of the current one plus the fit group."""
        fit, target = self._fit_or_error(), Path(path)
        fit.save(target, source=self.session.current_path)
        return target

    def _export_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export fit table", self.window.last_folder(),
                                              "CSV (*.csv);;JSON (*.json)")
        if name:
            self._guarded(self.export_table, name)

    def _save_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save fit into a new result file",
                                              self.window.last_folder(), "HDF5 (*.h5 *.hdf *.hdf5)")
        if name:
            self._guarded(self.save_fit, name)

    def _guarded(self, fn: Any, name: str) -> None:
        try:
            self.window.status(f"wrote {fn(name)}")
        except Exception as exc:
            self.window.report_error(name, exc)


def _pair(a: QWidget, b: QWidget) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(a)
    lay.addWidget(b)
    return w


def _count() -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, 1_000_000)
    box.setSpecialValueText("default")
    return box
