"""``xpcs correlate RAW --qmap QMAP``: raw frames -> result file; ``xpcs regroup``: g2 of
another partition from a result's per-pixel sums."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import click

from xpcs_core.cli.main import backend_option, check_plot, json_option, plot_option


def _progress_bar() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
    )

    return Progress(
        TextColumn("correlating"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )


def _default_output(raw: Path) -> Path:
    stem = raw.stem.removesuffix("_master")
    return raw.with_name(f"{stem}_results.hdf")


def _print_summary(report: Any) -> None:
    click.echo(
        f"{report.raw}: {report.frames_selected} frames selected of {report.frames_total} "
        f"(stride {report.stride}, avg {report.avg}), {report.frames_used} used, "
        f"{report.frames_excluded} excluded ({report.bad_frames_method})"
    )
    if report.bad_frames:
        shown = ", ".join(map(str, report.bad_frames[:20])) + (" ..." if len(report.bad_frames) > 20 else "")
        click.echo(f"bad frames: {shown}")
    backend = report.backend.get("backend", "?")
    path = f", {report.multitau_path} path" if report.multitau_path else ""
    click.echo(
        f"{report.mode}: {report.n_pixels} pixels in {report.n_dynamic} dynamic / {report.n_static} static bins, "
        f"{report.segments} segment(s){path}; backend {backend}; {report.rate_fps:.0f} frames/s, "
        f"{report.timings.get('total', 0.0):.2f} s in all"
    )
    if report.twotime_bins:
        click.echo(f"two-time maps of bins {', '.join(map(str, report.twotime_bins))}")
    for message in report.warnings:
        click.echo(f"warning: {message}", err=True)
    click.echo(f"wrote {report.output}" + (f" and {report.g2ipif}" if report.g2ipif else ""))


@click.command()
@click.argument("raw", type=click.Path(path_type=Path))
@click.option("--qmap", "qmap_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="QMAP", help="Q-map file (xpcs qmap) or a result file whose /xpcs/qmap to use.")
@click.option("--mode", type=click.Choice(["multitau", "twotime", "both"]), default="multitau", show_default=True)
@click.option("--bins", default=None, metavar="LIST", help="Dynamic bins of the two-time maps, e.g. 1,3-5 (default all).")
@click.option("--segments", type=click.IntRange(1), default=1, show_default=True,
              help="Equal time segments: g2, SAXS 1D and two-time g2 per segment.")
@click.option("--bad-frames", "bad_frames", default=None, metavar="auto|LIST|FILE",
              help="Frames to exclude: auto (robust z-score of frame totals > 6; auto:T sets T), "
                   "a list like 3,17,100-120, or a file of indices.")
@click.option("--save-g2ipif", is_flag=True, help="Also write <result>_G2.hdf with the per-pixel G2/IP/IF (for regroup).")
@click.option("--frames", default=None, metavar="B:E", help="Correlate frames B to E-1 only.")
@click.option("--stride", type=click.IntRange(1), default=1, show_default=True, help="Use every N-th frame.")
@click.option("--avg", type=click.IntRange(1), default=1, show_default=True, help="Average N consecutive frames into one.")
@click.option("--frame-time", type=click.FloatRange(min=0, min_open=True), default=None, metavar="S",
              help="Frame period in seconds (required when the file does not hold it).")
@click.option("--dataset", default=None, metavar="PATH", help="HDF5 path of the frames (default /entry/data/data).")
@click.option("--chunk", type=click.IntRange(1), default=None, metavar="N", help="Frames per chunk.")
@backend_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="RESULT.h5", help="Result file (default <raw stem>_results.hdf next to RAW).")
@json_option
@plot_option
def correlate(raw: Path, qmap_path: Path, mode: str, bins: str | None, segments: int, bad_frames: str | None,
              save_g2ipif: bool, frames: str | None, stride: int, avg: int, frame_time: float | None,
              dataset: str | None, chunk: int | None, backend: str | None, output: Path | None,
              as_json: bool, plot_path: Path | None) -> None:
    """Correlate the raw frames RAW over the bins of QMAP; write a NeXus result file."""
    from xpcs_core.correlation import correlate as run
    from xpcs_core.errors import XpcsFormatError

    if not raw.exists():
        raise XpcsFormatError(raw, "no such file")
    output = output or _default_output(raw)
    check_plot(plot_path, {"RAW": raw, "--qmap": qmap_path, "-o": output})
    cancel = threading.Event()
    bar = _progress_bar()
    task = bar.add_task("frames", total=None, rate="")

    def progress(done: int, total: int) -> None:
        speed = bar.tasks[0].speed
        bar.update(task, completed=done, total=total, rate=f"{speed:,.0f} frames/s" if speed else "")

    bar.start()
    try:
        report = run(raw, str(qmap_path), output, mode=mode, bins=bins, segments=segments,
                     bad_frames=bad_frames, frames=frames, stride=stride, avg=avg, frame_time=frame_time,
                     dataset=dataset, chunk=chunk, save_g2ipif=save_g2ipif, backend=backend,
                     progress=progress, cancel=cancel)
    except KeyboardInterrupt:
        cancel.set()
        raise
    finally:
        bar.stop()
    if plot_path is not None:
        from xpcs_core.plot import save_figure

        save_figure("overview", report.output, plot_path)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_summary(report)


@click.command()
@click.argument("result", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--qmap", "qmap_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="OTHER", help="The other q-map (q-map file or result file) of the same detector.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="OUT.h5", help="New result file (atomically).")
@json_option
def regroup(result: Path, qmap_path: Path, output: Path, as_json: bool) -> None:
    """Recompute g2 of RESULT over the bins of OTHER from its per-pixel sums (--save-g2ipif)."""
    import warnings

    import numpy as np

    from xpcs_core.correlation import regroup as run
    from xpcs_core.io.outputs import check_outputs

    check_outputs({"-o": output}, {"RESULT": result, "--qmap": qmap_path})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = run(result, str(qmap_path), output)
    messages = [str(w.message) for w in caught]
    summary = {
        "source": str(result), "qmap": str(qmap_path), "output": str(output),
        "n_dynamic": int(data.qmap.dynamic.n_labels), "n_static": int(data.qmap.static.n_labels),
        "n_tau": int(np.size(data.multitau.delay_list)), "warnings": messages,
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for message in messages:
        click.echo(f"warning: {message}", err=True)
    click.echo(f"regrouped {result} over {summary['n_dynamic']} dynamic / {summary['n_static']} static bins "
               f"of {qmap_path}: wrote {output}")
