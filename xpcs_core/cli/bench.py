"""``xpcs bench``: times of every op on every available backend, and what auto would pick."""

from __future__ import annotations

import json

import click

from xpcs_core.cli.main import json_option


@click.command()
@click.option("--quick", is_flag=True, help="Two sizes per op, no posterior (about a minute on a laptop).")
@click.option("--calibrate", is_flag=True, help="Store the measured costs for the automatic choice (user cache).")
@click.option("--op", "ops", multiple=True, metavar="FAMILY",
              help="Only these hook families (qmap, partition, binning, lsq, posterior, multitau, twotime).")
@json_option
def bench(quick: bool, calibrate: bool, ops: tuple[str, ...], as_json: bool) -> None:
    """Benchmark each op on every available backend at two or three sizes."""
    from rich.console import Console
    from rich.table import Table

    from xpcs_core import bench as suite
    from xpcs_core.errors import XpcsInputError

    unknown = [op for op in ops if op not in suite.SIZES]
    if unknown:
        raise XpcsInputError(f"--op {unknown[0]!r}: not a hook family; choose from {', '.join(suite.SIZES)}")
    err = Console(stderr=True)
    with err.status("benchmarking") as status:
        rows = suite.run(quick=quick, families=list(ops) or None,
                         progress=lambda text: status.update(f"benchmarking: {text}"))
        stored = suite.calibrate(rows) if calibrate else None
    if as_json:
        click.echo(json.dumps({"rows": [r.as_dict() for r in rows],
                               "calibrated": {k: {f: list(c) for f, c in v.items()} for k, v in (stored or {}).items()}},
                              indent=1))
        return
    names = sorted({n for r in rows for n in r.warm})
    table = Table(title="xpcs bench: warm median (first call), ratio to the fastest")
    for col in ("op", "size", *names, "auto picks"):
        table.add_column(col, justify="right" if col not in ("op", "size") else "left")
    for r in rows:
        fastest = min(r.warm.values()) if r.warm else None
        cells = [f"{r.warm[n]:.3g} s ({r.cold[n]:.2g}) x{r.warm[n] / fastest:.2g}" if n in r.warm else "-"
                 for n in names]
        table.add_row(r.family, r.size, *cells, r.auto or "-")
    console = Console(width=max(Console().width, 120))
    console.print(table)
    if stored:
        from xpcs_core.costs import calibration_path

        console.print(f"calibrated costs of {', '.join(sorted(stored))} stored in {calibration_path()}")
