"""``xpcs simulate OUT.h5``: write a synthetic result file with a known diffusion coefficient."""

from __future__ import annotations

import json
from pathlib import Path

import click

from xpcs_core.cli.main import json_option


@click.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--layout", type=click.Choice(["nexus", "legacy"]), default="nexus", show_default=True)
@click.option(
    "--n-dyn",
    type=click.IntRange(1, 1000),
    default=12,
    show_default=True,
    help="Dynamic q bins (log-spaced over 0.002..0.03 1/Å).",
)
@click.option("--n-phi", type=click.IntRange(1, 360), default=1, show_default=True, help="Phi bins.")
@click.option("--n-frames", type=click.IntRange(16, 10_000_000), default=10_000, show_default=True)
@click.option("--twotime", is_flag=True, help="Also write two-time C2 maps.")
@click.option(
    "--diffusion",
    type=click.FloatRange(min=0, min_open=True),
    default=1e5,
    show_default=True,
    help="Diffusion coefficient D in Å²/s.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--shape",
    type=(click.IntRange(8, 8192), click.IntRange(8, 8192)),
    default=(512, 512),
    show_default=True,
    metavar="H W",
    help="Detector shape.",
)
@json_option
def simulate(
    out: Path,
    layout: str,
    n_dyn: int,
    n_phi: int,
    n_frames: int,
    twotime: bool,
    diffusion: float,
    seed: int,
    shape: tuple[int, int],
    as_json: bool,
) -> None:
    """Write OUT.h5: g2 = 1 + 0.2 exp(-2 D q² t) with noise, SAXS, q-map (and C2 maps)."""
    from xpcs_core.io.result import open_result
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    h, w = shape
    spec = SyntheticSpec.for_shape(
        (h, w), n_dyn=n_dyn, n_phi=n_phi, n_frames=n_frames, twotime=twotime, diffusion=diffusion, seed=seed
    )
    write_synthetic(out, layout=layout, spec=spec)
    with open_result(out) as result:
        summary = result.summary()
    summary["diffusion_A2_per_s"] = diffusion
    summary["seed"] = seed
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    q0, q1 = summary["q_range"]
    t0, t1 = summary["tau_range_s"]
    click.echo(
        f"wrote {out} ({layout}): {h}x{w} detector, {spec.pixel_size * 1e6:.4g} µm pixels "
        f"at {spec.distance:g} m, {spec.energy:g} keV, {summary['n_dynamic_bins']} dynamic / "
        f"{summary['n_static_bins']} static bins, q {q0:.4g}..{q1:.4g} 1/Å, {summary['n_tau']} delays "
        f"{t0:.3g}..{t1:.3g} s, D = {diffusion:g} Å²/s, seed {seed}"
        + (f", two-time bins {summary['twotime_bins']}" if twotime else "")
    )
