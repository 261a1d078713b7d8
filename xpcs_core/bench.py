"""``xpcs bench``: each op on every available backend at a few sizes, the automatic
choice, and (``calibrate``) the costs of :mod:`xpcs_core.costs` measured on this machine.

Each measurement calls the op through its backend once cold (the first call of the
process: compilation included) and then warm (median of ``repeats``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpcs_core import costs
from xpcs_core.backends import Backend, list_backends

# family -> [(label, workload elements, size argument)], quick sizes first
SIZES: dict[str, list[tuple[str, float, int]]] = {
    "qmap": [("256x256", 256**2, 256), ("1024x1024", 1024**2, 1024), ("2048x2048", 2048**2, 2048)],
    "partition": [("256x256", 256**2, 256), ("1024x1024", 1024**2, 1024)],
    "binning": [("10 x 256^2", 10 * 256**2, 256), ("100 x 512^2", 100 * 512**2, 512)],
    "lsq": [("12 bins", 12 * 60, 12), ("100 bins", 100 * 60, 100), ("1000 bins", 1000 * 60, 1000)],
    "posterior": [("2 bins", 2 * 60, 2), ("12 bins", 12 * 60, 12)],
    "multitau": [("1000 x 64^2", 1000 * 64**2, 64), ("1000 x 256^2", 1000 * 256**2, 256)],
    "twotime": [("500 x 2000", 500**2 * 2000, 500), ("2000 x 2000", 2000**2 * 2000, 2000)],
}
QUICK_SKIP = {"posterior"}  # default sampler runs take tens of seconds


@dataclass
class Row:
    family: str
    size: str
    workload: float
    cold: dict[str, float] = field(default_factory=dict)
    warm: dict[str, float] = field(default_factory=dict)
    auto: str | None = None

    def as_dict(self) -> dict[str, Any]:
        fastest = min(self.warm.values()) if self.warm else None
        return {"family": self.family, "size": self.size, "workload": self.workload,
                "cold_s": self.cold, "warm_s": self.warm, "auto": self.auto,
                "ratio_to_fastest": {k: v / fastest for k, v in self.warm.items()} if fastest else {}}


def _geometry(n: int) -> Any:
    from xpcs_core.geometry import Geometry

    return Geometry(energy_kev=10.0, distance_m=5.0, pixel_size_m=75e-6, beam_center_x=n / 2 + 3.3,
                    beam_center_y=n / 3 + 1.7, shape=(n, n))


def _job(family: str, size: int) -> Callable[[Backend], Any]:
    """A function running ``family`` at ``size`` on a backend (inputs built once)."""
    rng = np.random.default_rng(0)
    if family == "qmap":
        geometry = _geometry(size)
        return lambda b: b.call("xpcs_compute_qmap", geometry=geometry)
    if family in ("partition", "binning"):
        from xpcs_core.kernels import qmap as qmap_kernel
        from xpcs_core.partition import PartitionSpec

        maps = {k: np.asarray(v) for k, v in qmap_kernel.compute(np, _geometry(size)).items()}
        mask = np.ones((size, size), dtype=bool)
        spec = PartitionSpec(maps=("q", "phi"), bins=(360, 1))
        if family == "partition":
            return lambda b: b.call("xpcs_partition", maps=maps, mask=mask, spec=spec)
        labels = (np.arange(size * size).reshape(size, size) % 360 + 1).astype(np.int64)
        frames = rng.poisson(0.5, (10 if size <= 256 else 100, size, size)).astype(np.uint16)
        return lambda b: b.call("xpcs_binned_mean", data=frames, labels=labels, n_labels=360)
    if family in ("lsq", "posterior"):
        from xpcs_core.fitting.problem import SamplerSettings, build_problem
        from xpcs_core.kernels.multitau import multitau_delays

        t = multitau_delays(100_000)[:60] * 1e-3
        tau = np.geomspace(1e-2, 1e1, size)[:, None]
        err = np.full((size, t.size), 0.01)
        g2 = 1.0 + 0.2 * np.exp(-2 * t / tau) + err * rng.standard_normal(err.shape)
        problem = build_problem(t, g2.T, err.T, q=np.geomspace(1e-3, 1e-1, size))[0]
        if family == "lsq":
            return lambda b: b.call("xpcs_fit_lsq", problem=problem)
        start = Backend("numpy").call("xpcs_fit_lsq", problem=problem)
        return lambda b: b.call("xpcs_sample_posterior", problem=problem, start=start,
                                settings=SamplerSettings(seed=0))
    if family == "multitau":
        from xpcs_core.kernels.multitau import MultitauOptions

        frames = rng.poisson(0.05, (1000, size * size)).astype(np.uint16)

        def run(b: Backend) -> Any:
            acc = b.call("xpcs_multitau_accumulator", n_pixels=frames.shape[1], n_frames=1000,
                         options=MultitauOptions())
            for k in range(0, 1000, 100):
                acc.update(frames[k: k + 100])
            return acc.finish()

        return run
    if family == "twotime":
        frames = rng.poisson(1.0, (size, 2000)).astype(np.float64)
        return lambda b: b.call("xpcs_twotime", frames=frames)
    raise ValueError(family)


def _arrays(out: Any) -> list[Any]:
    if isinstance(out, dict):
        return [a for v in out.values() for a in _arrays(v)]
    if isinstance(out, tuple | list):
        return [a for v in out for a in _arrays(v)]
    if hasattr(out, "__dict__") and not hasattr(out, "shape"):  # a result dataclass
        return [a for v in vars(out).values() for a in _arrays(v)]
    return [out] if hasattr(out, "shape") else []


def _timed(fn: Callable[[], Any], to_numpy: Callable[[Any], Any]) -> float:
    """Seconds until every array of the result is on the host (async backends included)."""
    start = time.perf_counter()
    for array in _arrays(fn()):
        to_numpy(array)
    return time.perf_counter() - start


def run(quick: bool = False, repeats: int = 3, families: list[str] | None = None,
        progress: Callable[[str], None] | None = None) -> list[Row]:
    """Time every family on every available backend that implements it."""
    names = [r["name"] for r in list_backends() if r["available"]]
    rows = []
    for family, sizes in SIZES.items():
        if (families and family not in families) or (quick and family in QUICK_SKIP):
            continue
        for label, workload, size in sizes[:2] if quick else sizes:
            row = Row(family, label, workload)
            job = _job(family, size)
            for name in names:
                backend = Backend(name)
                if not any(backend.implements(h) for h in _hooks(family)):
                    continue
                if progress:
                    progress(f"{family} {label} on {name}")
                row.cold[name] = _timed(lambda: job(backend), backend.to_numpy)
                row.warm[name] = statistics.median(
                    _timed(lambda: job(backend), backend.to_numpy) for _ in range(1 if family == "posterior" else repeats))
            row.auto = _auto_choice(family, workload, list(row.warm))
            rows.append(row)
    return rows


def _hooks(family: str) -> tuple[str, ...]:
    from xpcs_core.hookspecs import HOOK_FAMILIES

    return HOOK_FAMILIES[family]


def _auto_choice(family: str, workload: float, names: list[str]) -> str | None:
    """What the automatic choice would pick, from the costs in force."""
    from xpcs_core.plugins import registry

    best = None
    for name in names:
        est = costs.estimate(name, registry().get(name).info, family, workload)
        if est is not None and (best is None or est < best[0]):
            best = (est, name)
    return None if best is None else best[1]


def calibrate(rows: list[Row]) -> dict[str, dict[str, costs.OpCost]]:
    """Fit ``overhead + per_element * n`` to the warm times of the two largest sizes of
    each family, and the first-call cost to cold minus warm; store them (user cache)."""
    from xpcs_core.plugins import registry

    out: dict[str, dict[str, costs.OpCost]] = {}
    for family in {r.family for r in rows}:
        fam = sorted((r for r in rows if r.family == family), key=lambda r: r.workload)[-2:]
        for name in set(fam[0].warm) & set(fam[-1].warm):
            (n1, t1), (n2, t2) = ((r.workload, r.warm[name]) for r in (fam[0], fam[-1]))
            per = max((t2 - t1) / (n2 - n1), 0.0) if n2 > n1 else t2 / n2
            overhead = max(t1 - per * n1, 0.0)
            first = max(fam[0].cold[name] - fam[0].warm[name], 0.0)
            out.setdefault(name, {})[family] = costs.OpCost(overhead, per, first)
    for name, table in out.items():
        costs.save_calibration(name, dict(registry().get(name).info.library_versions), table)
    return out
