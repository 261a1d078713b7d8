"""Static and dynamic q/phi partitions, and binned means, on any backend.

:func:`make_partition` bins one pair of maps (``q``/``phi`` by default; also ``qr``/``qz``,
``x``/``y`` or any map of the q-map) into a fine static partition (SAXS) and a coarse
dynamic one (g2) that nests in it, following docs/physics.md: linear or logarithmic bins over
the unmasked pixels, phi offset and symmetry fold, range limits, labels compressed to
1..K with ``index_mapping`` keeping the natural index ``i0·n1 + i1``. Labels agree bit
for bit across backends.

:func:`binned_mean` averages an image or a stack of frames over the pixels of each label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from xpcs_core.backend_info import Provenance
from xpcs_core.errors import XpcsBackendError, XpcsInputError
from xpcs_core.geometry import Geometry
from xpcs_core.kernels import qmap as qmap_kernel
from xpcs_core.kernels.partition import bin_centres
from xpcs_core.qmap import UNITS, QMap, compute_qmap


SCALES = ("linear", "log")
Range = tuple[float | None, float | None]


@dataclass(frozen=True, eq=False)
class PartitionSpec:
    """What to bin and how; the ``spec`` argument of the ``xpcs_partition`` hook.

    Attributes:
        maps: names of the one or two maps binned (dim0, dim1), e.g. ``("q", "phi")``.
        bins: number of bins per map.
        scale: ``"linear"`` or ``"log"`` for dim0 (log only for a q-like map); dim1 is linear.
        ranges: per map ``(lo, hi)`` limits, ``None`` for the data's min/max over the
            unmasked pixels. Pixels outside are not used.
        phi_offset: degrees subtracted from phi, wrapped into (−180, 180].
        phi_fold: symmetry fold f ≥ 1; f ≥ 2 maps phi to (phi + 180) mod (360/f).
        edges: optional explicit float64 edges per map (``None`` entries: computed),
            used to nest a dynamic partition in a static one.
    """

    maps: tuple[str, ...] = ("q", "phi")
    bins: tuple[int, ...] = (36, 1)
    scale: str = "linear"
    ranges: tuple[Range, ...] = ((None, None), (None, None))
    phi_offset: float = 0.0
    phi_fold: int = 1
    edges: tuple[np.ndarray | None, ...] | None = None

    def __post_init__(self) -> None:
        maps = tuple(str(m) for m in self.maps)
        object.__setattr__(self, "maps", maps)
        if not 1 <= len(maps) <= 2 or len(set(maps)) != len(maps):
            raise XpcsInputError(f"partition maps: expected one or two different names, got {maps}")
        bins = tuple(self.bins)
        if len(bins) != len(maps):
            raise XpcsInputError(f"partition bins: expected {len(maps)} counts, got {bins}")
        for name, n in zip(maps, bins, strict=True):
            if isinstance(n, bool) or not float(n).is_integer() or int(n) < 1:
                raise XpcsInputError(f"{name} bins: must be a positive integer, got {n!r}")
        object.__setattr__(self, "bins", tuple(int(n) for n in bins))
        if self.scale not in SCALES:
            raise XpcsInputError(f"scale: must be 'linear' or 'log', got {self.scale!r}")
        if self.scale == "log" and not maps[0].startswith("q"):
            raise XpcsInputError(f"scale: logarithmic bins are for q maps only, not {maps[0]!r}")
        ranges = tuple(tuple(r) for r in self.ranges)[: len(maps)]
        ranges += ((None, None),) * (len(maps) - len(ranges))
        for name, (lo, hi) in zip(maps, ranges, strict=True):
            for value in (lo, hi):
                if value is not None and not np.isfinite(value):
                    raise XpcsInputError(f"{name} range: limits must be finite, got {value!r}")
            if lo is not None and hi is not None and not lo < hi:
                raise XpcsInputError(f"{name} range: minimum {lo:g} must be below maximum {hi:g}")
        if self.scale == "log" and ranges[0][0] is not None and ranges[0][0] <= 0:
            raise XpcsInputError(f"{maps[0]} range: logarithmic bins need a positive minimum")
        object.__setattr__(self, "ranges", ranges)
        if not np.isfinite(self.phi_offset):
            raise XpcsInputError(f"phi_offset: must be finite, got {self.phi_offset!r}")
        object.__setattr__(self, "phi_offset", float(self.phi_offset))
        fold = self.phi_fold
        if isinstance(fold, bool) or not float(fold).is_integer() or int(fold) < 1:
            raise XpcsInputError(f"phi_fold: must be a positive integer, got {fold!r}")
        object.__setattr__(self, "phi_fold", int(fold))
        if self.edges is not None:
            edges = tuple(None if e is None else np.asarray(e, dtype=np.float64) for e in self.edges)
            if len(edges) != len(maps):
                raise XpcsInputError(f"partition edges: expected {len(maps)} entries")
            for name, n, e in zip(maps, self.bins, edges, strict=True):
                if e is not None and (e.shape != (n + 1,) or np.any(np.diff(e) < 0)):
                    raise XpcsInputError(f"{name} edges: expected {n + 1} increasing values")
            object.__setattr__(self, "edges", edges)

    def scale_of(self, dim: int) -> str:
        return self.scale if dim == 0 else "linear"


@dataclass
class Binning:
    """One partition: labels 1..K plus what the labels mean.

    ``labels`` (H, W) int32 (0 = unused), ``edges``/``centres`` per map over all natural
    bins, ``index_mapping`` (K,) natural index of label k at [k-1], ``counts`` (K,)
    pixels per label.
    """

    labels: np.ndarray
    maps: tuple[str, ...]
    bins: tuple[int, ...]
    edges: list[np.ndarray]
    centres: list[np.ndarray]
    index_mapping: np.ndarray
    counts: np.ndarray
    units: tuple[str, ...] = ()

    @property
    def n_labels(self) -> int:
        return int(self.index_mapping.size)

    def label_centres(self) -> np.ndarray:
        """(K, n_maps): centre of each label's bin along each map (e.g. q, phi)."""
        idx = np.unravel_index(self.index_mapping, self.bins)
        return np.stack([c[i] for c, i in zip(self.centres, idx, strict=True)], axis=1)


@dataclass
class Partition:
    """The static and dynamic partitions of one detector, with the mask and geometry.

    ``static_to_dynamic`` (K_static,) gives the dynamic label holding each static label.
    ``qmap`` holds the maps the partition was made from (None when read from a file
    without maps); ``spec_*`` the settings (None when not known).
    """

    dynamic: Binning
    static: Binning
    mask: np.ndarray
    geometry: Geometry
    static_to_dynamic: np.ndarray
    qmap: QMap | None = None
    spec_dynamic: PartitionSpec | None = None
    spec_static: PartitionSpec | None = None
    provenance: Provenance | None = None
    blemish: np.ndarray | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.mask.shape)  # type: ignore[return-value]

    def map_arrays(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Maps by name (computed here with NumPy if this partition has none)."""
        if self.qmap is None:
            self.qmap = QMap(self.geometry, qmap_kernel.compute(np, self.geometry))
        return {n: self.qmap[n] for n in names}


# --------------------------------------------------------------------- internals
def _compress(natural: np.ndarray, n_total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Natural indices (−1 = unused) → labels 1..K (int32), index_mapping, counts."""
    flat = natural.reshape(-1)
    used = flat >= 0
    counts_all = np.bincount(flat[used], minlength=n_total)
    index_mapping = np.flatnonzero(counts_all).astype(np.int64)
    lut = np.zeros(n_total + 1, dtype=np.int32)
    lut[index_mapping + 1] = np.arange(1, index_mapping.size + 1, dtype=np.int32)
    labels = lut[flat + 1].reshape(natural.shape)
    return labels, index_mapping, counts_all[index_mapping].astype(np.int64)


def _nest_map(static: np.ndarray, dynamic: np.ndarray, n_dynamic: int) -> np.ndarray:
    """Dynamic label of each static label; raise if a static bin spans two dynamic bins."""
    s, d = static.reshape(-1), dynamic.reshape(-1)
    used = s > 0
    if np.any(d[used] == 0):
        raise XpcsInputError("a static bin covers pixels outside every dynamic bin")
    pairs = np.unique(s[used].astype(np.int64) * (n_dynamic + 1) + d[used])
    s_of, d_of = np.divmod(pairs, n_dynamic + 1)
    if np.unique(s_of).size != s_of.size:
        raise XpcsInputError(
            "static bins do not nest in the dynamic bins; make each static bin count a "
            "multiple of the dynamic one with the same ranges"
        )
    out = np.zeros(int(s.max(initial=0)), dtype=np.int64)
    out[s_of - 1] = d_of
    return out


def partition_maps(
    maps: Mapping[str, np.ndarray],
    mask: np.ndarray,
    spec: PartitionSpec,
    backend: str | None = None,
) -> tuple[Binning, Provenance]:
    """Run the ``xpcs_partition`` hook on ``maps`` and compress the result to labels."""
    from xpcs_core.backends import call, get_backend

    for name in spec.maps:
        if name not in maps:
            raise XpcsInputError(f"partition map {name!r} is not available; have {', '.join(maps)}")
        if np.shape(maps[name]) != np.shape(mask):
            raise XpcsInputError(
                f"map {name!r} has shape {np.shape(maps[name])}, the mask {np.shape(mask)}"
            )
    raw, provenance = call("xpcs_partition", backend=backend, maps=dict(maps), mask=mask, spec=spec,
                           workload=float(np.size(mask)))
    natural = np.asarray(get_backend(provenance.backend).to_numpy(raw.natural_index))
    if natural.shape != np.shape(mask) or natural.dtype.kind not in "iu":
        raise XpcsBackendError(
            f"backend {provenance.backend!r} returned natural indices of shape "
            f"{natural.shape} dtype {natural.dtype}, expected {np.shape(mask)} int"
        )
    n_total = int(np.prod(spec.bins))
    natural = natural.astype(np.int64, copy=False)
    if natural.max(initial=-1) >= n_total:
        raise XpcsBackendError(f"backend {provenance.backend!r} returned an index >= {n_total}")
    labels, index_mapping, counts = _compress(natural, n_total)
    n_pixels = int(counts.sum())
    if n_total > n_pixels:
        raise XpcsInputError(
            f"{' x '.join(map(str, spec.bins))} = {n_total} {'/'.join(spec.maps)} bins but only "
            f"{n_pixels} usable pixels; use fewer bins or a larger mask"
        )
    edges = [np.asarray(e, dtype=np.float64) for e in raw.edges]
    centres = [bin_centres(e, spec.scale_of(d)) for d, e in enumerate(edges)]
    binning = Binning(
        labels=labels, maps=spec.maps, bins=spec.bins, edges=edges, centres=centres,
        index_mapping=index_mapping, counts=counts,
        units=tuple(UNITS.get(m, "") for m in spec.maps),
    )
    return binning, provenance


def _resolve_mask(mask: Any, shape: tuple[int, int]) -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    if hasattr(mask, "to_array"):
        mask = mask.to_array()
    arr = np.asarray(mask)
    if arr.shape != tuple(shape):
        raise XpcsInputError(f"mask: shape {arr.shape} does not match the detector {tuple(shape)}")
    if arr.dtype.kind not in "biuf":
        raise XpcsInputError(f"mask: expected a boolean or numeric array, got dtype {arr.dtype}")
    return arr != 0


def make_partition(
    source: Geometry | QMap,
    mask: Any = None,
    *,
    maps: Sequence[str] = ("q", "phi"),
    dynamic: Sequence[int] = (36, 1),
    static: Sequence[int] = (360, 1),
    scale: str = "linear",
    phi_offset: float = 0.0,
    phi_fold: int = 1,
    ranges: Mapping[str, Range] | None = None,
    q_min: float | None = None,
    q_max: float | None = None,
    blemish: Any = None,
    backend: str | None = None,
) -> Partition:
    """Build the static and dynamic partitions of a detector.

    Args:
        source: a :class:`Geometry` (its q-map is computed on ``backend``) or a
            :class:`QMap` from :func:`compute_qmap`.
        mask: (H, W) array (True / non-zero = good pixel) or a ``MaskBuilder``;
            ``None`` uses every pixel.
        maps: the two maps binned (dim0, dim1): ``("q", "phi")``, ``("qr", "qz")``,
            ``("x", "y")``...
        dynamic, static: bin counts (n_dim0, n_dim1) of each partition. Each static
            count must be a multiple of the dynamic one for the bins to nest exactly.
        scale: ``"linear"`` or ``"log"`` bins along dim0 (log: q maps only).
        phi_offset, phi_fold: see :class:`PartitionSpec`.
        ranges: ``{map name: (lo, hi)}`` limits (None = data min/max); ``q_min``/``q_max``
            set the limits of dim0.
        blemish: optional (H, W) detector blemish map (non-zero = good); combined
            with ``mask`` and kept in the partition (written as ``blemish``).
        backend: backend name (default: the selected one).

    Raises XpcsInputError for a mask of the wrong shape, an empty range, or more bins
    than usable pixels.
    """
    qmap = source if isinstance(source, QMap) else compute_qmap(_geometry(source), backend=backend)
    shape = qmap.geometry.shape
    good = _resolve_mask(mask, shape)
    blemish_map = None
    if blemish is not None:
        blemish_map = _resolve_mask(blemish, shape)
        good = good & blemish_map
    maps = tuple(maps)
    if len(maps) != 2:
        raise XpcsInputError(f"maps: expected two map names (dim0, dim1), got {maps}")
    for name in maps:
        if name not in qmap.available():
            raise XpcsInputError(
                f"map {name!r} is not available for {qmap.geometry.kind} geometry; "
                f"choose from {', '.join(qmap.available())}"
            )
    limits = dict(ranges or {})
    if q_min is not None or q_max is not None:
        lo, hi = limits.get(maps[0], (None, None))
        limits[maps[0]] = (lo if q_min is None else q_min, hi if q_max is None else q_max)
    unknown = set(limits) - set(maps)
    if unknown:
        raise XpcsInputError(f"ranges: {', '.join(sorted(unknown))} not among the maps {maps}")
    common = dict(maps=maps, scale=scale, ranges=tuple(limits.get(m, (None, None)) for m in maps),
                  phi_offset=phi_offset, phi_fold=phi_fold)
    spec_s = PartitionSpec(bins=tuple(static), **common)
    spec_d = PartitionSpec(bins=tuple(dynamic), **common)
    map_arrays = {name: qmap[name] for name in maps}
    sta, provenance = partition_maps(map_arrays, good, spec_s, backend=backend)
    # nest exactly: dynamic edges are every m-th static edge where the counts divide
    if all(s % d == 0 for s, d in zip(spec_s.bins, spec_d.bins, strict=True)):
        spec_d = PartitionSpec(
            bins=spec_d.bins, **common,
            edges=tuple(e[:: s // d] for e, s, d in zip(sta.edges, spec_s.bins, spec_d.bins, strict=True)),
        )
    dyn, _ = partition_maps(map_arrays, good, spec_d, backend=backend)
    try:
        nesting = _nest_map(sta.labels, dyn.labels, dyn.n_labels)
    except XpcsInputError as exc:
        counts = f"static {' x '.join(map(str, spec_s.bins))}, dynamic {' x '.join(map(str, spec_d.bins))}"
        raise XpcsInputError(f"{exc} ({counts})") from None
    return Partition(dynamic=dyn, static=sta, mask=good, geometry=qmap.geometry,
                     static_to_dynamic=nesting, qmap=qmap, spec_dynamic=spec_d,
                     spec_static=spec_s, provenance=provenance, blemish=blemish_map)


def _geometry(source: Any) -> Geometry:
    if isinstance(source, Geometry):
        return source
    raise XpcsInputError(f"make_partition expects a Geometry or a QMap, got {type(source).__name__}")


# -------------------------------------------------------------------- binned means
class BinnedMean(NamedTuple):
    """Per-label means (..., K) float64 (NaN for an empty label), pixel counts (K,)."""

    means: np.ndarray
    counts: np.ndarray
    provenance: Provenance


def binned_mean(
    data: Any,
    labels: Any,
    n_labels: int | None = None,
    backend: str | None = None,
) -> BinnedMean:
    """Mean of ``data`` over the pixels of each label 1..K; label 0 never contributes.

    ``data``: (..., H, W) image or stack of frames (or (..., N) with flat labels);
    ``labels``: integer array of the trailing shape of ``data`` (a :class:`Binning`
    is accepted too). ``n_labels`` defaults to the largest label.
    """
    from xpcs_core.backends import call, get_backend

    if isinstance(labels, Binning):
        n_labels = labels.n_labels if n_labels is None else n_labels
        labels = labels.labels
    lab = np.asarray(labels)
    if lab.dtype.kind not in "iub":
        raise XpcsInputError(f"labels: expected integers, got dtype {lab.dtype}")
    arr = data if hasattr(data, "shape") and hasattr(data, "dtype") else np.asarray(data)
    if np.dtype(arr.dtype).kind not in "biuf":
        raise XpcsInputError(f"data: expected real numbers, got dtype {arr.dtype}")
    if lab.ndim == 0 or tuple(arr.shape[arr.ndim - lab.ndim:]) != lab.shape or arr.ndim < lab.ndim:
        raise XpcsInputError(
            f"data of shape {tuple(arr.shape)} does not end with the labels' shape {lab.shape}"
        )
    top = int(lab.max(initial=0))
    if lab.size and int(lab.min()) < 0:
        raise XpcsInputError(f"labels: negative label {int(lab.min())}")
    n = top if n_labels is None else int(n_labels)
    if top > n:
        raise XpcsInputError(f"labels: label {top} exceeds n_labels={n}")
    lab = lab.astype(np.int32 if n < 2**31 - 1 else np.int64, copy=False)
    raw, provenance = call("xpcs_binned_mean", backend=backend, data=arr, labels=lab, n_labels=n,
                           workload=float(np.size(arr)))
    be = get_backend(provenance.backend)
    means = np.asarray(be.to_numpy(raw[0]), dtype=np.float64)
    counts = np.asarray(be.to_numpy(raw[1])).astype(np.int64)
    return BinnedMean(means, counts, provenance)
