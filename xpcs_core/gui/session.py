"""The viewer's state: opened result files, the selection, fits, the backend choice."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from xpcs_core.gui.workers import Job, JobManager


def _key(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


class Session(QObject):
    """Shared by every view. Files open in the background; views read arrays lazily.

    ``backend`` is None (the CLI's choice: ``--backend`` absent, so XPCS_BACKEND /
    XPCS_USE_JAX / priority decide) or the name picked in the Backend menu; every
    computation is called with ``backend=session.backend``.
    """

    selection_changed = Signal()
    opened = Signal(str)  # a file was opened (its summary is in ``summaries``)
    fit_changed = Signal(str)
    backend_changed = Signal()
    provenance_changed = Signal(str)
    status = Signal(str)
    error = Signal(str, object)  # where (file or action), exception

    def __init__(self, jobs: JobManager, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.results: dict[str, Any] = {}
        self.summaries: dict[str, dict[str, Any]] = {}
        self.selected: list[str] = []
        self.fits: dict[str, Any] = {}
        self.tauq: dict[str, Any] = {}
        self.backend: str | None = None
        self.last_provenance = ""
        self._maps: dict[str, dict[str, np.ndarray]] = {}
        self._opening: Job | None = None
        self._helper: Any = None

    @property
    def helper(self) -> Any:
        """The helper process of Bayesian fits and posterior plots (started on first use)."""
        if self._helper is None:
            from xpcs_core.gui.helper import Helper

            self._helper = Helper()
        return self._helper

    # -------------------------------------------------------------- files
    @property
    def current(self) -> Any | None:
        """The first selected result (the one single-file views show)."""
        return self.results.get(self.selected[0]) if self.selected else None

    @property
    def current_path(self) -> str | None:
        return self.selected[0] if self.selected else None

    @property
    def selection(self) -> list[Any]:
        return [self.results[p] for p in self.selected if p in self.results]

    def select(self, paths: Iterable[str | Path], *, on_done: Callable[[], None] | None = None) -> Job | None:
        """Open (in the background) and select ``paths``; files that fail are reported
        and left out of the selection."""
        keys = [_key(p) for p in paths]
        missing = [k for k in keys if k not in self.results]
        if not missing:
            self._set_selection(keys)
            if on_done is not None:
                on_done()
            return None

        def work(job: Job) -> tuple[Any, ...]:
            from xpcs_core.io.result import open_result

            opened, failed, notes, summaries = {}, [], [], {}
            for i, k in enumerate(missing):
                if job.cancel.is_set():
                    break
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        res = open_result(k)
                        res.dynamic_q  # noqa: B018 -- the label values, read once here
                        summaries[k] = {**res.summary(), "start_time": res.start_time}
                    notes += [f"{Path(k).name}: {w.message}" for w in caught]
                    opened[k] = res
                except Exception as exc:
                    failed.append((k, exc))
                job.progress(i + 1, len(missing))
            return opened, failed, notes, summaries

        def done(out: tuple[Any, ...]) -> None:
            opened, failed, notes, summaries = out
            self.results.update(opened)
            self.summaries.update(summaries)
            for k in opened:
                self.opened.emit(k)
            for k, exc in failed:
                self.error.emit(k, exc)
            for note in notes[:3]:
                self.status.emit(note)
            self._set_selection([k for k in keys if k in self.results])
            if on_done is not None:
                on_done()

        self.status.emit(f"opening {len(missing)} file(s)...")
        self._opening = self.jobs.start(work, label="open files", on_done=done,
                                        on_error=lambda exc: self.error.emit("opening files", exc))
        return self._opening

    def _set_selection(self, keys: list[str]) -> None:
        self.selected = keys
        self.selection_changed.emit()

    def reload(self) -> Job | None:
        """Close and reopen the selected files (after they were rewritten)."""
        keep = list(self.selected)
        for k in keep:
            res = self.results.pop(k, None)
            if res is not None:
                res.close()
            self._maps.pop(k, None)
        return self.select(keep)

    def close(self) -> None:
        if self._helper is not None:
            self._helper.stop()
        for res in self.results.values():
            with contextlib.suppress(Exception):
                res.close()
        self.results.clear()

    # ------------------------------------------------------------ q maps
    def maps(self, path: str, on_ready: Callable[[dict[str, np.ndarray]], None]) -> dict[str, np.ndarray] | None:
        """Per-pixel q and phi of file ``path``: returned at once when known, else
        computed in the background (on the chosen backend) and passed to ``on_ready``."""
        if path in self._maps:
            return self._maps[path]
        res = self.results.get(path)
        if res is None:
            return None
        stored = getattr(res.qmap, "maps", {}) or {}
        if "q" in stored and "phi" in stored:
            self._maps[path] = {"q": np.asarray(stored["q"]), "phi": np.asarray(stored["phi"])}
            return self._maps[path]
        backend = self.backend

        def work(job: Job) -> dict[str, np.ndarray]:
            import xpcs_core as xc
            from xpcs_core.errors import XpcsError

            try:  # a display aid: the reference backend, no heavy library imported in the viewer
                qm = xc.compute_qmap(res.geometry, backend="numpy")
            except XpcsError:
                qm = xc.compute_qmap(res.geometry, backend=backend)
            return {"q": np.asarray(qm["q"]), "phi": np.asarray(qm["phi"])}

        def done(maps: dict[str, np.ndarray]) -> None:
            self._maps[path] = maps
            on_ready(maps)

        self.jobs.start(work, label="q-map", on_done=done, on_error=lambda exc: self.error.emit(path, exc))
        return None

    # ----------------------------------------------------- fits, backend
    def set_fit(self, path: str, fit: Any) -> None:
        self.fits[path] = fit
        self.tauq.pop(path, None)
        self.record(fit.provenance, "fit")
        self.fit_changed.emit(path)

    def fit_of(self, path: str | None) -> Any | None:
        return None if path is None else self.fits.get(path)

    def set_backend(self, name: str | None) -> None:
        self.backend = name
        self.backend_changed.emit()

    def record(self, provenance: Any, what: str) -> None:
        """Remember which backend answered the last computation (for the status bar)."""
        prov = provenance.as_dict() if hasattr(provenance, "as_dict") else dict(provenance or {})
        name = prov.get("backend") or "?"
        text = f"last {what}: {name}"
        if prov.get("fallback_from"):
            text += f" (fallback from {prov['fallback_from']})"
        post = prov.get("posterior")
        if isinstance(post, dict) and post.get("backend") and post.get("backend") != name:
            text += f", posterior: {post['backend']}"
        self.last_provenance = text
        self.provenance_changed.emit(text)
