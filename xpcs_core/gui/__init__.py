"""The desktop viewer (PySide6 + pyqtgraph): ``xpcs gui [FILE|DIR ...]`` or
``python -m xpcs_core.gui``. Importing this package does not import Qt; see
:func:`xpcs_core.gui.app.run`."""

from __future__ import annotations

from typing import Any

from xpcs_core.gui.tabs import TAB_NAMES


def run(*args: Any, **kwargs: Any) -> int:
    """Start the viewer (see :func:`xpcs_core.gui.app.run`); returns the exit status."""
    from xpcs_core.gui.app import run as _run

    return _run(*args, **kwargs)


__all__ = ["TAB_NAMES", "run"]
