"""``xpcs average FILES... -o OUT.h5``: average repeats of one partition after outlier rejection."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from xpcs_core.cli.main import json_option


def _num(v: float | None, fmt: str = ".4g") -> str:
    return "-" if v is None or not math.isfinite(v) else format(v, fmt)


def print_report(report: Any, *, title: str) -> None:
    """A rich table of every input: used or why not, weight and statistics."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 140))
    table = Table(title=title)
    for name, justify in (("file", "left"), ("used", "left"), ("weight", "right"), ("baseline", "right"),
                          ("contrast", "right"), ("⟨I⟩", "right"), ("I(t) spread", "right"),
                          ("reason", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in report.files:
        table.add_row(
            Path(s.path).name, "yes" if s.used else "[red]no[/red]",
            _num(s.weight, ".3f") if s.used and s.weight else "-",
            _num(s.baseline), _num(s.contrast), _num(s.mean_intensity), _num(s.stability, ".2%"),
            f"[red]{'; '.join(s.reasons)}[/red]" if s.reasons else "",
        )
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note: {note}[/yellow]")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The averaged result file (required unless --reject-only).")
@click.option("--reject", default="all", show_default=True, metavar="RULES",
              help="Rejection rules, comma-separated: baseline, contrast, intensity; 'all' or 'none'.")
@click.option("--baseline-ref", type=float, default=1.0, show_default=True, help="Expected g2 baseline.")
@click.option("--baseline-tol", type=click.FloatRange(min=0, min_open=True), default=0.05, show_default=True,
              help="Reject a file whose baseline is further than this from --baseline-ref.")
@click.option("--last-delays", "n_last", type=click.IntRange(1), default=None,
              help="Delays at the end used for the baseline (default: the last 10 %, at least 3).")
@click.option("--z-max", type=click.FloatRange(min=0, min_open=True), default=3.5, show_default=True,
              help="Robust z-score beyond which contrast or intensity is an outlier.")
@click.option("--q-range", type=(float, float), default=None, metavar="LO HI",
              help="Use only bins with q in [LO, HI] 1/Å for the statistics.")
@click.option("--reject-only", is_flag=True, help="List what would be rejected and why; write nothing.")
@json_option
def average(files: tuple[Path, ...], output: Path | None, reject: str, baseline_ref: float, baseline_tol: float,
            n_last: int | None, z_max: float, q_range: Any, reject_only: bool, as_json: bool) -> None:
    """Average result FILES of one partition: g2 weighted by inverse error variance, SAXS,
    I(t) concatenated, two-time maps; outliers (baseline, contrast, intensity) rejected first."""
    from xpcs_core.averaging import average as run_average

    if output is None and not reject_only:
        raise click.UsageError("give -o/--output (or --reject-only)")
    progress_ctx = callback = None
    if not reject_only and not as_json and len(files) > 1:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress_ctx = Progress(TextColumn("averaging"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=Console(stderr=True), transient=True)
        task = progress_ctx.add_task("averaging", total=None)

        def callback(done: int, total: int) -> None:
            progress_ctx.update(task, completed=done, total=total)

    try:
        if progress_ctx is not None:
            progress_ctx.start()
        report = run_average(files, None if reject_only else output, reject=reject, baseline_ref=baseline_ref,
                             baseline_tol=baseline_tol, z_max=z_max, n_last=n_last, q_range=q_range,
                             reject_only=reject_only, progress=callback)
    finally:
        if progress_ctx is not None:
            progress_ctx.stop()
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    verb = "would use" if reject_only else "averaged"
    print_report(report, title=f"{verb} {len(report.used)} of {len(report.files)} files")
    if report.output is not None:
        click.echo(f"wrote {report.output} ({len(report.used)} files, {len(report.rejected)} rejected)")
