"""Render tabs of the viewer to PNG files (``--screenshot DIR [--tab NAME ...]``)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication

from xpcs_core.errors import XpcsInputError
from xpcs_core.gui.tabs import TAB_NAMES

FIT_TABS = ("g2", "fit", "diffusion")


def tab_name(name: str) -> str:
    """The tab ``name`` refers to (case, dashes and spaces ignored: ``SAXS 2D`` = ``saxs-2d``)."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    for tab in TAB_NAMES:
        if re.sub(r"[^a-z0-9]", "", tab) == key:
            return tab
    raise XpcsInputError(f"unknown tab {name!r}; tabs: {', '.join(TAB_NAMES)}")


def wait_idle(window: Any, timeout: float = 300.0, settle: float = 0.15) -> bool:
    """Process events until no background job runs (and ``settle`` s passed); False on timeout."""
    app = QApplication.instance()
    deadline = time.perf_counter() + timeout
    quiet_since = None
    while time.perf_counter() < deadline:
        app.processEvents()
        busy = window.jobs.busy or window.files.scanning
        now = time.perf_counter()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= settle:
            return True
        time.sleep(0.01)
    return False


def capture(window: Any, directory: str | Path, tabs: Sequence[str] | None = None, *,
            fit: bool = True) -> list[Path]:
    """Show each tab, wait for its drawing, save ``DIR/<tab>.png``; returns the files.

    With ``fit`` a least-squares fit of the current file is run first when a g2, fit or
    diffusion tab is asked for (so those tabs show fits)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    names = [tab_name(t) for t in (tabs or TAB_NAMES)]
    wait_idle(window)
    res = window.session.current
    if fit and res is not None and "multitau" in res.analysis and any(n in FIT_TABS for n in names) \
            and window.session.fit_of(window.session.current_path) is None:
        window.views["fit"].start_fit(bayes=False)
        wait_idle(window)
    written = []
    for name in names:
        window.show_tab(name)
        wait_idle(window)
        path = out / f"{name}.png"
        if not window.grab().save(str(path), "PNG"):
            raise OSError(f"{path}: could not write the screenshot")
        written.append(path)
    return written


def normalize_tabs(tabs: Iterable[str] | None) -> list[str] | None:
    return None if not tabs else [tab_name(t) for t in tabs]
