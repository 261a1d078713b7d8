"""``xpcs info FILE``: what a result file holds (layout, geometry, bins, delays)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import click

from xpcs_core.cli.main import backend_option, check_plot, json_option, plot_option


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@backend_option
@json_option
@plot_option
def info(file: Path, backend: str | None, as_json: bool, plot_path: Path | None) -> None:
    """Summarize a result file (APS NeXus or legacy layout).

    Exit status 2 with a one-line message if FILE is not a readable result file.
    """
    from xpcs_core.io.result import open_result

    check_plot(plot_path, {"FILE": file})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_result(file) as result:
            summary = result.summary()
            extra = {
                "unnormalized_g2": result.unnormalized_status,
                "start_time": result.start_time,
            }
    for w in caught:
        click.echo(f"xpcs: warning: {' '.join(str(w.message).split())}", err=True)
    if plot_path is not None:
        from xpcs_core.plot import save_figure

        save_figure("overview", file, plot_path)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    labels = {
        "layout": "layout",
        "analysis": "analysis",
        "detector_shape": "detector (H, W)",
        "n_frames": "frames",
        "frame_time_s": "frame time [s]",
        "energy_kev": "energy [keV]",
        "distance_m": "distance [m]",
        "pixel_size_m": "pixel size [m]",
        "beam_center_x": "beam centre x (column)",
        "beam_center_y": "beam centre y (row)",
        "n_dynamic_bins": "dynamic bins",
        "n_static_bins": "static bins",
        "q_range": "q range [1/Å]",
        "tau_range_s": "tau range [s]",
        "n_tau": "delays",
        "twotime_bins": "two-time bins",
    }
    table = Table(title=escape(str(file)), show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value")
    for key, label in labels.items():
        table.add_row(escape(label), escape(_fmt(summary[key])))
    table.add_row("unnormalized G2/IP/IF", escape(extra["unnormalized_g2"]))
    if extra["start_time"]:
        table.add_row("start time", escape(extra["start_time"]))
    Console().print(table)
