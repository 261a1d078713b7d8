"""The ``/xpcs/qmap`` group of result files (also the ``/qmap`` group of q-map files).

``PartitionData`` holds one partition (dynamic or static): a label map, the bin
centres per dimension and the mapping of compressed labels to natural indices.
``QmapGroup`` holds both partitions with the mask and geometry. ``write_qmap_group``
and ``read_qmap_group`` move them to and from any HDF5 group, with validation.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field

import h5py
import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsFormatWarning, XpcsInputError
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
    "PartitionData",
    "QmapGroup",
    "read_qmap_group",
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


@dataclass
class PartitionData:
    """One partition of the detector (``dynamic`` or ``static``).

    Attributes:
        roi_map: (H, W) integer labels, 0 = pixel not used, 1..K = bin label.
        num_pts: (n_dim0, n_dim1), e.g. numbers of q and phi bins (n_dim1 = 1 for q only).
        v_list: [centres of dim0 (n_dim0,), centres of dim1 (n_dim1,)].
        index_mapping: (K,) 0-based natural index ``i0 * n_dim1 + i1`` of label k at [k-1].
        names: names of the two dimensions, e.g. ("q", "phi").
        units: units of the two dimensions, e.g. ("1/A", "degree").
    """

    roi_map: np.ndarray
    num_pts: tuple[int, int]
    v_list: list[np.ndarray]
    index_mapping: np.ndarray
    names: tuple[str, str] = ("q", "phi")
    units: tuple[str, str] = ("1/A", "degree")

    def __post_init__(self) -> None:
        self.roi_map = np.asarray(self.roi_map)
        self.num_pts = tuple(int(n) for n in np.asarray(self.num_pts).reshape(-1))  # type: ignore[assignment]
        self.v_list = [np.asarray(v, dtype=np.float64).reshape(-1) for v in self.v_list]
        self.index_mapping = np.asarray(self.index_mapping).reshape(-1).astype(np.int64)
        self.names = tuple(str(n) for n in self.names)  # type: ignore[assignment]
        self.units = tuple(str(u) for u in self.units)  # type: ignore[assignment]

    @property
    def n_bins(self) -> int:
        """Number of labels K (bins with a label, 1..K)."""
        return int(self.index_mapping.size)

    @property
    def shape(self) -> tuple[int, int]:
        """Detector shape (H, W) of the label map."""
        return tuple(self.roi_map.shape)  # type: ignore[return-value]

    def natural_indices(self) -> tuple[np.ndarray, np.ndarray]:
        """(i0, i1) per label 1..K: the bin's index along dim0 and dim1."""
        return np.divmod(self.index_mapping, self.num_pts[1])

    def centres_of_labels(self) -> np.ndarray:
        """(K, 2) array: row k-1 holds (dim0 centre, dim1 centre) of label k, e.g. (q, phi)."""
        i0, i1 = self.natural_indices()
        return np.stack([self.v_list[0][i0], self.v_list[1][i1]], axis=1)

    def counts(self) -> np.ndarray:
        """(K,) number of pixels of each label 1..K."""
        labels = self.roi_map.reshape(-1).astype(np.int64, copy=False)
        return np.bincount(labels[labels > 0], minlength=self.n_bins + 1)[1 : self.n_bins + 1]

    def labels_present(self) -> np.ndarray:
        """Sorted labels that occur in the map (non-empty bins)."""
        labels = self.roi_map.reshape(-1).astype(np.int64, copy=False)
        return np.flatnonzero(np.bincount(labels[labels > 0], minlength=1))

    def validate(self, where: str = "partition") -> None:
        """Raise XpcsInputError (naming ``where``) if the partition is inconsistent."""
        roi = _as_labels(self.roi_map, f"{where}_roi_map")
        if roi.ndim != 2:
            raise _FieldError(f"{where}_roi_map", f"expected a 2-D map, found shape {roi.shape}")
        if len(self.num_pts) != 2 or min(self.num_pts) < 1:
            raise _FieldError(f"{where}_num_pts", f"expected two positive counts, found {self.num_pts}")
        if len(self.v_list) != 2:
            raise _FieldError(f"{where}_v_list", "expected two lists of bin centres")
        for dim, (values, n) in enumerate(zip(self.v_list, self.num_pts, strict=True)):
            if values.size != n:
                raise _FieldError(
                    f"{where}_v_list_dim{dim}", f"has {values.size} centres but num_pts says {n}"
                )
            if np.isinf(values).any():
                raise _FieldError(f"{where}_v_list_dim{dim}", "infinite bin centre")
        n_natural = self.num_pts[0] * self.num_pts[1]
        im = self.index_mapping
        if im.size and (im.min() < 0 or im.max() >= n_natural):
            raise _FieldError(
                f"{where}_index_mapping",
                f"values must lie in 0..{n_natural - 1}, found {im.min()}..{im.max()}",
            )
        if np.unique(im).size != im.size:
            raise _FieldError(f"{where}_index_mapping", "repeated natural index")
        if roi.size and roi.min() < 0:
            raise _FieldError(f"{where}_roi_map", f"negative label {roi.min()}")
        if roi.size and roi.max() > self.n_bins:
            raise _FieldError(
                f"{where}_roi_map",
                f"label {roi.max()} beyond the {self.n_bins} bins of {where}_index_mapping",
            )


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
    dynamic: PartitionData
    static: PartitionData
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
            digest.update(np.ascontiguousarray(part.roi_map, dtype="<i4").tobytes())
            digest.update(np.asarray(part.num_pts, dtype="<i8").tobytes())
            for values in part.v_list:
                digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
            digest.update(np.ascontiguousarray(part.index_mapping, dtype="<i8").tobytes())
            digest.update("|".join(part.names + part.units).encode())
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
        s = _as_labels(self.static.roi_map, "static_roi_map").reshape(-1)
        d = _as_labels(self.dynamic.roi_map, "dynamic_roi_map").reshape(-1)
        used = s > 0
        width = self.dynamic.n_bins + 1
        pairs, counts = np.unique(s[used] * width + d[used], return_counts=True)
        s_of, d_of = np.divmod(pairs, width)
        order = np.lexsort((-counts, s_of))  # per static label, its largest share first
        s_of, d_of = s_of[order], d_of[order]
        labels, first, n_dyn = np.unique(s_of, return_index=True, return_counts=True)
        out = np.zeros(self.static.n_bins, dtype=np.int64)
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
            part: PartitionData = getattr(self, prefix)
            part.validate(prefix)
            if part.shape != self.shape:
                raise _FieldError(
                    f"{prefix}_roi_map", f"shape {part.shape} does not match the mask {self.shape}"
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
                          f"bin ({bad.size} of {self.static.n_bins}); g2 can be viewed and fitted, "
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
        part: PartitionData = getattr(qmap, prefix)
        write_array(
            group, f"{prefix}_roi_map", _as_labels(part.roi_map, prefix).astype(np.int32), compress=True
        )
        write_array(group, f"{prefix}_num_pts", np.asarray(part.num_pts, dtype=np.int64))
        for dim, values in enumerate(part.v_list):
            ds = write_array(group, f"{prefix}_v_list_dim{dim}", values, keep_float64=True)
            ds.attrs["unit"] = np.bytes_(part.units[dim].encode())
            ds.attrs["name"] = np.bytes_(part.names[dim].encode())
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
) -> PartitionData:
    roi = read_array(group, f"{prefix}_roi_map", path, kind="number", ndim=2)
    roi_key = key_of(group, f"{prefix}_roi_map")
    try:
        roi = _as_labels(roi, roi_key)
    except XpcsInputError as exc:
        raise XpcsFormatError(path, "labels must be integers", roi_key) from exc
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
    return PartitionData(
        roi_map=roi,
        num_pts=tuple(num_pts.reshape(-1)),
        v_list=v_lists,
        index_mapping=mapping,
        names=tuple(dim_names),
        units=tuple(dim_units),
    )


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
