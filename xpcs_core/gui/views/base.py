"""Base class of the viewer's tabs: lazy refresh, background jobs, persisted options."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from xpcs_core.errors import XpcsInputError
from xpcs_core.gui.workers import Job

if TYPE_CHECKING:
    from xpcs_core.gui.mainwindow import MainWindow


class View(QWidget):
    """One tab. Subclasses set ``name`` (for ``--tab``) and ``title`` and implement
    :meth:`update_view`, which runs when the tab is shown after a change."""

    name = "view"
    title = "View"

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window = window
        self.session = window.session
        self.jobs = window.jobs
        self.dirty = True
        self._jobs: set[Job] = set()
        self._latest: dict[str, Job] = {}
        self._persist: dict[str, QWidget] = {}
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(4, 4, 4, 4)
        self.controls = QHBoxLayout()
        self.layout_.addLayout(self.controls)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #a0522d;")
        self.note.hide()
        self.layout_.addWidget(self.note)

    # ------------------------------------------------------------ refresh
    def mark_dirty(self) -> None:
        self.dirty = True
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Redraw if something changed since the last draw (errors go to a message box)."""
        if not self.dirty:
            return
        self.dirty = False
        self.show_note("")
        try:
            self.update_view()
        except Exception as exc:
            self.show_note(str(exc))
            self.window.report_error(self.session.current_path or self.title, exc)

    def redraw(self) -> None:
        """Force a redraw now (after an option changed)."""
        self.dirty = True
        self.refresh()

    def update_view(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        self.refresh()

    def show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def run_job(self, fn: Callable[[Job], Any], on_done: Callable[[Any], None], *, label: str = "",
                on_progress: Callable[[int, int], None] | None = None,
                on_cancel: Callable[[], None] | None = None,
                where: str | None = None) -> Job:
        """Run ``fn`` in the background; errors become a message box naming ``where``.

        Only the latest job of a ``label`` delivers its result: a redraw asked for while
        an older one runs makes the older one's answer stale.
        """
        holder: list[Job] = []
        key = label or self.title

        def finish() -> None:
            if holder:
                self._jobs.discard(holder[0])

        def done(result: Any) -> None:
            if holder and self._latest.get(key) is holder[0]:
                on_done(result)

        def failed(exc: BaseException) -> None:
            if holder and self._latest.get(key) is not holder[0]:
                return
            self.show_note(str(exc))
            self.window.report_error(where or self.session.current_path or self.title, exc)

        job = self.jobs.start(fn, label=key, on_done=done, on_error=failed,
                              on_progress=on_progress, on_cancel=on_cancel, on_finish=finish)
        holder.append(job)
        self._jobs.add(job)
        self._latest[key] = job
        return job

    # ------------------------------------------------------------ widgets
    def add_control(self, label: str | None, widget: QWidget, key: str | None = None) -> QWidget:
        if label:
            self.controls.addWidget(QLabel(label))
        self.controls.addWidget(widget)
        if key is not None:
            self._persist[key] = widget
        return widget

    def combo(self, items: list[str], *, current: str | None = None) -> QComboBox:
        box = QComboBox()
        box.addItems(items)
        if current is not None:
            box.setCurrentText(current)
        box.currentIndexChanged.connect(lambda *_: self.redraw())
        return box

    def check(self, text: str, checked: bool = False) -> QCheckBox:
        box = QCheckBox(text)
        box.setChecked(checked)
        box.toggled.connect(lambda *_: self.redraw())
        return box

    def spin(self, lo: int, hi: int, value: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(lo, hi)
        box.setValue(value)
        box.valueChanged.connect(lambda *_: self.redraw())
        return box

    def dspin(self, lo: float, hi: float, value: float, step: float = 0.1, decimals: int = 2) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setDecimals(decimals)
        box.setSingleStep(step)
        box.setValue(value)
        box.valueChanged.connect(lambda *_: self.redraw())
        return box

    def number_edit(self, placeholder: str = "auto", width: int = 80, live: bool = True) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        edit.setMaximumWidth(width)
        if live:
            edit.editingFinished.connect(self.redraw)
        return edit

    @staticmethod
    def number(edit: QLineEdit, what: str) -> float | None:
        """The float in ``edit`` (None when empty); XpcsInputError naming ``what`` otherwise."""
        text = edit.text().strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise XpcsInputError(f"{what}: {text!r} is not a number") from None

    def end_controls(self) -> None:
        self.controls.addStretch(1)

    # ------------------------------------------------------------ settings
    def save_options(self, settings: QSettings) -> None:
        for key, w in self._persist.items():
            name = f"views/{self.name}/{key}"
            if isinstance(w, QCheckBox):
                settings.setValue(name, w.isChecked())
            elif isinstance(w, QComboBox):
                settings.setValue(name, w.currentText())
            elif isinstance(w, QSpinBox | QDoubleSpinBox):
                settings.setValue(name, w.value())
            elif isinstance(w, QLineEdit):
                settings.setValue(name, w.text())

    def load_options(self, settings: QSettings) -> None:
        for key, w in self._persist.items():
            name = f"views/{self.name}/{key}"
            if not settings.contains(name):
                continue
            value = settings.value(name)
            w.blockSignals(True)
            try:
                if isinstance(w, QCheckBox):
                    w.setChecked(str(value).lower() in ("true", "1"))
                elif isinstance(w, QComboBox):
                    if w.findText(str(value)) >= 0:
                        w.setCurrentText(str(value))
                elif isinstance(w, QSpinBox):
                    w.setValue(int(float(value)))
                elif isinstance(w, QDoubleSpinBox):
                    w.setValue(float(value))
                elif isinstance(w, QLineEdit):
                    w.setText(str(value))
            except (TypeError, ValueError):
                pass
            finally:
                w.blockSignals(False)


def centered(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label
