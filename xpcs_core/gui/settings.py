"""Where the viewer keeps its settings (last folder, window layout, view options)."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

ENV = "XPCS_GUI_SETTINGS"
"""Environment variable naming an INI file for the settings (``--settings`` wins)."""


def make_settings(path: str | os.PathLike[str] | None = None) -> QSettings:
    """An INI file at ``path`` (``--settings``), else ``$XPCS_GUI_SETTINGS``, else the
    user's settings of the viewer."""
    path = path or os.environ.get(ENV, "").strip() or None
    if path:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "xpcs", "viewer")
