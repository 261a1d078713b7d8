"""``xpcs batch INPUT... -o OUTDIR`` / ``xpcs batch --job JOB.toml``: many files on Dask distributed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from xpcs_core.cli.main import backend_option, json_option

#: CLI option -> BatchSettings field, for options that override a job file
_OVERRIDES = ("qmap", "mode", "bad_frames", "frame_time", "fit", "model", "bayes", "chains", "warmup", "draws",
              "average", "reject", "seed", "scheduler", "workers", "tls_ca_file", "tls_cert", "tls_key", "backend",
              "output")


def _d(row: dict[str, Any]) -> str:
    v, e = row.get("D_um2_per_s"), row.get("D_um2_per_s_err")
    if v is None:
        return "-"
    return f"{v:.4g} ± {e:.2g}" if e is not None and math.isfinite(e) else f"{v:.4g}"


def _bins(row: dict[str, Any]) -> str:
    if row.get("bins_total") is None:
        return "-"
    done = row["bins_converged"] if row.get("bins_converged") is not None else row["bins_fitted"]
    return f"{done}/{row['bins_total']}"


def print_summary(outcome: Any, bayes: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 140))
    table = Table(title=f"batch: {len(outcome.rows)} job(s) into {outcome.outdir}")
    for name, justify in (("input", "left"), ("kind", "left"), ("status", "left"), ("D [µm²/s]", "right"),
                          ("converged" if bayes else "bins fitted", "right"), ("time [s]", "right"),
                          ("reason", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    style = {"ok": "green", "skipped": "cyan", "failed": "red"}
    for row in outcome.rows:
        reason = row.get("reason") or ""
        if row.get("kind") == "average" and row.get("n_used") is not None:
            reason = f"{row['n_used']} used, {row['n_rejected']} rejected" + (f"; {reason}" if reason else "")
        table.add_row(Path(row["input"]).name, row.get("kind") or "?",
                      f"[{style.get(row['status'], 'white')}]{row['status']}[/]", _d(row), _bins(row),
                      f"{row.get('t_total_s') or 0:.2f}", reason)
    console.print(table)


def _progress(as_json: bool) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-- files/min" if speed is None else f"{speed * 60:.1f} files/min")

    bar = Progress(TextColumn("files"), BarColumn(), MofNCompleteColumn(), RateColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True, disable=as_json)
    task = bar.add_task("files", total=None)

    def callback(done: int, total: int, row: dict[str, Any]) -> None:
        bar.update(task, completed=done, total=total)

    return bar, callback


@click.command()
@click.argument("inputs", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--job", "job", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A job file (TOML) with the same fields; options given here override it.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The output folder (per-file results, average.h5, the manifest).")
@click.option("--qmap", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Q-map file for the raw stacks.")
@click.option("--mode", type=click.Choice(["multitau", "twotime", "both"]), default="multitau", show_default=True)
@click.option("--bad-frames", default=None, metavar="auto|LIST|FILE", help="Bad frames of the raw stacks.")
@click.option("--frame-time", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Frame period of raw stacks that do not record it (.npy).")
@click.option("--fit", is_flag=True, help="Fit g2 of every result (and of the average).")
@click.option("--model", type=click.Choice(["single", "stretched", "double"]), default="single", show_default=True)
@click.option("--bayes", is_flag=True, help="Also sample the posterior of every fit.")
@click.option("--chains", type=click.IntRange(1), default=None, help="Posterior chains (emcee: walkers).")
@click.option("--warmup", type=click.IntRange(0), default=None, help="Posterior warm-up iterations.")
@click.option("--draws", type=click.IntRange(1), default=None, help="Posterior draws per chain.")
@click.option("--average", is_flag=True, help="Average the results (with outlier rejection) into OUTDIR/average.h5.")
@click.option("--reject", default="all", show_default=True, metavar="RULES", help="Averaging rejection rules.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Existing cluster: tcp://HOST:PORT, tls://HOST:PORT or a scheduler file (else XPCS_DASK_SCHEDULER, "
                   "else a LocalCluster on 127.0.0.1).")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="LocalCluster worker processes (default: CPU count); with --scheduler, workers to wait for.")
@click.option("--tls-ca-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None)
@backend_option
@json_option
@click.pass_context
def batch(ctx: click.Context, inputs: tuple[Path, ...], job: Path | None, as_json: bool, **options: Any) -> None:
    """Correlate raw stacks, fit results and average them, one Dask task per INPUT.

    Inputs are told apart by content (result files vs raw stacks). A rerun skips inputs
    whose outputs are up to date and retries the failed ones. Exit 1 if any input failed.
    """
    from xpcs_core.batching import BatchSettings, load_job, run_batch
    from xpcs_core.errors import XpcsError

    if job is not None and inputs:
        raise click.UsageError("give INPUT files or --job, not both")
    if job is None and not inputs:
        raise click.UsageError("give INPUT files (or --job JOB.toml)")
    settings = load_job(job) if job is not None else BatchSettings(inputs=[str(p) for p in inputs])
    for name in _OVERRIDES:
        source = ctx.get_parameter_source(name)
        if job is None or source not in (click.core.ParameterSource.DEFAULT, None):
            value = options[name]
            setattr(settings, name, str(value) if isinstance(value, Path) else value)
    if not settings.output:
        raise click.UsageError("give -o/--output OUTDIR")
    bar, callback = _progress(as_json)

    def started(link: str | None, n_workers: int) -> None:
        import importlib.util

        hint = " (install bokeh>=3.1 to see it)" if link and importlib.util.find_spec("bokeh") is None else ""
        click.echo(f"dask: {n_workers} worker(s); dashboard: {link or 'none'}{hint}", err=True)

    with bar:
        outcome = run_batch(settings, progress=callback, on_start=started)
    if as_json:
        click.echo(json.dumps({"outdir": str(outcome.outdir), "dashboard": outcome.dashboard,
                               "rows": outcome.rows}, indent=2, default=str))
    else:
        print_summary(outcome, settings.bayes)
    if outcome.failed:
        raise XpcsError(f"{len(outcome.failed)} of {len(outcome.rows)} job(s) failed: "
                        + "; ".join(f"{Path(r['input']).name}: {r['reason']}" for r in outcome.failed[:3]))
