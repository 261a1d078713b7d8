"""The ``/xpcs/qmap`` group of result files (also the ``/qmap`` group of q-map files).

A partition (dynamic or static) is a :class:`~xpcs_core.partition.Binning` with two
dimensions, as the group stores it (:func:`stored_binning`): the label map, the bin
centres per dimension and the mapping of compressed labels to natural indices.
``QmapGroup`` holds both with the mask and geometry. ``write_qmap_group`` and
``read_qmap_group`` move them to and from any HDF5 group, with validation.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field

import h5py
import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsFormatWarning, XpcsInputError
from xpcs_core.partition import Binning
from xpcs_core.io._h5util import (
    attr_str,
    get_dataset,
    key_of,
    read_array,
    read_scalar,
    read_strings,
    write_array,
    write_strings,
)

__all__ = [
    "QMAP_VERSION",
    "QmapGroup",
    "read_qmap_group",
    "stored_binning",
    "validate_binning",
    "write_qmap_group",
]

QMAP_VERSION = "1"
PREFIXES = ("dynamic", "static")


class _FieldError(XpcsInputError):
    """An inconsistency in one field of a q-map (``field`` is its dataset name, or None)."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}" if field else message)


def _label_list(labels: np.ndarray, most: int = 8) -> str:
    shown = ", ".join(str(int(v)) for v in labels[:most])
    return shown + (", ..." if labels.size > most else "")


def _as_labels(roi_map: np.ndarray, where: str) -> np.ndarray:
    """Integer label map; integral floats are accepted, anything else is not."""
    arr = np.asarray(roi_map)
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    raise _FieldError(where, f"labels must be integers, found dtype {arr.dtype}")


def stored_binning(labels: np.ndarray, bins: tuple[int, int], centres: list[np.ndarray],
                   index_mapping: np.ndarray, maps: tuple[str, str] = ("q", "phi"),
                   units: tuple[str, str] = ("1/A", "degree"), where: str = "partition") -> Binning:
    """A :class:`~xpcs_core.partition.Binning` as a q-map group holds it: two dimensions
    (``bins``, ``centres``, ``maps``, ``units`` one per dimension), no edges, counts computed.

    ``labels`` (H, W) integers (integral floats accepted), ``index_mapping`` (K,) 0-based
    natural index ``i0 * bins[1] + i1`` of label k at [k-1]. Consistency is checked by
    :func:`validate_binning`, not here.
    """
    labels = _as_labels(labels, f"{where}_roi_map")
    if labels.size and labels.max() > np.iinfo(np.int32).max:
        raise _FieldError(f"{where}_roi_map", f"label {labels.max()} is too large")
    mapping = np.asarray(index_mapping).reshape(-1).astype(np.int64)
    used = labels[labels > 0]
    counts = np.bincount(used, minlength=mapping.size + 1)[1 : mapping.size + 1].astype(np.int64)
    return Binning(
        labels=labels.astype(np.int32), maps=tuple(str(m) for m in maps),
        bins=tuple(int(n) for n in np.asarray(bins).reshape(-1)), edges=[],
        centres=[np.asarray(v, dtype=np.float64).reshape(-1) for v in centres],
        index_mapping=mapping, counts=counts, units=tuple(str(u) for u in units),
    )


def validate_binning(part: Binning, where: str = "partition") -> None:
    """Raise XpcsInputError (naming ``where``'s dataset) if a stored partition is inconsistent."""
    roi = part.labels
    if roi.ndim != 2:
        raise _FieldError(f"{where}_roi_map", f"expected a 2-D map, found shape {roi.shape}")
    if len(part.bins) != 2 or min(part.bins) < 1:
        raise _FieldError(f"{where}_num_pts", f"expected two positive counts, found {part.bins}")
    if len(part.centres) != 2:
        raise _FieldError(f"{where}_v_list", "expected two lists of bin centres")
    for dim, (values, n) in enumerate(zip(part.centres, part.bins, strict=True)):
        if values.size != n:
            raise _FieldError(f"{where}_v_list_dim{dim}", f"has {values.size} centres but num_pts says {n}")
        if np.isinf(values).any():
            raise _FieldError(f"{where}_v_list_dim{dim}", "infinite bin centre")
    n_natural = part.bins[0] * part.bins[1]
    im = part.index_mapping
    if im.size and (im.min() < 0 or im.max() >= n_natural):
        raise _FieldError(f"{where}_index_mapping",
                          f"values must lie in 0..{n_natural - 1}, found {im.min()}..{im.max()}")
    if np.unique(im).size != im.size:
        raise _FieldError(f"{where}_index_mapping", "repeated natural index")
    if roi.size and roi.min() < 0:
        raise _FieldError(f"{where}_roi_map", f"negative label {roi.min()}")
    if roi.size and roi.max() > part.n_labels:
        raise _FieldError(f"{where}_roi_map",
                          f"label {roi.max()} beyond the {part.n_labels} bins of {where}_index_mapping")


@dataclass(kw_only=True)
class QmapGroup:
    """Detector geometry, mask and the dynamic/static partitions of a q-map.

    ``beam_center_x`` is the column, ``beam_center_y`` the row (pixels);
    ``pixel_size`` and ``detector_distance`` in metres, ``energy`` in keV.
    ``maps`` optionally holds float (H, W) maps by name (e.g. "q", "phi"), stored
    float32. ``hash`` is the SHA-256 of the partition (computed when None).
    """

    beam_center_x: float
    beam_center_y: float
    pixel_size: float
    detector_distance: float
    energy: float
    mask: np.ndarray
    dynamic: Binning
    static: Binning
    blemish: np.ndarray | None = None
    map_names: tuple[str, str] = ("q", "phi")
    map_units: tuple[str, str] = ("1/A", "degree")
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    hash: str | None = None
    version: str = QMAP_VERSION

    def __post_init__(self) -> None:
        self.mask = np.asarray(self.mask)
        if self.blemish is not None:
            self.blemish = np.asarray(self.blemish)
        self.map_names = tuple(str(n) for n in self.map_names)  # type: ignore[assignment]
        self.map_units = tuple(str(u) for u in self.map_units)  # type: ignore[assignment]
        if self.hash is None:
            self.hash = self.compute_hash()

    @property
    def shape(self) -> tuple[int, int]:
        """Detector shape (H, W)."""
        return tuple(self.mask.shape)  # type: ignore[return-value]

    def compute_hash(self) -> str:
        """SHA-256 over the partitions, mask and geometry: a cache key for this q-map."""
        digest = hashlib.sha256()
        for part in (self.dynamic, self.static):
            digest.update(np.ascontiguousarray(part.labels, dtype="<i4").tobytes())
            digest.update(np.asarray(part.bins, dtype="<i8").tobytes())
            for values in part.centres:
                digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
            digest.update(np.ascontiguousarray(part.index_mapping, dtype="<i8").tobytes())
            digest.update("|".join(part.maps + part.units).encode())
        digest.update(np.ascontiguousarray(self.mask, dtype="u1").tobytes())
        geometry = [
            self.beam_center_x,
            self.beam_center_y,
            self.pixel_size,
            self.detector_distance,
            self.energy,
        ]
        digest.update(np.asarray(geometry, dtype="<f8").tobytes())
        return digest.hexdigest()

    def nesting(self) -> tuple[np.ndarray, np.ndarray]:
        """``(static_to_dynamic, not_nested)``: the dynamic label holding most pixels of each
        static label (0 for an empty static bin), and the static labels that do not lie
        inside exactly one dynamic bin."""
        s = self.static.labels.reshape(-1).astype(np.int64)
        d = self.dynamic.labels.reshape(-1).astype(np.int64)
        used = s > 0
        width = self.dynamic.n_labels + 1
        pairs, counts = np.unique(s[used] * width + d[used], return_counts=True)
        s_of, d_of = np.divmod(pairs, width)
        order = np.lexsort((-counts, s_of))  # per static label, its largest share first
        s_of, d_of = s_of[order], d_of[order]
        labels, first, n_dyn = np.unique(s_of, return_index=True, return_counts=True)
        out = np.zeros(self.static.n_labels, dtype=np.int64)
        out[labels - 1] = d_of[first]
        return out, labels[(n_dyn > 1) | (d_of[first] == 0)]

    def static_to_dynamic(self) -> np.ndarray:
        """(K_static,) dynamic label containing each static label (0 for an empty static bin).

        Raises XpcsInputError, naming the bins, if a static bin does not lie inside exactly
        one dynamic bin: what needs nesting (recomputing g2 from pixels) must refuse.
        """
        out, bad = self.nesting()
        if bad.size:
            raise _FieldError(None, f"static bin(s) {_label_list(bad)} do not lie inside exactly one "
                              f"dynamic bin ({bad.size} affected): this needs a nested partition")
        return out

    def validate(self) -> None:
        """Raise XpcsInputError if shapes, labels or nesting are inconsistent."""
        for name, value in (("beam_center_x", self.beam_center_x), ("beam_center_y", self.beam_center_y)):
            if not np.isfinite(value):
                raise _FieldError(name, f"not finite ({value})")
        for name, value in (
            ("pixel_size", self.pixel_size),
            ("detector_distance", self.detector_distance),
            ("energy", self.energy),
        ):
            if not (np.isfinite(value) and value > 0):
                raise _FieldError(name, f"must be a positive number, found {value}")
        if self.mask.ndim != 2:
            raise _FieldError("mask", f"expected a 2-D array, found shape {self.mask.shape}")
        for prefix in PREFIXES:
            part: Binning = getattr(self, prefix)
            validate_binning(part, prefix)
            if part.labels.shape != self.shape:
                raise _FieldError(
                    f"{prefix}_roi_map", f"shape {part.labels.shape} does not match the mask {self.shape}"
                )
        if self.blemish is not None and self.blemish.shape != self.shape:
            raise _FieldError("blemish", f"shape {self.blemish.shape} does not match the mask {self.shape}")
        for name, values in self.maps.items():
            if np.shape(values) != self.shape:
                raise _FieldError(
                    f"maps/{name}", f"shape {np.shape(values)} does not match the mask {self.shape}"
                )
        _, bad = self.nesting()
        if bad.size:  # viewing and fitting g2 do not need nesting: warn, do not refuse
            warnings.warn(f"static bin(s) {_label_list(bad)} do not lie inside exactly one dynamic "
                          f"bin ({bad.size} of {self.static.n_labels}); g2 can be viewed and fitted, "
                          "recomputing from pixels is refused", XpcsFormatWarning, stacklevel=2)


def write_qmap_group(group: h5py.Group, qmap: QmapGroup) -> None:
    """Write ``qmap`` into ``group`` (e.g. ``f.require_group("/xpcs/qmap")`` or ``/qmap``).

    Validates first (XpcsInputError on an inconsistent q-map). Label maps are written
    int32 and LZF-compressed; mask/blemish uint8; centres and scalars float64;
    ``map_names`` / ``map_units`` as byte strings; ``hash`` and ``version`` as attributes.
    """
    qmap.validate()
    for name in ("beam_center_x", "beam_center_y", "pixel_size", "detector_distance", "energy"):
        if name in group:
            del group[name]
        group.create_dataset(name, data=np.float64(getattr(qmap, name)))
    write_array(group, "mask", qmap.mask.astype(np.uint8))
    blemish = qmap.blemish if qmap.blemish is not None else np.ones(qmap.shape, np.uint8)
    write_array(group, "blemish", np.asarray(blemish).astype(np.uint8))
    write_strings(group, "map_names", qmap.map_names)
    write_strings(group, "map_units", qmap.map_units)
    for prefix in PREFIXES:
        part: Binning = getattr(qmap, prefix)
        write_array(group, f"{prefix}_roi_map", part.labels.astype(np.int32), compress=True)
        write_array(group, f"{prefix}_num_pts", np.asarray(part.bins, dtype=np.int64))
        for dim, values in enumerate(part.centres):
            ds = write_array(group, f"{prefix}_v_list_dim{dim}", values, keep_float64=True)
            ds.attrs["unit"] = np.bytes_(part.units[dim].encode())
            ds.attrs["name"] = np.bytes_(part.maps[dim].encode())
            ds.attrs["size"] = np.int64(values.size)
        write_array(group, f"{prefix}_index_mapping", part.index_mapping.astype(np.int64))
    if qmap.maps:
        maps = group.require_group("maps")
        for name, values in qmap.maps.items():
            write_array(maps, name, np.asarray(values, dtype=np.float32))
    group.attrs["hash"] = np.bytes_((qmap.hash or qmap.compute_hash()).encode())
    group.attrs["version"] = np.bytes_(str(qmap.version).encode())


def _read_partition(
    group: h5py.Group, prefix: str, path: object, names: tuple[str, str], units: tuple[str, str]
) -> Binning:
    roi = read_array(group, f"{prefix}_roi_map", path, kind="number", ndim=2)
    roi_key = key_of(group, f"{prefix}_roi_map")
    num_pts = read_array(group, f"{prefix}_num_pts", path, kind="int", ndim=(1, 2))
    v_lists, dim_names, dim_units = [], list(names), list(units)
    for dim in (0, 1):
        key = f"{prefix}_v_list_dim{dim}"
        values = read_array(group, key, path, kind="number", ndim=(1, 2), allow_empty=True)
        v_lists.append(values.astype(np.float64).reshape(-1))
        ds = group[key]
        dim_names[dim] = attr_str(ds, "name", dim_names[dim]) or dim_names[dim]
        dim_units[dim] = attr_str(ds, "unit", dim_units[dim]) or dim_units[dim]
    mapping = read_array(group, f"{prefix}_index_mapping", path, kind="int", ndim=(1, 2), allow_empty=True)
    if num_pts.size != 2:
        raise XpcsFormatError(
            path, f"expected two counts, found {num_pts.size}", key_of(group, f"{prefix}_num_pts")
        )
    try:
        return stored_binning(roi, tuple(num_pts.reshape(-1)), v_lists, mapping, tuple(dim_names),
                              tuple(dim_units), where=prefix)
    except _FieldError as exc:
        raise XpcsFormatError(path, exc.reason, roi_key) from exc


def read_qmap_group(group: h5py.Group, path_for_errors: object) -> QmapGroup:
    """Read and validate a q-map group; any problem raises XpcsFormatError naming the key."""
    path = path_for_errors
    scalars = {
        name: read_scalar(group, name, path, positive=name in ("pixel_size", "detector_distance", "energy"))
        for name in ("beam_center_x", "beam_center_y", "pixel_size", "detector_distance", "energy")
    }
    mask = read_array(group, "mask", path, kind="number", ndim=2)
    blemish = read_array(group, "blemish", path, kind="number", ndim=2, required=False)
    map_names = read_strings(group, "map_names", path) or ["q", "phi"]
    map_units = read_strings(group, "map_units", path) or ["1/A", "degree"]
    if len(map_names) != 2 or len(map_units) != 2:
        raise XpcsFormatError(
            path, f"expected two names and units, found {map_names} / {map_units}", key_of(group, "map_names")
        )
    names, units = tuple(map_names), tuple(map_units)
    parts = {p: _read_partition(group, p, path, names, units) for p in PREFIXES}
    maps: dict[str, np.ndarray] = {}
    maps_group = group.get("maps")
    if isinstance(maps_group, h5py.Group):
        for name in maps_group:
            if get_dataset(maps_group, name, path) is not None:
                maps[name] = read_array(maps_group, name, path, kind="number", ndim=2)
    qmap = QmapGroup(
        **scalars,
        mask=mask != 0,
        blemish=None if blemish is None else blemish != 0,
        map_names=names,
        map_units=units,
        maps=maps,
        hash=attr_str(group, "hash", ""),
        version=attr_str(group, "version", "") or "",
        **parts,
    )
    if not qmap.hash:
        qmap.hash = qmap.compute_hash()
    try:
        qmap.validate()
    except _FieldError as exc:
        key = key_of(group, exc.field) if exc.field else group.name
        raise XpcsFormatError(path, exc.reason, key) from exc
    return qmap
