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
        self.stored: dict[str, list[str]] = {}  # models with a fit stored in each opened file
        self.stored_shown: dict[str, str] = {}  # files whose shown fit is the stored one: its model
        self._stored_cache: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
        self._fit_serial: dict[str, int] = {}  # counts set_fit per file (a late read must not win)
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

        prefer = dict(self.stored_shown)  # after a reload: the stored model that was shown

        def work(job: Job) -> tuple[Any, ...]:
            from xpcs_core.io.result import open_result

            opened, failed, notes, summaries, stored = {}, [], [], {}, {}
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
                else:  # a broken fit group is reported; the file still opens
                    stored[k] = _stored_at_opening(k, prefer.get(k), failed)
                job.progress(i + 1, len(missing))
            return opened, failed, notes, summaries, stored

        def done(out: tuple[Any, ...]) -> None:
            opened, failed, notes, summaries, stored = out
            self.results.update(opened)
            self.summaries.update(summaries)
            for k in opened:
                self._put_stored(k, *stored.get(k, ([], None)))
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
            self.stored.pop(k, None)
            self._stored_cache = {key: v for key, v in self._stored_cache.items() if key[0] != k}
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
    def set_fit(self, path: str, fit: Any, *, stored: str | None = None) -> None:
        """Show ``fit`` for ``path``: a fit made here, or the one of model ``stored`` read
        from the file (the same views show both; a new fit replaces either)."""
        self.fits[path] = fit
        self._fit_serial[path] = self._fit_serial.get(path, 0) + 1
        self.tauq.pop(path, None)
        if stored is None:
            self.stored_shown.pop(path, None)
            self.record(fit.provenance, "fit")
        else:
            self.stored_shown[path] = stored
        self.fit_changed.emit(path)

    def fit_of(self, path: str | None) -> Any | None:
        return None if path is None else self.fits.get(path)

    # ----------------------------------------------------- stored fits
    def _put_stored(self, path: str, models: list[str], first: tuple[Any, dict[str, Any]] | None) -> None:
        """At opening: the models stored in ``path``; the first one's fit is shown unless
        a fit made here is (a reload after ``xpcs fit --in-place`` shows the new one)."""
        self.stored[path] = list(models)
        if first is None:
            if path in self.stored_shown:  # reloaded without it: no longer in the file
                self.stored_shown.pop(path)
                self.fits.pop(path, None)
            return
        fit, info = first
        self._stored_cache[(path, info["model"])] = first
        if path not in self.fits or path in self.stored_shown:
            self.fits[path] = fit
            self.stored_shown[path] = info["model"]
            self.tauq.pop(path, None)

    def show_stored(self, path: str, model: str) -> Job | None:
        """Show the fit of ``model`` stored in ``path`` (read in the background once)."""
        cached = self._stored_cache.get((path, model))
        if cached is not None:
            self.set_fit(path, cached[0], stored=model)
            return None

        serial = self._fit_serial.get(path, 0)

        def work(job: Job) -> tuple[Any, dict[str, Any]]:
            return _load_stored(path, model)

        def done(out: tuple[Any, dict[str, Any]]) -> None:
            self._stored_cache[(path, model)] = out
            if self._fit_serial.get(path, 0) == serial:  # no other fit arrived meanwhile
                self.set_fit(path, out[0], stored=model)

        return self.jobs.start(work, label="stored fit", on_done=done, on_error=lambda exc: self.error.emit(path, exc))

    def stored_label(self, path: str | None) -> str:
        """``stored fit: single, numpy (emcee), 2025-06-01 14:03 UTC`` for a shown stored fit, else ''."""
        model = self.stored_shown.get(path) if path else None
        cached = self._stored_cache.get((path, model)) if model else None
        if cached is None:
            return ""
        info = cached[1]
        backend = info.get("backend") or "?"
        if info.get("sampler"):
            backend += f" ({info['sampler']})"
        created = info.get("created")
        utc = " UTC" if created and created.endswith(("+00:00", "Z")) else ""
        when = f", {created[:16].replace('T', ' ')}{utc}" if created else ""
        return f"stored fit: {model}, {backend}{when}"

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


def _load_stored(path: str, model: str) -> tuple[Any, dict[str, Any]]:
    """The fit of ``model`` stored in ``path`` and what labels it."""
    from xpcs_core.fitting.load import load_fit, stored_fit_info

    return load_fit(path, model), stored_fit_info(path, model)


def _stored_at_opening(path: str, prefer: str | None,
                       failed: list[tuple[str, BaseException]]) -> tuple[list[str], Any]:
    """(models stored in ``path``, (fit, info) of ``prefer`` if stored, else of the first);
    a file whose fit group cannot be read adds to ``failed``."""
    from xpcs_core.fitting.load import stored_fits

    models: list[str] = []
    try:
        models = stored_fits(path)
        if not models:
            return models, None
        return models, _load_stored(path, prefer if prefer in models else models[0])
    except Exception as exc:
        failed.append((path, exc))
        return models, None
