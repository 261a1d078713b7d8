"""The viewer's main window: file panel, one tab per view, menus, status bar."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTabWidget,
)

from xpcs_core.gui.backendmenu import BackendMenu, backend_status
from xpcs_core.gui.filepanel import FilePanel
from xpcs_core.gui.session import Session
from xpcs_core.gui.views import VIEW_CLASSES
from xpcs_core.gui.workers import JobManager

log = logging.getLogger(__name__)

WARM_UP_DELAY_MS = 1500
"""The helper process of Bayesian fits starts this long after the window."""


def error_text(where: str, exc: BaseException) -> str:
    """One line naming the file (or action) and the problem."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if where and where not in message:
        message = f"{where}: {message}"
    if not isinstance(exc, Exception) or type(exc).__module__.startswith("xpcs_core"):
        return message
    return f"{message} ({type(exc).__name__})"


class MainWindow(QMainWindow):
    """``MainWindow(settings)``; open files with :meth:`open_paths`."""

    def __init__(self, settings: QSettings, *, interactive: bool = True, warm_up: bool | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.interactive = interactive
        self.errors: list[str] = []
        self._boxes: list[QMessageBox] = []
        self.setWindowTitle("XPCS viewer")
        self.resize(1400, 900)
        self.jobs = JobManager(self)
        self.session = Session(self.jobs, self)
        self.files = FilePanel(self)
        dock = QDockWidget("Files", self)
        dock.setObjectName("files-dock")
        dock.setWidget(self.files)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.resizeDocks([dock], [400], Qt.Orientation.Horizontal)
        self.tabs = QTabWidget()
        self.views = {}
        for cls in VIEW_CLASSES:
            view = cls(self)
            self.views[view.name] = view
            self.tabs.addTab(view, view.title)
        self.setCentralWidget(self.tabs)
        self.tabs.currentChanged.connect(lambda _: self.current_view().refresh())
        self._menus(dock)
        self._status_bar()
        s = self.session
        s.selection_changed.connect(self._selection_changed)
        s.error.connect(lambda where, exc: self.report_error(str(where), exc))
        s.status.connect(self.status)
        s.provenance_changed.connect(self.provenance_label.setText)
        s.backend_changed.connect(self._backend_changed)
        self.jobs.busy_changed.connect(self.busy.setVisible)
        self._restore()
        if interactive if warm_up is None else warm_up:
            QTimer.singleShot(WARM_UP_DELAY_MS, self.warm_up)
        s.fit_changed.connect(lambda _: self.freeze_heap())
        self.views["g2"].prepare_layout()  # the empty grid, ready before any file opens
        self.freeze_heap()

    # ------------------------------------------------------------ building
    def _menus(self, dock: QDockWidget) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for text, key, slot in (
            ("&Open files…", QKeySequence.StandardKey.Open, self._open_files_dialog),
            ("Open &folder…", "Ctrl+Shift+O", self._open_folder_dialog),
            ("&Reload", QKeySequence.StandardKey.Refresh, self.files.reload),
            ("&Correlate raw data…", "Ctrl+R", self.correlate_dialog),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(slot)
            file_menu.addAction(action)
        file_menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)
        self.addAction(self.quit_action)
        self.backend_menu = BackendMenu(self.session, self)
        bar.addMenu(self.backend_menu)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(dock.toggleViewAction())
        for i, view in enumerate(self.views.values()):
            action = QAction(view.title, self)
            action.setShortcut(QKeySequence(f"Alt+{i + 1}") if i < 9 else QKeySequence())
            action.triggered.connect(lambda _=False, n=view.name: self.show_tab(n))
            view_menu.addAction(action)

    def _status_bar(self) -> None:
        bar = self.statusBar()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(90)
        self.busy.hide()
        self.backend_label = QLabel(backend_status(self.session))
        self.provenance_label = QLabel("")
        bar.addPermanentWidget(self.busy)
        bar.addPermanentWidget(self.provenance_label)
        bar.addPermanentWidget(self.backend_label)

    # ------------------------------------------------------------ views
    def current_view(self) -> Any:
        return self.tabs.currentWidget()

    def show_tab(self, name: str) -> Any:
        view = self.views[name]
        self.tabs.setCurrentWidget(view)
        view.refresh()
        return view

    @staticmethod
    def freeze_heap() -> None:
        """Move the objects alive now out of the garbage collector's view (``gc.freeze``).

        A full collection of the viewer's heap (Qt wrappers, plot items, arrays, modules)
        takes 100-300 ms on a busy machine and would stall the event loop; what exists
        after a file opened or a fit arrived is long-lived anyway."""
        QTimer.singleShot(0, gc.freeze)

    def _selection_changed(self) -> None:
        names = [Path(p).name for p in self.session.selected]
        self.setWindowTitle("XPCS viewer" + (f" — {', '.join(names[:3])}{' …' if len(names) > 3 else ''}"
                                             if names else ""))
        for view in self.views.values():
            view.dirty = True
        self.current_view().refresh()
        self.freeze_heap()

    def _backend_changed(self) -> None:
        self.backend_label.setText(backend_status(self.session))
        self.status(f"next computations run on {self.session.backend or 'the automatic choice'}")

    # ------------------------------------------------------------ files
    def open_paths(self, paths: Iterable[str], *, add: bool = False) -> None:
        """Open files (selected) and folders (listed; their first result file selected)."""
        files, folders = [], []
        for p in paths:
            path = Path(p).expanduser()
            if path.is_dir():
                folders.append(str(path))
            elif path.exists():
                files.append(str(path))
            else:
                self.report_error(str(path), FileNotFoundError(f"{path}: no such file or folder"))
        for folder in folders[:1]:
            job = self.files.set_folder(folder)
            if job is not None and not files:
                job.signals.done.connect(lambda rows: self._select_first(rows))
        if files:
            self.remember_folder(str(Path(files[0]).resolve().parent))
            keep = list(self.session.selected) if add else []
            self.files.select_paths(keep + [str(Path(f).resolve()) for f in files])
        if files or folders:
            self.views["g2"].prepare_layout()  # GUI work done while the files open

    def _select_first(self, rows: list[tuple[str, Any, str]]) -> None:
        good = [path for path, cells, why in rows if cells is not None]
        if good and not self.session.selected:
            self.files.select_paths(good[:1])

    def _open_files_dialog(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Open result files", self.last_folder(),
                                                "Result files (*.h5 *.hdf *.hdf5 *.nxs);;All files (*)")
        if names:
            self.open_paths(names)

    def _open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of result files", self.last_folder())
        if folder:
            self.open_paths([folder])

    def correlate_dialog(self) -> Any:
        from xpcs_core.gui.correlate import CorrelateDialog

        dialog = CorrelateDialog(self)
        dialog.show()
        return dialog

    def warm_up(self) -> Any:
        """Start the helper process of Bayesian fits and posterior plots and let it import
        and run its libraries once (emcee, ArviZ, numba, matplotlib), so the first
        Bayesian fit does not wait for them."""
        helper = self.session.helper
        return self.jobs.start(lambda job: helper.call("warm", cancel=job.cancel), label="warm-up",
                               on_error=lambda exc: log.info("warm-up: %s", exc))

    # ------------------------------------------------------------ messages
    def status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def report_error(self, where: str, exc: BaseException) -> None:
        """A message box naming the file (or action) and the problem; never raises."""
        text = error_text(where, exc)
        self.errors.append(text)
        log.warning("%s", text)
        if not self.interactive:
            print(f"xpcs gui: error: {text}", file=sys.stderr)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "XPCS viewer", text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.finished.connect(lambda *_: self._boxes.remove(box) if box in self._boxes else None)
        self._boxes.append(box)
        box.show()

    # ------------------------------------------------------------ settings
    def last_folder(self) -> str:
        return str(self.settings.value("last_folder", str(Path.home())))

    def remember_folder(self, folder: str) -> None:
        self.settings.setValue("last_folder", folder)

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        for view in self.views.values():
            view.load_options(self.settings)
        tab = self.settings.value("window/tab", "g2")
        if tab in self.views:
            self.tabs.setCurrentWidget(self.views[tab])
        recursive = self.settings.value("files/recursive", False)
        self.files.recursive.blockSignals(True)
        self.files.recursive.setChecked(str(recursive).lower() in ("true", "1"))
        self.files.recursive.blockSignals(False)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/tab", self.current_view().name)
        s.setValue("files/recursive", self.files.recursive.isChecked())
        for view in self.views.values():
            view.save_options(s)
        s.sync()

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        """Close: save settings, stop background jobs, close the files; the app then quits (0)."""
        try:
            self.save_settings()
        except Exception as exc:  # settings are a convenience: never block closing
            log.warning("could not save the settings: %s", exc)
        self.jobs.shutdown()
        self.session.close()
        for box in self._boxes:
            box.close()
        event.accept()
        app = QApplication.instance()
        if app is not None and self.interactive:
            app.quit()
