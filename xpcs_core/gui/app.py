"""Start the viewer: ``run(paths, screenshot=..., tabs=...)``; ``main()`` for ``python -m``."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from xpcs_core.errors import XpcsError, XpcsInputError


def _check_display(screenshot: bool) -> None:
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # screenshots need no screen
        return
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise XpcsInputError("no display: set DISPLAY (or QT_QPA_PLATFORM=offscreen to run without one)")


def application() -> Any:
    """The QApplication (created once)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "xpcs"])
        app.setApplicationName("XPCS viewer")
        app.setOrganizationName("xpcs")
    return app


def run(
    paths: Sequence[str] = (),
    *,
    screenshot: str | os.PathLike[str] | None = None,
    tabs: Sequence[str] | None = None,
    backend: str | None = None,
    settings_path: str | os.PathLike[str] | None = None,
) -> int:
    """Open the viewer on ``paths`` (files are selected, a folder is listed).

    With ``screenshot`` the named ``tabs`` (default: all) are rendered to
    ``screenshot/<tab>.png`` without a screen and the function returns 0; a file that
    cannot be opened then raises XpcsInputError. Otherwise the event loop runs until
    the window closes (Ctrl+Q or the close button) and its status (0) is returned.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")  # figures are rendered to images, never to windows
    _check_display(screenshot is not None)
    from xpcs_core.gui.screenshot import normalize_tabs

    tab_list = normalize_tabs(tabs)
    if backend is not None:
        from xpcs_core import backends

        backends.select(backend, load=False)  # unknown or unavailable: XpcsBackendError now
    app = application()
    from xpcs_core.gui.mainwindow import MainWindow
    from xpcs_core.gui.settings import make_settings

    window = MainWindow(make_settings(settings_path), interactive=screenshot is None)
    if backend is not None:
        window.session.set_backend(backend.lower())
    if screenshot is not None:
        return _screenshots(window, paths, screenshot, tab_list)
    previous_hook = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        traceback.print_exception(kind, exc, tb)
        window.report_error("internal error", exc)

    sys.excepthook = hook
    try:
        window.show()
        window.open_paths(paths)
        code = app.exec()
    finally:
        sys.excepthook = previous_hook
    return int(code)


def _screenshots(window: Any, paths: Sequence[str], directory: Any, tabs: list[str] | None) -> int:
    from xpcs_core.gui.screenshot import capture, wait_idle

    try:
        window.resize(1500, 950)
        window.show()
        window.open_paths(paths)
        wait_idle(window)
        if window.errors:
            raise XpcsInputError(window.errors[0])
        if window.session.current is None:
            raise XpcsInputError("--screenshot needs a result file (or a folder holding one)")
        files = capture(window, directory, tabs)
        if window.errors:
            raise XpcsError(f"{len(window.errors)} error(s) while drawing: {window.errors[0]}")
        for f in files:
            print(f)
    finally:
        window.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xpcs_core.gui``: the same options as ``xpcs gui``."""
    parser = argparse.ArgumentParser(prog="python -m xpcs_core.gui", description="XPCS viewer")
    parser.add_argument("paths", nargs="*", metavar="FILE|DIR")
    parser.add_argument("--screenshot", metavar="DIR", help="render tabs to DIR/<tab>.png and exit")
    parser.add_argument("--tab", action="append", metavar="NAME", help="tab to render (repeatable)")
    parser.add_argument("--backend", metavar="NAME", help="initial backend (default: as the CLI)")
    parser.add_argument("--settings", metavar="FILE.ini", help="keep the settings in this file")
    args = parser.parse_args(argv)
    try:
        return run(args.paths, screenshot=args.screenshot, tabs=args.tab, backend=args.backend,
                   settings_path=args.settings)
    except XpcsInputError as exc:
        print(f"xpcs gui: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except XpcsError as exc:
        print(f"xpcs gui: failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
