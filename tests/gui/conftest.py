"""Viewer tests: offscreen Qt, isolated settings, small synthetic files of both layouts.

Without PySide6, pyqtgraph or pytest-qt the whole folder is skipped (the core tests
still run). Install the ``gui`` and ``test`` extras to run it.
"""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")

_MISSING = [m for m in ("PySide6", "pyqtgraph", "pytestqt") if importlib.util.find_spec(m) is None]
if _MISSING:
    collect_ignore_glob = ["test_*.py"]
    print(f"tests/gui skipped: {', '.join(_MISSING)} not installed")  # noqa: T201
else:
    from pathlib import Path

    import pytest

    SHAPE = (96, 96)

    def _write(path: Path, layout: str, seed: int = 0, **extra: object) -> Path:
        from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

        spec = SyntheticSpec.for_shape(SHAPE, n_dyn=8, n_frames=2000, twotime=True, seed=seed, **extra)
        write_synthetic(path, layout=layout, spec=spec)
        return path

    @pytest.fixture(scope="session")
    def result_files(tmp_path_factory) -> dict[str, Path]:
        """``nexus`` and ``legacy`` synthetic files (multi-tau + two-time), plus ``repeat`` (another seed)."""
        d = tmp_path_factory.mktemp("results")
        return {
            "nexus": _write(d / "nexus.h5", "nexus"),
            "legacy": _write(d / "legacy.hdf", "legacy"),
            "repeat": _write(d / "repeat.h5", "nexus", seed=1),
        }

    @pytest.fixture
    def settings_path(tmp_path) -> Path:
        return tmp_path / "viewer.ini"

    @pytest.fixture
    def window(qtbot, settings_path, monkeypatch):
        """A main window with settings in a temporary INI file; no message boxes."""
        from xpcs_core.gui.mainwindow import MainWindow
        from xpcs_core.gui.settings import make_settings

        monkeypatch.setenv("XPCS_BACKEND", "numpy")  # the environment's choice, as on the CLI
        win = MainWindow(make_settings(settings_path), interactive=False)
        qtbot.addWidget(win)
        win.show()
        yield win
        win.close()
