"""Background jobs: a function run on a thread pool with progress, cancel and signals.

``JobManager.start(fn, ...)`` runs ``fn(job)`` off the GUI thread; ``fn`` may call
``job.progress(done, total)`` and pass ``job.cancel`` (a :class:`threading.Event`) to
the library, which raises :class:`~xpcs_core.errors.XpcsCancelled` when it is set.
Results, errors and progress arrive in the GUI thread through queued signals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from xpcs_core.errors import XpcsCancelled

log = logging.getLogger(__name__)


class JobSignals(QObject):
    """Signals of one job (created in the GUI thread, emitted from the worker)."""

    progress = Signal(int, int)
    done = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()


class Job(QRunnable):
    """One unit of background work."""

    def __init__(self, fn: Callable[[Job], Any], label: str = "") -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.label = label
        self.cancel = threading.Event()
        self.signals = JobSignals()
        self.started_at = 0.0
        self.result: Any = None
        self.error: BaseException | None = None
        self.state = "pending"  # pending, running, done, failed, cancelled

    def progress(self, done: int, total: int) -> None:
        """Report progress (thread-safe; may be passed as a library's ``progress=``)."""
        self.signals.progress.emit(int(done), int(total))

    def run(self) -> None:  # worker thread
        self.state = "running"
        self.started_at = time.perf_counter()
        try:
            if self.cancel.is_set():
                raise XpcsCancelled(f"{self.label}: cancelled before it started")
            self.result = self.fn(self)
        except XpcsCancelled:
            self.state = "cancelled"
            self.signals.cancelled.emit()
        except BaseException as exc:  # reported to the GUI, never raised in the pool
            self.error = exc
            self.state = "failed"
            self.signals.failed.emit(exc)
        else:
            self.state = "done"
            self.signals.done.emit(self.result)
        finally:
            self.signals.finished.emit()


class JobManager(QObject):
    """Starts jobs on a private thread pool and keeps them until they finish."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.active: set[Job] = set()

    @property
    def busy(self) -> bool:
        return bool(self.active)

    def start(
        self,
        fn: Callable[[Job], Any],
        *,
        label: str = "",
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
        on_finish: Callable[[], None] | None = None,
    ) -> Job:
        """Run ``fn(job)`` in the background; the callbacks run in the GUI thread."""
        job = Job(fn, label)
        if on_done is not None:
            job.signals.done.connect(on_done)
        if on_error is not None:
            job.signals.failed.connect(on_error)
        else:
            job.signals.failed.connect(lambda exc: log.error("%s failed: %s", label, exc))
        if on_progress is not None:
            job.signals.progress.connect(on_progress)
        if on_cancel is not None:
            job.signals.cancelled.connect(on_cancel)
        if on_finish is not None:
            job.signals.finished.connect(on_finish)
        job.signals.finished.connect(lambda: self._finished(job))
        was_busy = self.busy
        self.active.add(job)
        if not was_busy:
            self.busy_changed.emit(True)
        self.pool.start(job)
        return job

    def _finished(self, job: Job) -> None:
        self.active.discard(job)
        if not self.active:
            self.busy_changed.emit(False)

    def cancel_all(self) -> None:
        for job in list(self.active):
            job.cancel.set()

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Cancel every job and wait for the threads; True when all stopped."""
        self.cancel_all()
        ok = self.pool.waitForDone(timeout_ms)
        if not ok:
            log.warning("background jobs still running at exit: %s", [j.label for j in self.active])
        return ok
