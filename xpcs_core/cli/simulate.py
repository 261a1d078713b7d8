"""``xpcs simulate OUT.h5``: a synthetic result file with a known diffusion coefficient;
``xpcs simulate --raw DIR``: raw detector frames of Brownian speckle with a known g2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from xpcs_core.cli.main import json_option

RESULT_DEFAULTS = {"n_frames": 10_000, "shape": (512, 512)}
RAW_DEFAULTS = {"n_frames": 4000, "shape": (128, 128)}


@click.command()
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--raw", "raw_dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Write raw frames instead: DIR/raw.h5, DIR/qmap.h5 and DIR/truth.json.")
@click.option("--layout", type=click.Choice(["nexus", "legacy"]), default="nexus", show_default=True)
@click.option(
    "--n-dyn",
    type=click.IntRange(1, 1000),
    default=12,
    show_default=True,
    help="Dynamic q bins (log-spaced over 0.002..0.03 1/Å).",
)
@click.option("--n-phi", type=click.IntRange(1, 360), default=1, show_default=True, help="Phi bins.")
@click.option("--n-frames", "--frames", "n_frames", type=click.IntRange(16, 10_000_000), default=None,
              help="Frames [default: 10000; 4000 with --raw].")
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
    default=None,
    metavar="H W",
    help="Detector shape [default: 512 512; 128 128 with --raw].",
)
@click.option("--frame-time", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              metavar="S", help="Frame period in seconds (--raw).")
@click.option("--contrast", type=click.FloatRange(0, 1, min_open=True), default=0.2, show_default=True,
              metavar="B", help="Speckle contrast beta (--raw).")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=0.5, show_default=True,
              metavar="COUNTS", help="Mean counts per pixel per frame (--raw).")
@click.option("--bad-frames", "n_bad", type=click.IntRange(0), default=0, show_default=True, metavar="K",
              help="Inject K bad frames, alternately x20 and zeroed (--raw).")
@json_option
def simulate(out: Path | None, raw_dir: Path | None, layout: str, n_dyn: int, n_phi: int, n_frames: int | None,
             twotime: bool, diffusion: float, seed: int, shape: tuple[int, int] | None, frame_time: float,
             contrast: float, rate: float, n_bad: int, as_json: bool) -> None:
    """Write OUT.h5: g2 = 1 + 0.2 exp(-2 D q² t) with noise, SAXS, q-map (and C2 maps);
    or, with --raw DIR, raw frames of Brownian speckle, their q-map and the truth."""
    if (out is None) == (raw_dir is None):
        raise click.UsageError("give either OUT.h5 (a result file) or --raw DIR (raw frames)")
    defaults = RAW_DEFAULTS if raw_dir is not None else RESULT_DEFAULTS
    n_frames = n_frames or defaults["n_frames"]  # type: ignore[assignment]
    shape = shape or defaults["shape"]  # type: ignore[assignment]
    if raw_dir is not None:
        _raw(raw_dir, n_frames=n_frames, shape=shape, frame_time=frame_time, diffusion=diffusion,  # type: ignore[arg-type]
             contrast=contrast, rate=rate, n_bad=n_bad, seed=seed, n_dyn=n_dyn, as_json=as_json)
        return
    from xpcs_core.io.result import open_result
    from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic

    h, w = shape  # type: ignore[misc]
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


def _raw(directory: Path, *, as_json: bool, **params: Any) -> None:
    from xpcs_core.correlation.rawsim import simulate_raw

    truth = simulate_raw(directory, **params)
    if as_json:
        click.echo(json.dumps({k: v for k, v in truth.items() if k != "spec"}, indent=2))
        return
    h, w = truth["shape"]
    click.echo(
        f"wrote {truth['raw']} ({truth['n_frames']} frames of {h}x{w} {truth['dtype']}, "
        f"{truth['frame_time_s']:g} s each, {truth['rate_counts_per_pixel_frame']:g} counts/pixel/frame), "
        f"{truth['qmap']} and {truth['truth']}: D = {truth['diffusion_A2_per_s']:g} Å²/s, "
        f"contrast {truth['contrast']:g}, seed {truth['seed']}, "
        f"bad frames {truth['bad_frames'] or 'none'}"
    )
