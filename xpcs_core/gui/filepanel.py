"""File panel: the result files of a folder (optionally recursive) with their analysis
kinds, q/tau ranges and start time; name filter; multi-selection; reload; drag and drop."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from xpcs_core.gui.mainwindow import MainWindow

SUFFIXES = (".h5", ".hdf", ".hdf5", ".nxs", ".nx5")
COLUMNS = ("file", "analysis", "q range [Å⁻¹]", "τ range [s]", "start")
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def describe(path: str) -> list[str]:
    """The panel's columns for one file (raises for a file that is not a result file)."""
    from xpcs_core.io.result import open_result

    with open_result(path, validate=False) as res:
        return columns(path, {**res.summary(), "start_time": res.start_time})


def columns(path: str, s: dict[str, Any]) -> list[str]:
    """The panel's columns from a result's summary (plus its ``start_time``)."""
    start = s.get("start_time") or ""
    q = s.get("q_range")
    t = s.get("tau_range_s")
    return [Path(path).name, ", ".join(s["analysis"]),
            f"{q[0]:.3g} – {q[1]:.3g}" if q else "–", f"{t[0]:.3g} – {t[1]:.3g}" if t else "–", start]


def find_files(folder: str, recursive: bool) -> list[str]:
    """HDF5-like files of ``folder`` (and its subfolders), sorted by path."""
    root = Path(folder)
    it = root.rglob("*") if recursive else root.glob("*")
    return sorted(str(p) for p in it if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))


class FilePanel(QWidget):
    """Lists result files and drives the session's selection."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window = window
        self.session = window.session
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("folder of result files (or drop files here)")
        self.folder.returnPressed.connect(lambda: self.set_folder(self.folder.text()))
        browse = QPushButton("…")
        browse.setMaximumWidth(30)
        browse.clicked.connect(self._browse)
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        row2 = QHBoxLayout()
        self.recursive = QCheckBox("recursive")
        self.recursive.toggled.connect(lambda *_: self.rescan())
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter by name")
        reload_ = QPushButton("Reload")
        reload_.clicked.connect(self.reload)
        row2.addWidget(self.filter, 1)
        row2.addWidget(self.recursive)
        row2.addWidget(reload_)
        layout.addLayout(row2)
        self.model = QStandardItemModel(0, len(COLUMNS))
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.view, 1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(120)
        self._debounce.timeout.connect(self._push_selection)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._debounce.start())
        self._rows: set[str] = set()
        self.scanning = False
        self.session.opened.connect(self._opened)
        self.session.error.connect(lambda where, exc: self._failed(str(where), exc))

    # ------------------------------------------------------------ content
    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of result files", self.window.last_folder())
        if folder:
            self.set_folder(folder)

    def set_folder(self, folder: str, recursive: bool | None = None) -> Any:
        """List the files of ``folder`` (described in the background)."""
        if recursive is not None:
            self.recursive.blockSignals(True)
            self.recursive.setChecked(recursive)
            self.recursive.blockSignals(False)
        self.folder.setText(str(folder))
        self.window.remember_folder(str(folder))
        return self.rescan()

    def rescan(self) -> Any:
        folder = self.folder.text().strip()
        if not folder:
            return None
        if not Path(folder).is_dir():
            self.window.report_error(folder, NotADirectoryError(f"{folder}: not a folder"))
            return None
        keep = [p for p in self._rows if not _inside(p, folder)]
        self.model.removeRows(0, self.model.rowCount())
        self._rows.clear()
        recursive = self.recursive.isChecked()
        self.scanning = True

        def work(job: Any) -> list[tuple[str, list[str] | None, str]]:
            files = find_files(folder, recursive) + keep
            return [_row(p) for p in _progress(files, job)]

        def done(rows: list[tuple[str, list[str] | None, str]]) -> None:
            for path, cells, why in rows:
                self._add_row(path, cells, why)
            self.view.resizeColumnsToContents()
            self.window.status(f"{len(rows)} file(s) in {folder}")

        return self.window.jobs.start(work, label="scan folder", on_done=done,
                                      on_error=lambda exc: self.window.report_error(folder, exc),
                                      on_finish=lambda: setattr(self, "scanning", False))

    def add_files(self, paths: Iterable[str], *, describe: bool = True) -> Any:
        """Add files to the list at once; their columns are filled in the background (or,
        ``describe=False``, when the session has opened them)."""
        new = []
        for p in paths:
            key = str(Path(p).expanduser().resolve())
            if key not in self._rows:
                self._add_row(key, [Path(key).name, "…", "", "", ""], "")
                new.append(key)
        if not new or not describe:
            return None

        def done(rows: list[tuple[str, list[str] | None, str]]) -> None:
            for path, cells, why in rows:
                self._fill_row(path, cells, why)
            self.view.resizeColumnsToContents()

        return self.window.jobs.start(lambda job: [_row(p) for p in _progress(new, job)], label="describe files",
                                      on_done=done)

    def _opened(self, path: str) -> None:
        if path in self._rows and path in self.session.summaries:
            self._fill_row(path, columns(path, self.session.summaries[path]), "")
            self.view.resizeColumnsToContents()

    def _failed(self, path: str, exc: BaseException) -> None:
        if path in self._rows:
            self._fill_row(path, None, " ".join(str(exc).split()) or type(exc).__name__)

    def _fill_row(self, path: str, cells: list[str] | None, why: str) -> None:
        items = self.model.findItems(Path(path).name, Qt.MatchFlag.MatchExactly, 0)
        for first in items:
            if first.data(PATH_ROLE) != path:
                continue
            row = first.row()
            for c, text in enumerate(cells or [Path(path).name, "not a result file", "", "", ""]):
                item = self.model.item(row, c)
                item.setText(text)
                item.setToolTip(why or path)
                item.setEnabled(not why)

    def _add_row(self, path: str, cells: list[str] | None, why: str) -> None:
        key = str(Path(path).resolve())
        if key in self._rows:
            return
        cells = cells or [Path(path).name, "not a result file", "", "", ""]
        items = [QStandardItem(c) for c in cells]
        for item in items:
            item.setData(key, PATH_ROLE)
            item.setToolTip(why or key)
            if why:
                item.setEnabled(False)
        self.model.appendRow(items)
        self._rows.add(key)

    def reload(self) -> None:
        """Re-describe the listed files and reopen the selected ones."""
        if self.folder.text().strip():
            self.rescan()
        self.session.reload()

    # ------------------------------------------------------------ selection
    def selected_paths(self) -> list[str]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(PATH_ROLE) for r in rows]

    def select_paths(self, paths: Iterable[str]) -> None:
        """Select ``paths`` in the table (adding them when missing) and in the session."""
        keys = [str(Path(p).expanduser().resolve()) for p in paths]
        self.add_files(keys, describe=False)  # the session opens them and describes them
        sel = self.view.selectionModel()
        sel.blockSignals(True)
        sel.clearSelection()
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(PATH_ROLE) in keys:
                sel.select(self.proxy.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                           | QItemSelectionModel.SelectionFlag.Rows)
        sel.blockSignals(False)
        self.session.select(keys)

    def _push_selection(self) -> None:
        paths = self.selected_paths()
        if paths and paths != self.session.selected:
            self.session.select(paths)

    # ------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        self.window.open_paths(paths)
        event.acceptProposedAction()


def _row(path: str) -> tuple[str, list[str] | None, str]:
    try:
        return path, describe(path), ""
    except Exception as exc:
        return path, None, " ".join(str(exc).split()) or type(exc).__name__


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([Path(path).resolve(), Path(folder).resolve()]) == str(Path(folder).resolve())
    except ValueError:
        return False


def _progress(files: list[str], job: Any) -> Iterable[str]:
    for i, f in enumerate(files):
        if job.cancel.is_set():
            return
        job.progress(i, len(files))
        yield f
