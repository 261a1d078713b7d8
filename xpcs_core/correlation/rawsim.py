"""Raw detector frames with a known answer (docs/physics.md, "Ground truth for tests").

Brownian speckle on a transmission detector: each pixel's complex field follows an AR(1)
(Ornstein-Uhlenbeck) process ``E(t+dt) = rho E(t) + sqrt(1 - rho^2) w``, ``rho =
exp(-Gamma dt)``, ``Gamma = D q^2`` with q from the geometry's q-map. The innovations
``w`` are white in time and independent per pixel, or spatially correlated over
``speckle_size`` pixels (a Gaussian blur): each pixel's own process stays exactly AR(1).
Intensity ``rate * (a |E|^2 + 1 - a)`` with ``a = sqrt(contrast)`` (an incoherent part
sets the contrast), Poisson counts. Then ``g2(t) = 1 + contrast * exp(-2 Gamma t)`` per
pixel, exactly in expectation. Masked pixels (a module gap and a few hot pixels) hold
nonsense that a correct correlator never sees; injected bad frames are x20 or zeroed.

:func:`simulate_raw` writes, deterministically per seed, a chunked raw HDF5 stack
(``/entry/data/data``, bitshuffle/LZ4, frame time and geometry metadata; or an Eiger-like
master file with external-linked data files), a q-map file and a truth JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xpcs_core.errors import XpcsInputError

__all__ = ["RawSimSpec", "expected_g2", "simulate_raw"]

#: frames generated per random-number block (fixed, so a seed always gives the same frames)
_BLOCK = 128


@dataclass(kw_only=True)
class RawSimSpec:
    """Parameters (units: s, Å²/s, counts per pixel per frame, keV, m, 1/Å).

    Geometry left None follows the detector size like ``SyntheticSpec.for_shape``: 10 keV,
    5 m, pixel 75 µm x 512 / min(H, W), beam centre at column 200/512 W, row 180/512 H,
    so that q spans about 0 .. 0.035 1/Å. The q-map has ``n_dyn`` log-spaced dynamic q
    bins over ``q_min .. q_max`` with ``static_per_dyn`` static bins in each.
    """

    n_frames: int = 4000
    shape: tuple[int, int] = (128, 128)
    frame_time: float = 1e-3
    diffusion: float = 1e5
    contrast: float = 0.2
    rate: float = 0.5
    n_bad: int = 0
    seed: int = 0
    speckle_size: float = 0.0
    energy: float = 10.0
    distance: float = 5.0
    pixel_size: float | None = None
    beam_center_x: float | None = None
    beam_center_y: float | None = None
    n_dyn: int = 12
    static_per_dyn: int = 5
    q_min: float = 0.002
    q_max: float = 0.03
    hot_pixels: int = 4
    frames_per_file: int | None = None
    compression: str | None = "bitshuffle"

    def __post_init__(self) -> None:
        h, w = (int(n) for n in self.shape)
        self.shape = (h, w)
        checks = {
            "n_frames": self.n_frames >= 16, "shape": min(h, w) >= 8,
            "frame_time": self.frame_time > 0, "diffusion": self.diffusion > 0,
            "contrast": 0 < self.contrast <= 1, "rate": self.rate > 0,
            "n_bad": 0 <= self.n_bad <= self.n_frames // 4, "speckle_size": self.speckle_size >= 0,
            "q range": 0 < self.q_min < self.q_max,
            "frames_per_file": self.frames_per_file is None or self.frames_per_file >= 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise XpcsInputError(f"raw simulation: bad {', '.join(bad)} in {self}")
        if self.compression not in (None, "bitshuffle", "lzf", "gzip"):
            raise XpcsInputError(f"compression: None, bitshuffle, lzf or gzip, got {self.compression!r}")
        scale = 512 / min(h, w)
        if self.pixel_size is None:
            self.pixel_size = 75e-6 * scale
        if self.beam_center_x is None:
            self.beam_center_x = 200.0 / 512 * w
        if self.beam_center_y is None:
            self.beam_center_y = 180.0 / 512 * h

    def geometry(self) -> Any:
        from xpcs_core.geometry import Geometry

        return Geometry(energy_kev=self.energy, distance_m=self.distance, pixel_size_m=self.pixel_size,
                        beam_center_x=self.beam_center_x, beam_center_y=self.beam_center_y, shape=self.shape)


def _layout(spec: RawSimSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Good-pixel mask and the flat indices of the hot (masked) pixels."""
    h, w = spec.shape
    mask = np.ones(spec.shape, dtype=bool)
    mask[h // 2 : h // 2 + max(1, h // 100), :] = False  # a horizontal module gap
    hot = rng.choice(np.flatnonzero(mask), size=min(spec.hot_pixels, int(mask.sum()) // 10), replace=False)
    mask.reshape(-1)[hot] = False
    return mask, np.sort(hot)


class _Speckle:
    """The AR(1) fields of every pixel, advanced a block of frames at a time."""

    def __init__(self, spec: RawSimSpec, gamma: np.ndarray, rng: np.random.Generator) -> None:
        self.spec, self.rng = spec, rng
        self.rho = np.exp(-gamma.reshape(-1) * spec.frame_time)
        self.kick = np.sqrt(1.0 - self.rho**2)
        self.a = np.sqrt(spec.contrast)
        self.field = self._white(1)[0]

    def _white(self, n: int) -> np.ndarray:
        h, w = self.spec.shape
        z = self.rng.standard_normal((n, 2, h, w))
        if self.spec.speckle_size > 0:
            from scipy.ndimage import gaussian_filter

            s = self.spec.speckle_size
            z = gaussian_filter(z, sigma=(0, 0, s, s), mode="wrap")
            delta = np.zeros((h, w))
            delta[h // 2, w // 2] = 1.0
            z /= np.sqrt(np.sum(gaussian_filter(delta, s, mode="wrap") ** 2))
        return ((z[:, 0] + 1j * z[:, 1]) / np.sqrt(2.0)).reshape(n, -1)

    def block(self, n: int) -> np.ndarray:
        """Mean counts (n, H*W) of the next n frames."""
        noise = self._white(n)
        out = np.empty((n, self.rho.size))
        for t in range(n):
            out[t] = self.a * (self.field.real**2 + self.field.imag**2) + 1.0 - self.a
            self.field = self.rho * self.field + self.kick * noise[t]
        return self.spec.rate * out


def _frames(spec: RawSimSpec, gamma: np.ndarray, mask: np.ndarray, hot: np.ndarray,
            bad: dict[int, str], rng: np.random.Generator):
    """Yield (start, counts (n, H, W) uint32) blocks of the whole stack."""
    speckle = _Speckle(spec, gamma, rng)
    gap = np.flatnonzero(~mask.reshape(-1))
    for start in range(0, spec.n_frames, _BLOCK):
        n = min(_BLOCK, spec.n_frames - start)
        counts = rng.poisson(speckle.block(n)).astype(np.uint32)
        counts[:, gap] = 0
        counts[:, hot] = rng.poisson(50.0 * spec.rate + 20.0, size=(n, hot.size))
        for t in range(start, start + n):
            if t in bad:
                counts[t - start] = counts[t - start] * 20 if bad[t] == "x20" else 0
        yield start, counts.reshape(n, *spec.shape)


def _compression(spec: RawSimSpec) -> dict[str, Any]:
    if spec.compression == "bitshuffle":
        import hdf5plugin

        return dict(hdf5plugin.Bitshuffle(cname="lz4"))
    return {} if spec.compression is None else {"compression": spec.compression}


def _metadata(f: Any, spec: RawSimSpec) -> None:
    det = f.require_group("entry/instrument/detector")
    for name, value, unit in (
        ("frame_time", spec.frame_time, "s"), ("count_time", spec.frame_time, "s"),
        ("x_pixel_size", spec.pixel_size, "m"), ("y_pixel_size", spec.pixel_size, "m"),
        ("detector_distance", spec.distance, "m"),
        ("beam_center_x", spec.beam_center_x, "pixel"), ("beam_center_y", spec.beam_center_y, "pixel"),
    ):
        det.create_dataset(name, data=np.float64(value)).attrs["units"] = unit
    wavelength = 12.398419843 / spec.energy
    f.require_group("entry/instrument/beam").create_dataset(
        "incident_wavelength", data=np.float64(wavelength)).attrs["units"] = "angstrom"
    f["entry/start_time"] = np.bytes_(b"2024-01-01T00:00:00")


def _write_stack(path: Path, spec: RawSimSpec, blocks: Any, dtype: np.dtype) -> list[Path]:
    """Write the frames: one file, or a master plus data files of ``frames_per_file``."""
    from xpcs_core.io.atomic import atomic_h5

    h, w = spec.shape
    per_file = spec.frames_per_file or spec.n_frames
    n_files = -(-spec.n_frames // per_file)
    names = [path] if spec.frames_per_file is None else [
        path.with_name(f"{path.stem.removesuffix('_master')}_data_{k + 1:06d}.h5") for k in range(n_files)
    ]
    stack = iter(blocks)
    top = np.iinfo(dtype).max
    buffer = np.zeros((0, h, w), dtype=np.uint32)
    for k, name in enumerate(names):
        n_here = min(per_file, spec.n_frames - k * per_file)
        with atomic_h5(name) as f:
            ds = f.create_dataset("entry/data/data", shape=(n_here, h, w), dtype=dtype,
                                  chunks=(1, h, w), **_compression(spec))
            done = 0
            while done < n_here:
                if buffer.shape[0] == 0:
                    _, buffer = next(stack)
                take = min(buffer.shape[0], n_here - done)
                ds[done : done + take] = np.minimum(buffer[:take], top).astype(dtype)  # saturate
                buffer = buffer[take:]
                done += take
            if spec.frames_per_file is None:
                _metadata(f, spec)
    if spec.frames_per_file is not None:
        import h5py

        with atomic_h5(path) as f:
            group = f.require_group("entry/data")
            for k, name in enumerate(names):
                group[f"data_{k + 1:06d}"] = h5py.ExternalLink(name.name, "/entry/data/data")
            _metadata(f, spec)
        return [path, *names]
    return names


def expected_g2(partition: Any, q: np.ndarray, diffusion: float, contrast: float, delays: np.ndarray,
                frame_time: float) -> np.ndarray:
    """(n_tau, n_dyn) g2 the correlator must find on these frames at the multi-tau
    ``delays`` (frame lags): per static bin ``1 + contrast <K_L * exp(-2 D q^2 |t|)>`` over
    its pixels, averaged over the static bins of each dynamic bin (docs/physics.md
    normalization, uniform mean rate). ``K_L`` is the triangular kernel of level L, whose
    frames are means of 2^L raw frames (L = 0 for lags 1..8): the exact expectation of
    the pair-averaged estimator, which decays a little slower than the plain exponential."""
    from xpcs_core.correlation.normalize import PixelBins

    bins = PixelBins.from_partition(partition)
    qp = np.asarray(q).reshape(-1)[bins.pixels]
    delays = np.asarray(delays, dtype=np.int64)
    levels = np.maximum(0, np.ceil(np.log2(delays / 8.0))).astype(int)
    decay = np.empty((delays.size, qp.size))
    for i, (lag, level) in enumerate(zip(delays, levels, strict=True)):
        n = 1 << level
        k = np.arange(-(n - 1), n)
        weights = (n - np.abs(k)) / float(n * n)
        t = np.abs(lag + k)[:, None] * frame_time
        decay[i] = weights @ np.exp(-2.0 * diffusion * t * qp[None] ** 2)
    g2_s = 1.0 + contrast * bins.static_means(decay)
    b = np.zeros((bins.n_static, bins.n_dynamic))
    have = bins.static_to_dynamic > 0
    b[np.flatnonzero(have), bins.static_to_dynamic[have] - 1] = 1.0
    ok = np.isfinite(g2_s)
    return (np.where(ok, g2_s, 0.0) @ b) / (ok.astype(float) @ b)


def simulate_raw(directory: str | os.PathLike[str], spec: RawSimSpec | None = None, *,
                 name: str = "raw", **overrides: Any) -> dict[str, Any]:
    """Write ``<dir>/<name>.h5`` (or ``<name>_master.h5`` + data files), ``<dir>/qmap.h5``
    and ``<dir>/truth.json``; return the truth (with the file paths)."""
    from xpcs_core import compute_qmap, make_partition, write_qmap

    if spec is None:
        spec = RawSimSpec(**overrides)
    elif overrides:
        spec = RawSimSpec(**{**asdict(spec), **overrides})
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    # independent streams: the frames do not change with the number of bad frames
    rng, rng_layout, rng_bad = (np.random.default_rng([spec.seed, k]) for k in range(3))
    geometry = spec.geometry()
    qmap = compute_qmap(geometry)
    mask, hot = _layout(spec, rng_layout)
    part = make_partition(qmap, mask, dynamic=(spec.n_dyn, 1), static=(spec.n_dyn * spec.static_per_dyn, 1),
                          scale="log", q_min=spec.q_min, q_max=spec.q_max)
    bad_idx = np.sort(rng_bad.choice(np.arange(8, spec.n_frames - 8), size=spec.n_bad, replace=False))
    bad = {int(t): ("x20" if k % 2 == 0 else "zero") for k, t in enumerate(bad_idx)}
    gamma = spec.diffusion * qmap["q"] ** 2
    mean_max = spec.rate * (np.sqrt(spec.contrast) * 30 + 1)  # |E|^2 rarely exceeds 30
    peak = max(20 * (mean_max + 10 * np.sqrt(mean_max) + 10), 50.0 * spec.rate + 200)
    dtype = np.dtype(np.uint16 if peak < 60000 else np.uint32)
    raw_path = out / (f"{name}_master.h5" if spec.frames_per_file else f"{name}.h5")
    files = _write_stack(raw_path, spec, _frames(spec, gamma, mask, hot, bad, rng), dtype)
    qmap_path = write_qmap(out / "qmap.h5", part)
    truth = {
        "model": "g2(t) = 1 + contrast * exp(-2 D q^2 t)",
        "diffusion_A2_per_s": spec.diffusion, "diffusion_um2_per_s": spec.diffusion * 1e-8,
        "contrast": spec.contrast, "rate_counts_per_pixel_frame": spec.rate,
        "frame_time_s": spec.frame_time, "n_frames": spec.n_frames, "shape": list(spec.shape),
        "seed": spec.seed, "speckle_size_pixels": spec.speckle_size,
        "bad_frames": [int(t) for t in bad], "bad_frame_kinds": [bad[t] for t in bad],
        "masked_hot_pixels": [int(p) for p in hot], "geometry": geometry.to_dict(),
        "spec": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(spec).items()},
        "raw": str(raw_path), "data_files": [str(p) for p in files[1:]] if spec.frames_per_file else [],
        "qmap": str(qmap_path), "dtype": dtype.name,
    }
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2))
    truth["truth"] = str(truth_path)
    return truth
