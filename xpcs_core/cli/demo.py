"""``xpcs demo``: the main job, end to end, on simulated raw frames with a known answer.

Simulates Brownian speckle frames of known diffusion coefficient (with a few bad frames
injected), correlates them (bad frames detected and excluded), fits g2 of every q-bin
(least squares on each available backend, a Bayesian posterior on the automatic
choice) and prints D from tau(q) against the truth. Everything it writes goes under
``--out``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import numpy as np

TRUE_D = 1.0e5  # Å²/s (= 1e-3 µm²/s)


def _backends_with(capability: str) -> list[str]:
    from xpcs_core.backends import list_backends

    return [r["name"] for r in list_backends() if r["available"] and capability in r["capabilities"]]


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _d(fit: Any) -> str:
    d = fit.tauq
    if d is None:
        return f"D not computable ({fit.tauq_note})"
    off = (d.D_A2_per_s / TRUE_D - 1) * 100
    return (f"D = {d.D_A2_per_s:.4g} ± {d.D_A2_per_s_err:.2g} Å²/s ({d.D_um2_per_s:.4g} µm²/s), "
            f"{off:+.1f}% from the truth; alpha (free) = {d.free.alpha:.3f}" if d.free else "")


@click.command()
@click.option("--out", "out_dir", default="demo-output", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the files the demo writes.")
@click.option("--bayes/--no-bayes", default=True, show_default=True,
              help="Also sample the posterior of every q-bin.")
@click.option("--frames", "n_frames", default=4000, show_default=True, help="Raw frames to simulate.")
@click.option("--seed", default=0, show_default=True, help="Seed of the simulation and the sampler.")
def demo(out_dir: str, bayes: bool, n_frames: int, seed: int) -> None:
    """Simulate raw frames, correlate them, fit g2, and recover D against the truth."""
    from rich.console import Console

    from xpcs_core.correlation import correlate
    from xpcs_core.correlation.rawsim import simulate_raw
    from xpcs_core.fitting.api import fit_g2
    from xpcs_core.io.result import open_result

    console = Console(highlight=False, soft_wrap=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    console.rule("1. simulated raw frames (Brownian speckle, known D, bad frames injected)")
    truth, elapsed = _timed(lambda: simulate_raw(out / "raw", n_frames=n_frames, shape=(128, 128),
                                                 diffusion=TRUE_D, n_bad=4, seed=seed))
    console.print(f"wrote {truth['raw']}: {truth['n_frames']} frames of {truth['shape'][0]}x{truth['shape'][1]}, "
                  f"{truth['rate_counts_per_pixel_frame']} counts/pixel/frame, bad frames at "
                  f"{truth['bad_frames']}; q-map {truth['qmap']} ({elapsed:.1f} s)")

    console.rule("2. correlation: multi-tau and two-time, bad frames found automatically")
    result = out / "result.h5"
    report, elapsed = _timed(lambda: correlate(truth["raw"], truth["qmap"], result, mode="both",
                                               bins=[1, 6], bad_frames="auto"))
    found = sorted(report.bad_frames) == sorted(truth["bad_frames"])
    console.print(f"{report.frames_used} frames used, {report.frames_excluded} excluded "
                  f"({report.bad_frames_method}): {report.bad_frames} -- "
                  f"{'exactly the injected ones' if found else 'injected: ' + str(truth['bad_frames'])}")
    console.print(f"backend {report.backend['backend']} ({report.backend.get('reason') or 'named'}; "
                  f"{report.multitau_path} path), "
                  f"{report.rate_fps:,.0f} frames/s, {elapsed:.1f} s; wrote {result}")
    with open_result(result) as res:
        info = res.summary()
    console.print(f"{info['n_dynamic_bins']} dynamic bins, q {info['q_range'][0]:.4f}..{info['q_range'][1]:.4f} 1/Å, "
                  f"{info['n_tau']} delays, two-time bins {info['twotime_bins']}")

    console.rule("3. g2 fits of every q-bin, D from tau(q)")
    for name in _backends_with("lsq"):
        fit, elapsed = _timed(lambda: fit_g2(str(result), model="single", backend=name))
        console.print(f"{name:>6}: least squares of {fit.n_bins} bins in {elapsed * 1e3:7.1f} ms: {_d(fit)}")
    if bayes:
        fit, elapsed = _timed(lambda: fit_g2(str(result), model="single", bayes=True, seed=seed))
        diag = fit.diagnostics
        console.print(f"  auto: posterior ({fit.provenance['posterior']['backend']}, "
                      f"{fit.provenance['posterior']['sampler']}) in {elapsed:.1f} s, converged "
                      f"{int(np.sum(diag['converged']))}/{fit.n_bins}, divergences {int(np.sum(diag['divergences']))}: "
                      f"{_d(fit)}")
        fit.save(out / "result_fit.h5", source=result)
        console.print(f"wrote {out / 'result_fit.h5'} (/xpcs/fit/single)")
    console.rule()
    console.print(f"true D = {TRUE_D:g} Å²/s; see `xpcs info`, `xpcs correlate`, `xpcs fit` for each step")
