"""Widgets of the Fit tab: the per-parameter settings, the results table and the
posterior (corner/trace) plot of the selected bin."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from xpcs_core.errors import XpcsInputError


def _fmt(v: Any, digits: int = 4) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{v:.{digits}g}" if math.isfinite(v) else "–"


class ParamTable(QTableWidget):
    """One row per model parameter: fix, value (the fixed value or the start), bounds."""

    COLUMNS = ("parameter", "fix", "value / start", "lower", "upper")

    def __init__(self) -> None:
        super().__init__(0, len(self.COLUMNS))
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.verticalHeader().hide()
        self.horizontalHeader().setStretchLastSection(True)
        self.names: list[str] = []

    def set_model(self, model: Any) -> None:
        self.names = list(model.params)
        self.setRowCount(len(self.names))
        for r, name in enumerate(self.names):
            item = QTableWidgetItem(name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.setItem(r, 0, item)
            box = QCheckBox()
            self.setCellWidget(r, 1, box)
            for c in (2, 3, 4):
                self.setItem(r, c, QTableWidgetItem(""))
        self.resizeColumnsToContents()

    def set_row(self, name: str, *, fix: bool | None = None, value: float | None = None,
                lower: float | None = None, upper: float | None = None) -> None:
        """Set one parameter's settings (used by scripts and tests)."""
        r = self.names.index(name)
        if fix is not None:
            self.cellWidget(r, 1).setChecked(fix)
        for c, v in ((2, value), (3, lower), (4, upper)):
            if v is not None:
                self.item(r, c).setText(repr(float(v)))

    def _number(self, r: int, c: int) -> float | None:
        text = (self.item(r, c).text() if self.item(r, c) else "").strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise XpcsInputError(f"{self.names[r]} {self.COLUMNS[c]}: {text!r} is not a number") from None

    def settings(self) -> dict[str, dict[str, Any]]:
        """``{"fix": {...}, "p0": {...}, "bounds": {...}}`` for :func:`xpcs_core.fit_g2`."""
        fix, p0, bounds = {}, {}, {}
        for r, name in enumerate(self.names):
            value = self._number(r, 2)
            if self.cellWidget(r, 1).isChecked():
                if value is None:
                    raise XpcsInputError(f"{name}: give the value to fix it at")
                fix[name] = value
            elif value is not None:
                p0[name] = value
            lo, hi = self._number(r, 3), self._number(r, 4)
            if lo is not None or hi is not None:
                bounds[name] = (-math.inf if lo is None else lo, math.inf if hi is None else hi)
        return {"fix": fix, "p0": p0, "bounds": bounds}


class ResultTable(QTableWidget):
    """One row per fitted bin: values ± errors, reduced chi2 and posterior diagnostics."""

    bin_selected = Signal(int)

    def __init__(self) -> None:
        super().__init__(0, 0)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        self.fit: Any = None
        self.itemSelectionChanged.connect(self._selected)

    def show_fit(self, fit: Any) -> None:
        self.fit = fit
        self.clear()
        if fit is None:
            self.setRowCount(0)
            self.setColumnCount(0)
            return
        post = fit.diagnostics is not None
        header = ["bin", "q [Å⁻¹]", *fit.param_names, "χ²/dof"]
        if post:
            header += ["R-hat", "ESS", "divergences", "converged"]
        header += ["notes"]
        self.setColumnCount(len(header))
        self.setHorizontalHeaderLabels(header)
        self.setRowCount(fit.n_bins)
        notes = fit.notes()
        for b in range(fit.n_bins):
            cells = [str(int(fit.bin_index[b])), _fmt(fit.q[b])]
            for j, name in enumerate(fit.param_names):
                v, e = fit.values[b, j], fit.errors[b, j]
                cells.append(_fmt(v) + ("" if name not in fit.free else f" ± {_fmt(e, 2)}"))
            cells.append(_fmt(fit.redchi2[b], 3))
            if post:
                d = fit.diagnostics
                r_hat = np.nanmax([d["r_hat"][n][b] for n in d["r_hat"]]) if d["r_hat"] else np.nan
                ess = np.nanmin([d["ess_bulk"][n][b] for n in d["ess_bulk"]]) if d["ess_bulk"] else np.nan
                cells += [_fmt(r_hat, 4), _fmt(ess, 4), str(int(d["divergences"][b])),
                          "yes" if d["converged"][b] else "no"]
            cells.append("; ".join(notes[b]))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not fit.success[b]:
                    item.setForeground(Qt.GlobalColor.gray)
                self.setItem(b, c, item)
        self.resizeColumnsToContents()

    def _selected(self) -> None:
        rows = {i.row() for i in self.selectedIndexes()}
        if rows and self.fit is not None:
            self.bin_selected.emit(int(self.fit.bin_index[min(rows)]))


class PosteriorPanel(QWidget):
    """Corner or trace plot (ArviZ, rendered by matplotlib) of one bin's posterior."""

    def __init__(self, view: Any) -> None:
        super().__init__()
        self.view = view
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("posterior of the selected bin:"))
        self.style = QComboBox()
        self.style.addItems(["corner", "trace"])
        self.style.currentIndexChanged.connect(lambda *_: self.refresh())
        bar.addWidget(self.style)
        self.state = QLabel("run a Bayesian fit and select a bin")
        bar.addWidget(self.state)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.image = QLabel("")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.image)
        layout.addWidget(scroll, 1)
        self.fit: Any = None
        self.column: int | None = None
        self.rendered: tuple[int, str] | None = None

    def show_bin(self, fit: Any, column: int | None) -> None:
        self.fit, self.column = fit, column
        self.refresh()

    def refresh(self) -> None:
        fit, column, style = self.fit, self.column, self.style.currentText()
        self.rendered = None
        if fit is None or fit.posterior is None:
            self.image.setPixmap(QPixmap())
            self.state.setText("run a Bayesian fit and select a bin")
            return

        helper = self.view.session.helper

        def work(job: Any) -> tuple[int, bytes]:
            from xpcs_core.plot.posterior import posterior_bin

            col = posterior_bin(fit, column)
            png = helper.call("posterior_png", {"fit": one_bin(fit, col), "column": col, "style": style},
                              cancel=job.cancel)
            return col, png

        def done(out: tuple[int, bytes]) -> None:
            if fit is not self.fit:
                return
            pix = QPixmap()
            pix.loadFromData(out[1], "PNG")
            self.image.setPixmap(pix)
            self.state.setText(f"bin {out[0]}")
            self.rendered = (out[0], style)

        self.state.setText("drawing the posterior...")
        self.view.run_job(work, done, label="posterior plot")


def one_bin(fit: Any, column: int) -> Any:
    """The part of a FitResult a posterior plot of g2 column ``column`` needs (small to send)."""
    row = int(np.flatnonzero(np.asarray(fit.bin_index) == column)[0])
    sl = slice(row, row + 1)
    post = fit.posterior
    draws = {k: np.ascontiguousarray(v[:, :, sl]) for k, v in post.draws.items()}
    stats = {k: np.ascontiguousarray(v[:, :, sl]) for k, v in post.sample_stats.items()}
    return dataclasses.replace(
        fit, q=fit.q[sl], bin_index=fit.bin_index[sl], values=fit.values[sl], errors=fit.errors[sl],
        success=fit.success[sl], message=fit.message[sl], chi2=fit.chi2[sl], n_points=fit.n_points[sl],
        cov=fit.cov[sl], posterior=dataclasses.replace(post, draws=draws, sample_stats=stats),
        summary=None, diagnostics=None, tauq=None,
        lower=None if fit.lower is None else fit.lower[sl], upper=None if fit.upper is None else fit.upper[sl])
