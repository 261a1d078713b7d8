"""Synthetic result files with a known answer, for tests, demos and fitting checks.

The sample is Brownian: ``g2(q, t) = 1 + contrast * exp(-2 * D * q**2 * t)`` for every
dynamic bin (q = the bin centre), with seeded Gaussian noise of a realistic size.
Defaults (all overridable, see :class:`SyntheticSpec`; ``SyntheticSpec.for_shape`` keeps
the q range on another detector size by scaling the pixel size):

======================  ===========================================================
energy                  10 keV (λ = 1.2398 Å)
detector distance       5 m
pixel size              75 µm, detector 512 x 512, beam centre row 180, column 200
frame time              1 ms, 10 000 frames (multi-tau lags 1 .. 8192 frames)
q range                 0.002 .. 0.03 1/Å, 12 log-spaced dynamic bins x 1 phi bin;
                        5 static bins nested in each dynamic bin
diffusion coefficient   D = 1e5 Å²/s, so 1/(D q²) runs from 2.5 s down to 11 ms
contrast, baseline      0.2, 1.0
g2 error                0.02 * contrast * sqrt(1000 / pixels in bin) * sqrt(2**level)
                        (level = multi-tau level of the lag); noise ~ N(0, error)
SAXS                    I(q) = 5 / (1 + (q * 100 Å)**2)**2 + 0.01 counts/pixel/frame
two-time (optional)     up to 3 bins whose decay fits the window, maps of ~400
                        frames (stride = n_frames // 400), noise sd 0.02
======================  ===========================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xpcs_core.io.atomic import atomic_h5
from xpcs_core.kernels.twotime import diagonal_means
from xpcs_core.io.data import Meta, MultitauData, ResultData, TwotimeData
from xpcs_core.io.qmap_group import QmapGroup, stored_binning
from xpcs_core.partition import Binning
from xpcs_core.io.writer import write_result
from xpcs_core.kernels.multitau import multitau_delays

__all__ = ["SyntheticSpec", "make_synthetic", "multitau_delays", "write_synthetic", "q_map"]

def lag_levels(delays: np.ndarray) -> np.ndarray:
    """Multi-tau level of each lag (0 for 1..8, L for 5*2**L..8*2**L)."""
    delays = np.asarray(delays, dtype=np.float64)
    return np.maximum(0, np.ceil(np.log2(delays / 8.0))).astype(int)


def q_map(
    shape: tuple[int, int],
    beam_center_x: float,
    beam_center_y: float,
    pixel_size: float,
    distance: float,
    energy: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Transmission q (1/Å, exact 2 k0 sin θ) and phi (degrees) of every pixel."""
    from xpcs_core.geometry import Geometry
    from xpcs_core.kernels import qmap

    geometry = Geometry(energy_kev=energy, distance_m=distance, pixel_size_m=pixel_size,
                        beam_center_x=beam_center_x, beam_center_y=beam_center_y, shape=shape)
    maps = qmap.compute(np, geometry)
    return maps["q"], maps["phi"]


@dataclass(kw_only=True)
class SyntheticSpec:
    """Parameters of a synthetic measurement (units: keV, m, s, 1/Å, Å²/s)."""

    shape: tuple[int, int] = (512, 512)
    beam_center_x: float = 200.0
    beam_center_y: float = 180.0
    energy: float = 10.0
    distance: float = 5.0
    pixel_size: float = 75e-6
    frame_time: float = 1e-3
    n_frames: int = 10_000
    q_min: float = 0.002
    q_max: float = 0.03
    n_dyn: int = 12
    n_phi: int = 1
    static_per_dyn: int = 5
    diffusion: float = 1e5
    contrast: float = 0.2
    baseline: float = 1.0
    error_scale: float = 0.02
    n_segments: int = 4
    twotime: bool = False
    twotime_frames: int = 400
    seed: int = 0
    extra_metadata: dict[str, Meta] = field(default_factory=dict)

    @classmethod
    def for_shape(cls, shape: tuple[int, int], **overrides: object) -> SyntheticSpec:
        """Defaults for another detector shape: the beam centre keeps its relative place and
        the pixel size scales with 512 / min(H, W), so the same q range is covered."""
        h, w = int(shape[0]), int(shape[1])
        scale = 512 / min(h, w)
        base: dict[str, object] = {
            "shape": (h, w),
            "beam_center_x": 200.0 / 512 * w,
            "beam_center_y": 180.0 / 512 * h,
            "pixel_size": 75e-6 * scale,
        }
        return cls(**{**base, **overrides})  # type: ignore[arg-type]


def _compress(natural: np.ndarray, used: np.ndarray, n_natural: int) -> tuple[np.ndarray, np.ndarray]:
    present = np.unique(natural[used])
    lut = np.zeros(n_natural, dtype=np.int64)
    lut[present] = np.arange(1, present.size + 1)
    labels = np.zeros(natural.shape, dtype=np.int32)
    labels[used] = lut[natural[used]]
    return labels, present


def _qmap(spec: SyntheticSpec) -> tuple[QmapGroup, np.ndarray]:
    h, w = spec.shape
    q, phi = q_map(
        spec.shape, spec.beam_center_x, spec.beam_center_y, spec.pixel_size, spec.distance, spec.energy
    )
    mask = np.ones(spec.shape, dtype=bool)
    gap = slice(h // 2, h // 2 + max(1, h // 100))  # a horizontal module gap
    mask[gap, :] = False
    n_sq = spec.n_dyn * spec.static_per_dyn
    edges = np.geomspace(spec.q_min, spec.q_max, n_sq + 1)
    sq = np.clip(np.searchsorted(edges, np.round(q, 12), side="right") - 1, 0, n_sq - 1)
    sq[np.isclose(q, spec.q_max)] = n_sq - 1
    used = mask & (q >= spec.q_min) & (q <= spec.q_max)
    phi_edges = np.linspace(-180.0, 180.0, spec.n_phi + 1)
    sp = np.clip(np.searchsorted(phi_edges, phi, side="left") - 1, 0, spec.n_phi - 1)
    dq = sq // spec.static_per_dyn
    s_lab, s_map = _compress(sq * spec.n_phi + sp, used, n_sq * spec.n_phi)
    d_lab, d_map = _compress(dq * spec.n_phi + sp, used, spec.n_dyn * spec.n_phi)
    phi_centres = (phi_edges[:-1] + phi_edges[1:]) / 2 if spec.n_phi > 1 else np.zeros(1)
    d_edges = edges[:: spec.static_per_dyn]
    static = stored_binning(s_lab, (n_sq, spec.n_phi), [np.sqrt(edges[:-1] * edges[1:]), phi_centres], s_map)
    dynamic = stored_binning(
        d_lab, (spec.n_dyn, spec.n_phi), [np.sqrt(d_edges[:-1] * d_edges[1:]), phi_centres], d_map
    )
    qmap = QmapGroup(
        beam_center_x=spec.beam_center_x,
        beam_center_y=spec.beam_center_y,
        pixel_size=spec.pixel_size,
        detector_distance=spec.distance,
        energy=spec.energy,
        mask=mask,
        dynamic=dynamic,
        static=static,
    )
    return qmap, q


def make_synthetic(spec: SyntheticSpec | None = None, **overrides: object) -> ResultData:
    """Build the in-memory result of a synthetic Brownian sample (see module docstring)."""
    spec = spec or SyntheticSpec()
    if overrides:
        spec = SyntheticSpec(**{**spec.__dict__, **overrides})  # type: ignore[arg-type]
    rng = np.random.default_rng(spec.seed)
    qmap, q = _qmap(spec)
    dyn = qmap.dynamic
    q_dyn = dyn.label_centres()[:, 0]
    npix = np.maximum(dyn.counts, 1)

    delays = multitau_delays(spec.n_frames)
    tau = delays * spec.frame_time
    gamma = spec.diffusion * q_dyn**2
    model = spec.baseline + spec.contrast * np.exp(-2.0 * tau[:, None] * gamma[None, :])
    err = (
        spec.error_scale
        * spec.contrast
        * np.sqrt(1000.0 / npix)[None, :]
        * np.sqrt(2.0 ** lag_levels(delays))[:, None]
    )
    g2 = model + rng.normal(size=model.shape) * err
    n_seg = spec.n_segments
    seg_err = np.repeat(err[None] * np.sqrt(max(n_seg, 1)), max(n_seg, 1), axis=0)
    segments = model[None] + rng.normal(size=(n_seg, *model.shape)) * seg_err if n_seg else None

    intensity = 5.0 / (1.0 + (q * 100.0) ** 2) ** 2 + 0.01
    saxs = intensity * (1 + rng.normal(size=q.shape) / np.sqrt(intensity * spec.n_frames))
    saxs = np.clip(saxs, 0, None)
    saxs[~qmap.mask] = 0.0
    s_lab = qmap.static.labels.reshape(-1)
    n_static = qmap.static.n_labels
    sums = np.bincount(s_lab, weights=saxs.reshape(-1), minlength=n_static + 1)[1:]
    counts = np.maximum(np.bincount(s_lab, minlength=n_static + 1)[1:], 1)
    saxs_1d = sums / counts
    drift = 1.0 + 0.01 * np.linspace(-1, 1, max(n_seg, 1))[:, None]
    saxs_1d_segments = saxs_1d[None] * drift if n_seg else None
    mean_count = saxs[qmap.mask].mean()
    int_t = np.vstack(
        [
            np.arange(spec.n_frames, dtype=np.float64),
            rng.poisson(mean_count * qmap.mask.sum(), spec.n_frames) / qmap.mask.sum(),
        ]
    )

    twotime = None
    if spec.twotime:
        stride = max(1, spec.n_frames // spec.twotime_frames)
        n_tt = spec.n_frames // stride
        dt = spec.frame_time * stride
        tau_c = 1.0 / gamma
        fits = np.flatnonzero((tau_c > 3 * dt) & (tau_c < n_tt * dt / 5))
        chosen = (
            fits[np.linspace(0, fits.size - 1, min(3, fits.size)).astype(int)]
            if fits.size
            else np.arange(min(3, dyn.n_labels))
        )
        lag = np.abs(np.subtract.outer(np.arange(n_tt), np.arange(n_tt))) * dt
        maps, diag = [], []
        for j in chosen:
            noise = rng.normal(scale=0.02, size=(n_tt, n_tt))
            c2 = (
                spec.baseline
                + spec.contrast * np.exp(-2.0 * gamma[j] * lag)
                + np.triu(noise)
                + np.triu(noise, 1).T
            )
            maps.append(c2)
            diag.append(diagonal_means(c2))
        twotime = TwotimeData(
            processed_bins=chosen + 1,
            c2_maps=maps,
            g2=np.stack(diag, axis=1),
            g2_segments=np.stack(diag, axis=1)[None],  # one segment: the whole map
            stride_frame=stride,
            avg_frame=1,
        )

    multitau = MultitauData(
        g2=g2,
        g2_err=err,
        delay_list=delays,
        stride_frame=1,
        avg_frame=1,
        config={"type": "Multitau", "synthetic_diffusion_A2_per_s": spec.diffusion},
        g2_segments=segments,
        g2_segments_err=seg_err if n_seg else None,
        g2_segments_labels=[f"segment_{i + 1}" for i in range(n_seg)] if n_seg else None,
    )
    metadata = {
        "sample/name": Meta("synthetic Brownian sample"),
        "sample/diffusion_coefficient": Meta(spec.diffusion, "A^2/s"),
        "sample/contrast": Meta(spec.contrast),
        "sample/seed": Meta(spec.seed),
        **spec.extra_metadata,
    }
    return ResultData(
        qmap=qmap,
        frame_time=spec.frame_time,
        count_time=spec.frame_time * 0.95,
        saxs_2d=saxs,
        saxs_1d=saxs_1d,
        saxs_1d_segments=saxs_1d_segments,
        intensity_vs_time=int_t,
        multitau=multitau,
        twotime=twotime,
        start_time="2024-01-01T00:00:00",
        rawdata_path="synthetic://brownian",
        metadata=metadata,
    )


def write_synthetic(
    path: str | os.PathLike[str],
    layout: str = "nexus",
    spec: SyntheticSpec | None = None,
    **overrides: object,
) -> ResultData:
    """Write a synthetic result file in the ``"nexus"`` or ``"legacy"`` layout; return its data."""
    data = make_synthetic(spec, **overrides)
    if layout == "nexus":
        write_result(path, data)
    elif layout == "legacy":
        write_legacy(path, data)
    else:
        raise ValueError(f"layout must be 'nexus' or 'legacy', not {layout!r}")
    return data


def _expand(part: Binning) -> tuple[np.ndarray, np.ndarray]:
    """Legacy (uncompressed) label map and, per natural bin, whether it is non-empty."""
    n = part.bins[0] * part.bins[1]
    lut = np.zeros(part.n_labels + 1, dtype=np.int64)
    lut[1:] = part.index_mapping + 1
    present = np.zeros(n, dtype=bool)
    present[part.index_mapping] = True
    return lut[part.labels], present


def _legacy_lists(part: Binning, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n0, n1 = part.bins
    q = np.repeat(part.centres[0], n1)
    phi = np.tile(part.centres[1], n0)
    phi = np.where(present, phi, np.nan)
    return q.reshape(1, -1), phi.reshape(1, -1)


def _to_natural(values: np.ndarray, part: Binning, axis: int = -1) -> np.ndarray:
    shape = list(values.shape)
    shape[axis] = part.bins[0] * part.bins[1]
    out = np.full(shape, np.nan)
    index = [slice(None)] * values.ndim
    index[axis] = part.index_mapping
    out[tuple(index)] = values
    return out


def write_legacy(path: str | os.PathLike[str], data: ResultData) -> Path:
    """Write ``data`` in the legacy ``/exchange`` layout (for tests; the library writes NeXus).

    Labels are expanded to the legacy convention (label = natural index + 1, g2 columns
    for every natural bin, NaN for empty ones). Lengths are written in mm with units.
    """
    qmap = data.qmap
    target = Path(path)
    with atomic_h5(target) as f:
        x = f.create_group("xpcs")
        x["Version"] = np.bytes_(b"0.5")
        x["analysis_type"] = np.bytes_(b"Twotime" if data.twotime is not None else b"Multitau")
        for p, part in (("d", qmap.dynamic), ("s", qmap.static)):
            labels, present = _expand(part)
            x.create_dataset(f"{p}qmap", data=labels.astype(np.uint32), compression="lzf")
            ql, phil = _legacy_lists(part, present)
            x[f"{p}qlist"], x[f"{p}philist"] = ql, phil
            x[f"{p}noq"], x[f"{p}nophi"] = np.int64(part.bins[0]), np.int64(part.bins[1])
        x.create_dataset("mask", data=qmap.mask.astype(np.uint8), compression="lzf")
        mt = data.multitau
        x["stride_frames"] = np.int64(mt.stride_frame if mt else 1)
        x["avg_frames"] = np.int64(mt.avg_frame if mt else 1)
        ex = f.create_group("exchange")
        if mt is not None:
            ex["tau"] = np.asarray(mt.delay_list, dtype=np.float64).reshape(1, -1)
            ex["norm-0-g2"] = _to_natural(np.asarray(mt.g2), qmap.dynamic)
            ex["norm-0-stderr"] = _to_natural(np.asarray(mt.g2_err), qmap.dynamic)
        if data.saxs_2d is not None:
            ex.create_dataset("pixelSum", data=np.asarray(data.saxs_2d, dtype=np.float32), compression="lzf")
        if data.intensity_vs_time is not None:
            ex["frameSum"] = np.asarray(data.intensity_vs_time, dtype=np.float32)
        if data.saxs_1d is not None:
            ex["partition-mean-total"] = _to_natural(np.asarray(data.saxs_1d), qmap.static).reshape(1, -1)
        if data.saxs_1d_segments is not None:
            ex["partition-mean-partial"] = _to_natural(np.asarray(data.saxs_1d_segments), qmap.static)
        if data.twotime is not None:
            tt = data.twotime
            c2 = ex.create_group("C2T_all")
            for label, m in zip(tt.processed_bins, tt.c2_maps, strict=True):
                legacy_label = int(qmap.dynamic.index_mapping[label - 1]) + 1
                c2.create_dataset(
                    f"g2_{legacy_label:05d}", data=np.triu(m).astype(np.float32), compression="lzf"
                )
            if tt.g2 is not None:
                ex["g2full"] = np.asarray(tt.g2, dtype=np.float32)
        inst = f.create_group("measurement/instrument")
        det = inst.create_group("detector")
        det["exposure_period"] = np.float64(data.frame_time)
        det["exposure_time"] = np.float64(data.count_time or data.frame_time)
        for name, value in (
            ("distance", qmap.detector_distance),
            ("x_pixel_size", qmap.pixel_size),
            ("y_pixel_size", qmap.pixel_size),
        ):
            det[name] = np.float64(value * 1e3)
            det[name].attrs["units"] = "mm"
        det["x_dimension"], det["y_dimension"] = np.int64(qmap.shape[1]), np.int64(qmap.shape[0])
        acq = inst.create_group("acquisition")
        acq["beam_center_x"], acq["beam_center_y"] = (
            np.float64(qmap.beam_center_x),
            np.float64(qmap.beam_center_y),
        )
        inst.create_group("source_begin")["energy"] = np.float64(qmap.energy)
    return target
