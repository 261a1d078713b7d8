"""``xpcs fit FILE``: fit g2 of every q-bin (least squares, optionally Bayesian), then tau(q)."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import click

from xpcs_core.cli.main import backend_option, check_plot, json_option, plot_option


def _registered_model(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--model`` from the model registry, so models registered by users work too."""
    from xpcs_core.fitting.models import list_models

    names = list_models()
    if value not in names:
        raise click.BadParameter(f"unknown model {value!r}; registered models: {', '.join(names)}")
    return value


def _finite_positive(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a finite number > 0, got {value}")
    return value


def _parse_fix(items: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--fix") from None
        if not math.isfinite(out[name.strip()]):
            raise click.BadParameter(f"fixed value must be finite: {item!r}", param_hint="--fix")
    return out


def _parse_bounds(items: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    out = {}
    for item in items:
        name, sep, rng = item.partition("=")
        lo, sep2, hi = rng.partition(":")
        try:
            if not (sep and sep2 and name):
                raise ValueError
            out[name.strip()] = (float(lo), float(hi))
        except ValueError:
            raise click.BadParameter(f"expected NAME=LO:HI, got {item!r}", param_hint="--bounds") from None
    return out


def _fmt(v: float | None, e: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    if e is None or not math.isfinite(e) or e <= 0:
        return f"{v:.5g}"
    return f"{v:.5g} ± {e:.2g}"


def _print_table(result: Any, bayes: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 140))
    table = Table(title=f"g2 fit: {result.model.name} model, backend {result.provenance.get('backend')}")
    table.add_column("bin", justify="right")
    table.add_column("q [1/Å]", justify="right")
    for name in result.param_names:
        table.add_column(name + (" (fixed)" if name not in result.free else ""), justify="right")
    table.add_column("χ²/dof", justify="right")
    table.add_column("converged" if bayes else "ok")
    table.add_column("notes")
    for row in result.bins():
        cells = [str(row["bin"]), f"{row['q']:.4g}" if row["q"] is not None else "-"]
        for name in result.param_names:
            p = row["params"][name]
            cells.append(_fmt(p["value"], p["err"]))
        cells.append(f"{row['redchi2']:.3g}" if row["redchi2"] is not None else "-")
        if bayes and "diagnostics" in row:
            cells.append("yes" if row["diagnostics"]["converged"] else "[red]no[/red]")
        else:
            cells.append("yes" if row["success"] else f"[red]{row['message']}[/red]")
        notes = [n for n in row.get("notes", []) if n not in ("posterior not converged", row["message"])]
        cells.append(f"[yellow]{'; '.join(notes)}[/yellow]" if notes else "")
        table.add_row(*cells)
    console.print(table)
    n_free_tau = int(sum(1 for row in result.bins() if row["success"] and not row["constrained"]))
    if n_free_tau:
        console.print(f"[yellow]{n_free_tau} bin(s) whose relaxation time the data do not constrain "
                      "(left out of tau(q)); see notes[/yellow]")
    tq = result.tauq
    if tq is None:
        console.print(f"tau(q): not fitted ({result.tauq_note or 'fewer than 2 usable bins'})")
        return
    alpha = tq.free.alpha if tq.free else float("nan")
    alpha_err = tq.free.alpha_err if tq.free else float("nan")
    console.print(
        f"tau(q) = a·q^-alpha: alpha = {_fmt(alpha, alpha_err)} (free fit); "
        f"with alpha = 2: a = {_fmt(tq.brownian.a, tq.brownian.a_err)} s·Å² ({tq.brownian.method}, {int(tq.used.sum())} bins)"
    )
    console.print(
        f"D = {_fmt(tq.D_A2_per_s, tq.D_A2_per_s_err)} Å²/s = {_fmt(tq.D_um2_per_s, tq.D_um2_per_s_err)} µm²/s"
        + (f"; R = {_fmt(tq.radius_m * 1e9, tq.radius_m_err * 1e9)} nm" if tq.radius_m is not None else "")
    )


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", default="single", show_default=True, callback=_registered_model,
              help="g2 model: any model of the registry (single, stretched, double and registered ones).")
@click.option("--fix", "fix", multiple=True, metavar="NAME=VALUE", help="Fix a parameter (repeatable).")
@click.option("--bounds", "bounds", multiple=True, metavar="NAME=LO:HI", help="Bounds of a parameter (repeatable).")
@click.option("--q-range", type=(float, float), default=None, metavar="LO HI", help="Fit only bins with q in [LO, HI] 1/Å.")
@click.option("--t-range", type=(float, float), default=None, metavar="LO HI", help="Fit only delays in [LO, HI] s.")
@click.option("--bayes", is_flag=True, help="Also sample the posterior of every bin (NUTS on jax, emcee on numpy).")
@click.option("--chains", type=click.IntRange(1), default=None, help="Chains (emcee: walkers); default 4 (emcee 32).")
@click.option("--warmup", type=click.IntRange(0), default=None, help="Warm-up iterations; default 500 (emcee 1000).")
@click.option("--draws", type=click.IntRange(1), default=None, help="Kept draws per chain; default 1000 (emcee 3000).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="Random seed, 0..2^63-1 (runs are reproducible).")
@click.option("--temperature", type=float, default=None, callback=_finite_positive,
              help="Sample temperature in K (for the hydrodynamic radius).")
@click.option("--viscosity", type=float, default=None, callback=_finite_positive,
              help="Solvent viscosity in Pa·s (for the hydrodynamic radius).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a copy of FILE with the fit under /xpcs/fit/<model>.")
@click.option("--in-place", is_flag=True, help="Add the fit to FILE itself (atomically).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write one CSV row per bin.")
@backend_option
@json_option
@plot_option
def fit(file: Path, model: str, fix: tuple[str, ...], bounds: tuple[str, ...], q_range: Any, t_range: Any,
        bayes: bool, chains: int | None, warmup: int | None, draws: int | None, seed: int,
        temperature: float | None, viscosity: float | None, output: Path | None, in_place: bool,
        csv_path: Path | None, backend: str | None, as_json: bool, plot_path: Path | None) -> None:
    """Fit g2(tau) of every q-bin of FILE at once, then tau(q) = a·q^-alpha and D."""
    from xpcs_core.errors import XpcsError, XpcsInputError
    from xpcs_core.fitting.api import fit_g2
    from xpcs_core.io.outputs import check_outputs

    fixed = _parse_fix(fix)
    bnds = _parse_bounds(bounds)
    if output is not None and in_place:
        raise click.UsageError("give either -o/--output or --in-place, not both")
    if not file.is_file():
        raise XpcsInputError(f"{file}: no such file")
    check_outputs({"-o": output, "--csv": csv_path, "--plot": plot_path}, {"FILE": file},
                  in_place={"--in-place": file if in_place else None})
    check_plot(plot_path, {"FILE": file})
    cancel = threading.Event()
    progress_ctx = None
    callback = None
    if bayes:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        progress_ctx = Progress(
            TextColumn("posterior"), BarColumn(), TextColumn("{task.completed}/{task.total} iterations"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True,
        )
        task = progress_ctx.add_task("sampling", total=None)

        def callback(done: int, total: int) -> None:
            progress_ctx.update(task, completed=done, total=total)

    try:
        if progress_ctx is not None:
            progress_ctx.start()
        result = fit_g2(
            str(file), model=model, fix=fixed, bounds=bnds, q_range=q_range, t_range=t_range,
            bayes=bayes, chains=chains, warmup=warmup, draws=draws, seed=seed, progress=callback,
            cancel=cancel, backend=backend, temperature=temperature, viscosity=viscosity,
        )
    except KeyboardInterrupt:
        cancel.set()
        raise
    finally:
        if progress_ctx is not None:
            progress_ctx.stop()
    if output is not None or in_place:
        result.save(output, source=file, in_place=in_place)
    if csv_path is not None:
        result.to_csv(csv_path)
    if plot_path is not None:
        from xpcs_core.plot import save_figure

        save_figure("fit", str(file), plot_path, fit=result)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_table(result, bayes)
        if output is not None or in_place:
            click.echo(f"fit saved under /xpcs/fit/{model} in {output or file}")
    if not result.success.any():
        raise XpcsError(f"{file}: no q-bin could be fitted")
