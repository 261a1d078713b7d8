"""Q-map and SAXS-1D binning on an Eiger 4M (2167 x 2070), side by side with pyFAI.

Prints, in one run:

* q-map time, cold (first call: allocation, jit compilation) and warm (median), for the
  numpy and jax backends;
* SAXS 1D of a stack of 100 float32 frames into 1000 q bins: the numpy and jax
  ``xpcs_binned_mean`` hooks against pyFAI's ``AzimuthalIntegrator.integrate1d`` with
  the CSR method (no pixel splitting, same geometry, same bins; also pyFAI's default
  bbox splitting for reference), as medians of several repeats and as ratios;
* the binning throughput (bytes of frames per second) against a plain memory copy of an
  array of the same size (``np.copyto``) measured in the same run.

Usage: ``python benchmarks/bench_qmap.py [--frames 100] [--repeats 3] [--out FILE]``
(pyFAI is the ``bench`` extra: ``pip install pyFAI``; without it that column is skipped).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xpcs_core.backends import Backend
from xpcs_core.geometry import Geometry
from xpcs_core.partition import PartitionSpec, partition_maps
from xpcs_core.qmap import compute_qmap

SHAPE = (2167, 2070)
N_BINS = 1000
GEOMETRY = Geometry(energy_kev=10.0, distance_m=5.0, pixel_size_m=75e-6, shape=SHAPE,
                    beam_center_x=1033.7, beam_center_y=1612.4)
RESULTS = Path(__file__).parent / "results" / "qmap-cpu.txt"


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def block(x: object) -> object:
    """Wait for asynchronous (jax) results."""
    if hasattr(x, "block_until_ready"):
        x.block_until_ready()
    elif isinstance(x, (tuple, list, dict)):
        for v in (x.values() if isinstance(x, dict) else x):
            block(v)
    return x


def mask_of(shape: tuple[int, int]) -> np.ndarray:
    """Eiger-like: module gaps and a beam stop are bad pixels."""
    mask = np.ones(shape, dtype=bool)
    for r in range(514, shape[0], 551):
        mask[r : r + 37] = False
    for c in range(1030, shape[1], 1040):
        mask[:, c : c + 10] = False
    rows, cols = np.indices(shape)
    mask &= np.hypot(rows - GEOMETRY.beam_center_y, cols - GEOMETRY.beam_center_x) > 40
    return mask


def pyfai_integrator():  # -> AzimuthalIntegrator | None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pyFAI.integrator.azimuthal import AzimuthalIntegrator
    except ImportError:
        try:
            from pyFAI.azimuthalIntegrator import AzimuthalIntegrator  # older pyFAI
        except ImportError:
            return None
    g = GEOMETRY
    # pyFAI puts pixel i's centre at (i + 0.5) * pixel; ours is at i (beam centre units)
    return AzimuthalIntegrator(
        dist=g.distance_m, poni1=(g.beam_center_y + 0.5) * g.pixel_size_m,
        poni2=(g.beam_center_x + 0.5) * g.pixel_size_m, pixel1=g.pixel_size_m,
        pixel2=g.pixel_size_m, wavelength=g.wavelength_a * 1e-10,
    )


def run(n_frames: int, repeats: int) -> list[str]:
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    import scipy

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    say(f"# xpcs q-map benchmark: Eiger 4M {SHAPE[0]} x {SHAPE[1]}, {n_frames} frames, "
        f"{N_BINS} q bins, median of {repeats}")
    say(f"# {platform.processor() or platform.machine()}, {cores} cores, load average {load:.2f}; "
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    backends = ["numpy", "jax"]
    try:
        import jax

        say(f"# jax {jax.__version__} on {Backend('jax').load()[0]}")
    except Exception as exc:  # jax missing or broken: numpy only
        say(f"# jax unavailable: {exc}")
        backends = ["numpy"]

    say("")
    say("q-map (q, phi, qx, qy; float64)          cold [s]   warm [s]")
    qmaps = {}
    for name in backends:
        be = Backend(name)
        be.load()
        cold, _ = median_time(lambda be=be: block(be.call("xpcs_compute_qmap", geometry=GEOMETRY)), 1)
        warm, _ = median_time(lambda be=be: block(be.call("xpcs_compute_qmap", geometry=GEOMETRY)),
                              repeats)
        say(f"  {name:<38} {cold:9.3f}  {warm:9.3f}")
        qmaps[name] = compute_qmap(GEOMETRY, backend=name)

    mask = mask_of(SHAPE)
    spec = PartitionSpec(maps=("q",), bins=(N_BINS,))
    t_part, (binning, _) = median_time(lambda: partition_maps(qmaps["numpy"], mask, spec, "numpy"), 1)
    labels, edges = binning.labels, binning.edges[0]
    say(f"  partition into {N_BINS} q bins (numpy)    {t_part:9.3f}")

    rng = np.random.default_rng(0)
    q = qmaps["numpy"].q
    saxs = (1e3 / (1.0 + (q * 400.0) ** 2) ** 2 + 0.5).astype(np.float32)
    frames = np.empty((n_frames, *SHAPE), dtype=np.float32)
    for i in range(n_frames):  # Poisson-like noise without a 1.8 GB float64 temporary
        frames[i] = saxs * rng.gamma(4.0, 0.25, size=SHAPE).astype(np.float32)
    nbytes = frames.nbytes

    copy = np.empty_like(frames)
    np.copyto(copy, frames)  # touch the pages once
    t_copy, _ = median_time(lambda: np.copyto(copy, frames), max(repeats, 5))
    del copy
    copy_bw = nbytes / t_copy

    say("")
    say(f"SAXS 1D of {n_frames} frames ({nbytes / 1e9:.2f} GB float32) into {N_BINS} q bins")
    say(f"  memory copy (np.copyto, same size)      {t_copy:9.3f} s  {copy_bw / 1e9:7.2f} GB/s")
    results: dict[str, float] = {}
    curves: dict[str, np.ndarray] = {}
    n_labels = binning.n_labels
    for name in backends:
        be = Backend(name)
        fn = lambda be=be: block(be.call("xpcs_binned_mean", data=frames, labels=labels,  # noqa: E731
                                         n_labels=n_labels))
        fn()  # warm-up (jit compilation, page faults)
        t, out = median_time(fn, repeats)
        results[name] = t
        curves[name] = be.to_numpy(out[0])
        say(f"  {name + ' xpcs_binned_mean':<38}  {t:9.3f} s  {nbytes / t / 1e9:7.2f} GB/s  "
            f"= {nbytes / t / copy_bw:5.1%} of copy")
        if name == "jax":  # the same with the stack already a jax array (no host copy)
            on_device = be.to_device(frames)
            fn = lambda be=be: block(be.call("xpcs_binned_mean", data=on_device,  # noqa: E731
                                             labels=labels, n_labels=n_labels))
            t, _ = median_time(fn, repeats)
            results["jax, stack on device"] = t
            say(f"  {'jax, stack already on the device':<38}  {t:9.3f} s  "
                f"{nbytes / t / 1e9:7.2f} GB/s  = {nbytes / t / copy_bw:5.1%} of copy")
            del on_device

    ai = pyfai_integrator()
    if ai is None:
        say("  pyFAI: not installed (pip install pyFAI); skipped")
    else:
        import pyFAI

        radial = (float(edges[0]), float(edges[-1]))
        bad = (~mask).astype(np.int8)
        for label, method in (("pyFAI integrate1d CSR, no split", ("no", "csr", "cython")),
                              ("pyFAI integrate1d CSR, bbox split", ("bbox", "csr", "cython"))):
            def integrate(method=method) -> np.ndarray:
                out = np.empty((n_frames, N_BINS))
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    for i in range(n_frames):
                        res = ai.integrate1d(frames[i], N_BINS, unit="q_A^-1", method=method,
                                             radial_range=radial, mask=bad, correctSolidAngle=False,
                                             polarization_factor=None)
                        out[i] = res.intensity
                return out

            integrate()  # builds the CSR matrix once
            t, out = median_time(integrate, repeats)
            results[label] = t
            curves[label] = out
            say(f"  {label:<38}  {t:9.3f} s  {nbytes / t / 1e9:7.2f} GB/s  "
                f"= {nbytes / t / copy_bw:5.1%} of copy")
        say(f"  (pyFAI {pyFAI.version})")

    say("")
    say("ratios (time of the row / time of the column; > 1 means the column is faster)")
    names = list(results)
    say("  " + " " * 36 + "".join(f"{n.split(' ')[0]:>12}" for n in backends))
    for row in names:
        say(f"  {row:<36}" + "".join(f"{results[row] / results[c]:12.2f}" for c in backends))

    if "pyFAI integrate1d CSR, no split" in curves:
        ref = curves["pyFAI integrate1d CSR, no split"]
        ours = np.full((n_frames, N_BINS), np.nan)
        natural = binning.index_mapping
        ours[:, natural] = curves["numpy"]
        both = np.isfinite(ours) & (ref != 0)
        diff = np.abs(ours[both] / ref[both] - 1)
        say("")
        say(f"check: numpy vs pyFAI (no split) SAXS 1D, {both[0].sum()} common bins: median "
            f"relative difference {np.median(diff):.1e}, 99th percentile "
            f"{np.percentile(diff, 99):.1e} (bins differ only by pixels on bin edges)")
    if "jax" in curves:
        say(f"check: jax vs numpy max relative difference "
            f"{np.nanmax(np.abs(curves['jax'] / curves['numpy'] - 1)):.1e}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS, help="also write the output here")
    args = parser.parse_args()
    lines = run(args.frames, args.repeats)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
        print(f"# written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
