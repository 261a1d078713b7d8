"""``xpcs gui [FILE|DIR ...] [--screenshot DIR] [--tab NAME ...]``: the desktop viewer."""

from __future__ import annotations

from pathlib import Path

import click

from xpcs_core.cli.main import backend_option
from xpcs_core.gui.tabs import TAB_NAMES


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[FILE|DIR]...")
@click.option("--screenshot", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Render the tabs of the given file to DIR/<tab>.png and exit (no screen needed).")
@click.option("--tab", "tabs", multiple=True, metavar="NAME",
              help=f"Tab to render with --screenshot (repeatable; default all): {', '.join(TAB_NAMES)}.")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE.ini", help="Keep the settings (last folder, layout, view options) in FILE.ini.")
@backend_option
def gui(paths: tuple[Path, ...], screenshot: Path | None, tabs: tuple[str, ...], settings_path: Path | None,
        backend: str | None) -> None:
    """Open the viewer on result files (selected) or a folder (listed).

    Ctrl+Q or closing the window quits with status 0. Settings persist with QSettings
    (the user's viewer settings, or --settings FILE.ini, or XPCS_GUI_SETTINGS=FILE.ini).
    """
    try:
        from xpcs_core.gui.app import run
    except ImportError as exc:
        raise click.ClickException(
            f"the viewer needs PySide6 and pyqtgraph ({exc}); pip install 'xpcs-core[gui]'"
        ) from None
    code = run([str(p) for p in paths], screenshot=screenshot, tabs=list(tabs) or None, backend=backend,
               settings_path=settings_path)
    if code:
        raise click.exceptions.Exit(code)
