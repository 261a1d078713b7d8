"""``xpcs demo``: the main job, end to end, on a bundled synthetic example.

Writes a synthetic APS-layout result file with a known diffusion coefficient, reads it
back, computes its q-map and partitions on every available backend, fits g2 of every
q-bin (least squares on each backend, a Bayesian posterior on the first one) and
recovers D from tau(q). Everything it writes goes under ``--out``.
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


@click.command()
@click.option("--out", "out_dir", default="demo-output", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the files the demo writes.")
@click.option("--bayes/--no-bayes", default=True, show_default=True,
              help="Also sample the posterior of every q-bin.")
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic data and sampler.")
def demo(out_dir: str, bayes: bool, seed: int) -> None:
    """Simulate a result file, read it, q-map it, fit it, and recover D on each backend."""
    from rich.console import Console

    from xpcs_core.fitting.api import fit_g2
    from xpcs_core.io.result import open_result
    from xpcs_core.io.synthetic import write_synthetic
    from xpcs_core.partition import make_partition
    from xpcs_core.io.qmap_file import write_qmap
    from xpcs_core.qmap import compute_qmap

    console = Console(highlight=False, soft_wrap=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "example.h5"

    console.rule("1. synthetic result file (APS 8-ID-I NeXus layout)")
    write_synthetic(path, layout="nexus", diffusion=TRUE_D, seed=seed, twotime=True)
    with open_result(path) as res:
        info = res.summary()
        geometry = res.geometry
        mask = res.qmap.mask
    console.print(f"wrote {path}: {info['detector_shape'][0]}x{info['detector_shape'][1]} detector, "
                  f"{info['n_dynamic_bins']} dynamic / {info['n_static_bins']} static bins, "
                  f"q {info['q_range'][0]:.4f}..{info['q_range'][1]:.4f} 1/Å, "
                  f"{info['n_tau']} delays {info['tau_range_s'][0]:g}..{info['tau_range_s'][1]:g} s, "
                  f"two-time bins {info['twotime_bins']}; true D = {TRUE_D:g} Å²/s")

    console.rule("2. q-map and partitions on each backend")
    labels: dict[str, np.ndarray] = {}
    for name in _backends_with("qmap"):
        qmap, t_qmap = _timed(lambda: compute_qmap(geometry, backend=name))
        part, t_part = _timed(lambda: make_partition(
            qmap, mask, dynamic=(12, 1), static=(120, 1), scale="log", backend=name))
        labels[name] = part.dynamic.labels
        console.print(f"{name:>6}: q-map {t_qmap * 1e3:7.1f} ms, partition {t_part * 1e3:7.1f} ms, "
                      f"q max {float(np.max(qmap['q'])):.4f} 1/Å, {part.dynamic.n_labels} dynamic bins")
        if len(labels) == 1:  # the first backend's partition goes to the file
            write_qmap(out / "qmap.h5", part, with_maps=True)
    if len(labels) > 1:
        ref = next(iter(labels.values()))
        same = all(np.array_equal(ref, lab) for lab in labels.values())
        console.print(f"labels identical across {', '.join(labels)}: {same}")
    console.print(f"wrote {out / 'qmap.h5'}")

    console.rule("3. g2 fits of every q-bin, D from tau(q)")
    fitters = _backends_with("lsq")
    for name in fitters:
        fit, elapsed = _timed(lambda: fit_g2(path, model="single", backend=name))
        d = fit.tauq
        console.print(f"{name:>6}: least squares of {fit.n_bins} bins in {elapsed * 1e3:7.1f} ms, "
                      f"{int(fit.success.sum())} succeeded; D = {d.D_A2_per_s:.4g} ± {d.D_A2_per_s_err:.2g} Å²/s "
                      f"({d.D_um2_per_s:.4g} µm²/s), alpha (free) = {d.free.alpha:.3f}")
    samplers = [n for n in _backends_with("posterior") if n in fitters]
    if bayes and samplers:
        name = samplers[0]
        fit, elapsed = _timed(lambda: fit_g2(path, model="single", backend=name, bayes=True, seed=seed))
        diag = fit.diagnostics
        d = fit.tauq
        console.print(f"{name:>6}: posterior of {fit.n_bins} bins ({fit.provenance['posterior']['sampler']}) "
                      f"in {elapsed:.1f} s, converged {int(np.sum(diag['converged']))}/{fit.n_bins}, "
                      f"divergences {int(np.sum(diag['divergences']))}; "
                      f"D = {d.D_A2_per_s:.4g} ± {d.D_A2_per_s_err:.2g} Å²/s")
        fit.save(out / "example_fit.h5", source=path)
        fit.to_csv(out / "example_fit.csv")
        console.print(f"wrote {out / 'example_fit.h5'} (/xpcs/fit/single) and {out / 'example_fit.csv'}")
    console.rule()
    console.print(f"true D = {TRUE_D:g} Å²/s; see `xpcs info`, `xpcs qmap`, `xpcs fit` for each step")
