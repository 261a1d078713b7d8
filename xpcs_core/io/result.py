"""``open_result`` / ``XpcsResult``: read APS 8-ID-I result files (NeXus or legacy layout).

The file is opened read-only and kept open on one handle until :meth:`XpcsResult.close`
(or the end of a ``with`` block). Small arrays are checked when the file is opened;
large ones (SAXS 2D, C2 maps, unnormalized G2) are read only when asked for.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from functools import cached_property
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsFormatWarning, XpcsInputError
from xpcs_core.geometry import Geometry
from xpcs_core.io._h5util import (
    attr_str,
    check_kind,
    get_dataset,
    open_h5_readonly,
    read_array,
    read_dataset,
    read_scalar,
    read_string,
    read_strings,
    to_str,
)
from xpcs_core.io.data import Meta, MultitauData, ResultData, TwotimeData
from xpcs_core.io.layout import (
    LEGACY,
    LEGACY_KEYS,
    MULTITAU,
    NEXUS,
    NEXUS_KEYS,
    TWOTIME,
    detect_analysis,
    detect_layout,
    has_link,
)
from xpcs_core.io.legacy import legacy_mask, read_legacy_partition, read_length_m
from xpcs_core.io.qmap_group import QmapGroup, read_qmap_group

__all__ = ["XpcsResult", "open_result"]

#: metadata datasets larger than this are left out of the metadata tree
_META_MAX_SIZE = 256
_C2_NAME = re.compile(r"^(?:c2|g2)_(\d+)$")


def open_result(path: str | os.PathLike[str], *, validate: bool = True) -> XpcsResult:
    """Open a result file of either layout read-only.

    With ``validate`` (the default) the layout, metadata, q-map and the shapes and
    values of the small arrays are checked now, so a bad file fails here with an
    :class:`XpcsFormatError` naming the file and the key. Use as a context manager::

        with open_result("A001_results.hdf") as r:
            r.g2, r.tau, r.dynamic_q
    """
    return XpcsResult(path, validate=validate)


class XpcsResult:
    """One XPCS result file. Arrays are NumPy; time in s, q in 1/Å, phi in degrees.

    Attributes:
        path: the file.
        layout: ``"nexus"`` or ``"legacy"``.
        analysis: analysis kinds present, a list of ``"multitau"`` / ``"twotime"``.
    """

    def __init__(self, path: str | os.PathLike[str], *, validate: bool = True) -> None:
        self.path = Path(path)
        self._file: h5py.File | None = open_h5_readonly(self.path)
        try:
            self.layout: str = detect_layout(self._file, self.path)
            self._keys = NEXUS_KEYS if self.layout == NEXUS else LEGACY_KEYS
            self.analysis: list[str] = detect_analysis(self._file, self.layout)
            if validate:
                self.validate()
        except BaseException:
            self.close()
            raise

    # ----------------------------------------------------------------- plumbing
    def close(self) -> None:
        """Close the file handle (idempotent). Arrays already read stay usable."""
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None

    @property
    def closed(self) -> bool:
        return self._file is None

    def __enter__(self) -> XpcsResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<XpcsResult {self.path} layout={self.layout} analysis={self.analysis} ({state})>"

    @property
    def file(self) -> h5py.File:
        """The read-only h5py handle (for keys this class does not cover)."""
        if self._file is None:
            raise XpcsInputError(f"{self.path}: the result file is closed")
        return self._file

    def key(self, name: str) -> str | None:
        """The HDF5 path of logical item ``name`` in this file (first alternative found)."""
        entry = self._keys.get(name)
        if entry is None:
            return None
        options = (entry,) if isinstance(entry, str) else entry
        for option in options:
            try:
                if self.file.get(option, getlink=True) is not None:
                    return option
            except Exception:
                continue
        return options[0]

    def _dataset(self, name: str) -> h5py.Dataset | None:
        key = self.key(name)
        return None if key is None else get_dataset(self.file, key, self.path)

    def _array(self, name: str, **kwargs: Any) -> np.ndarray | None:
        key = self.key(name)
        if key is None:
            return None
        return read_array(self.file, key, self.path, **kwargs)

    def _scalar(self, name: str, **kwargs: Any) -> float | None:
        key = self.key(name)
        if key is None:
            return kwargs.get("default")
        return read_scalar(self.file, key, self.path, **kwargs)

    def _error(self, name: str, message: str) -> XpcsFormatError:
        return XpcsFormatError(self.path, message, self.key(name) or name)

    def _check_shape(
        self, name: str, expected: tuple[int | None, ...], what: str, *, squeeze_first: bool = False
    ) -> h5py.Dataset | None:
        """Check a dataset's dtype kind and shape (None = any length) without reading it."""
        ds = self._dataset(name)
        if ds is None:
            return None
        check_kind(ds, "number", self.path, ds.name)
        shape = ds.shape
        if squeeze_first and len(shape) == len(expected) + 1 and shape[0] == 1:
            shape = shape[1:]
        ok = len(shape) == len(expected) and all(
            e is None or e == s for e, s in zip(expected, shape, strict=False)
        )
        if not ok:
            want = "(" + ", ".join("n" if e is None else str(e) for e in expected) + ")"
            raise XpcsFormatError(self.path, f"shape {ds.shape} does not match {what} {want}", ds.name)
        if ds.size == 0:
            raise XpcsFormatError(self.path, f"dataset is empty (shape {ds.shape})", ds.name)
        return ds

    # ---------------------------------------------------------------- validation
    def validate(self) -> None:
        """Check everything that can be checked without reading the large arrays."""
        has_mt_group = has_link(self.file, "/xpcs/multitau" if self.layout == NEXUS else "/exchange/tau")
        if not self.analysis or (has_mt_group and MULTITAU not in self.analysis):
            raise self._error(
                "g2",
                "required dataset is missing (no multi-tau g2"
                + ("" if has_mt_group else " and no two-time correlation maps")
                + ")",
            )
        _ = (
            self.frame_time,
            self.count_time,
            self.energy,
            self.detector_distance,
            self.pixel_size,
            self.beam_center_x,
            self.beam_center_y,
        )
        qmap = self.qmap
        shape = qmap.shape
        if MULTITAU in self.analysis:
            self._validate_multitau()
        self._check_shape("saxs_2d", shape, "the q-map (H, W)", squeeze_first=True)
        n_static = qmap.static.n_bins
        self._check_shape("saxs_1d", (n_static,), "the static bins", squeeze_first=True)
        self._check_shape("saxs_1d_segments", (None, n_static), "(segments, static bins)")
        self._check_shape("intensity_vs_time", (2, None), "(2, n_frames)")
        if TWOTIME in self.analysis:
            self._validate_twotime()
        self.unnormalized_status  # noqa: B018  (checks shape, warns on a dangling link)

    def _validate_multitau(self) -> None:
        delays = self.delay_list
        n_tau, n_dyn = delays.size, self.qmap.dynamic.n_bins
        g2, g2_err = self.g2, self.g2_err
        for name, arr in (("g2", g2), ("g2_err", g2_err)):
            if arr.shape != (n_tau, n_dyn):
                raise self._error(
                    name,
                    f"shape {arr.shape} does not match (n_tau, n_dyn) = "
                    f"({n_tau}, {n_dyn}) from the delay list and the dynamic bins",
                )
        if np.isinf(g2).any():
            raise self._error("g2", "contains infinite values")
        if np.isnan(g2).all():
            raise self._error("g2", "all values are NaN")
        if np.isinf(g2_err).any():
            raise self._error("g2_err", "contains infinite values")
        if (g2_err < 0).any():
            raise self._error("g2_err", f"negative errors (min {np.nanmin(g2_err):g})")
        if (g2_err == 0).any():
            warnings.warn(
                f"{self.path}: {self.key('g2_err')}: {(g2_err == 0).sum()} zero errors",
                XpcsFormatWarning,
                stacklevel=3,
            )
        _ = (self.stride_frame, self.avg_frame)
        seg = self._check_shape("g2_segments", (None, n_tau, n_dyn), "(segments, n_tau, n_dyn)")
        if seg is not None:
            err_key = seg.name + "_err"
            if get_dataset(self.file, err_key, self.path) is not None:
                err = self.file[err_key]
                check_kind(err, "number", self.path, err_key)
                if err.shape != seg.shape:
                    raise XpcsFormatError(self.path, f"shape {err.shape} does not match {seg.shape}", err_key)

    def _validate_twotime(self) -> None:
        names = self._c2_names
        if not names:
            raise self._error("c2_group", "holds no correlation maps")
        sizes = {self._c2_dataset(i).shape[0] for i in range(len(names))}
        if len(sizes) > 1:
            raise self._error("c2_group", f"maps of different sizes {sorted(sizes)}")
        bins = self.twotime_bins
        if len(bins) != len(names):
            raise self._error("c2_bins", f"{len(bins)} bins for {len(names)} correlation maps")
        n_dyn = self.qmap.dynamic.n_bins
        if bins.size and (bins.min() < 1 or bins.max() > n_dyn):
            raise self._error("c2_bins", f"labels must lie in 1..{n_dyn}, found {bins.min()}..{bins.max()}")
        (n,) = sizes
        self._check_shape("c2_g2", (n, len(names)), "(n_frames, n_bins)")
        _ = self.twotime_stride_frame, self.twotime_avg_frame

    # ------------------------------------------------------------------ metadata
    @cached_property
    def frame_time(self) -> float:
        """Frame period in seconds (required)."""
        return self._scalar("frame_time", positive=True)  # type: ignore[return-value]

    @cached_property
    def count_time(self) -> float | None:
        """Exposure per frame in seconds, if recorded."""
        value = self._scalar("count_time", required=False)
        if value is not None and value < 0:
            raise self._error("count_time", f"negative exposure time {value}")
        return value

    @cached_property
    def energy(self) -> float:
        """X-ray energy in keV."""
        if self.layout == NEXUS:
            value = self._scalar("energy", required=False, positive=True)
            return value if value is not None else self.qmap.energy
        return self._scalar("energy", positive=True)  # type: ignore[return-value]

    @cached_property
    def detector_distance(self) -> float:
        """Sample-detector distance in metres."""
        if self.layout == NEXUS:
            value = self._scalar("distance", required=False, positive=True)
            return value if value is not None else self.qmap.detector_distance
        return read_length_m(self.file, self.key("distance"), self.path, mm_above=100.0)  # type: ignore[arg-type,return-value]

    @cached_property
    def pixel_size(self) -> float:
        """Pixel size (x) in metres."""
        if self.layout == NEXUS:
            value = self._scalar("pixel_size_x", required=False, positive=True)
            return value if value is not None else self.qmap.pixel_size
        return read_length_m(self.file, self.key("pixel_size_x"), self.path, mm_above=0.01)  # type: ignore[arg-type,return-value]

    @cached_property
    def pixel_size_y(self) -> float:
        """Pixel size (y) in metres (the x size when not recorded)."""
        if self.layout == NEXUS:
            value = self._scalar("pixel_size_y", required=False, positive=True)
        else:
            value = read_length_m(
                self.file,
                self.key("pixel_size_y"),
                self.path,  # type: ignore[arg-type]
                mm_above=0.01,
                required=False,
            )
        return value if value is not None else self.pixel_size

    @cached_property
    def beam_center_x(self) -> float:
        """Beam centre column (pixels)."""
        return self.qmap.beam_center_x

    @cached_property
    def beam_center_y(self) -> float:
        """Beam centre row (pixels)."""
        return self.qmap.beam_center_y

    @property
    def detector_shape(self) -> tuple[int, int]:
        """(H, W) of the detector, from the q-map."""
        return self.qmap.shape

    @cached_property
    def start_time(self) -> str | None:
        key = self.key("start_time")
        return None if key is None else read_string(self.file, key, self.path)

    @cached_property
    def rawdata_path(self) -> str | None:
        key = self.key("rawdata_path")
        return None if key is None else read_string(self.file, key, self.path)

    @cached_property
    def n_frames(self) -> int | None:
        """Number of frames, from intensity vs time (else the two-time map size)."""
        ds = self._dataset("intensity_vs_time")
        if ds is not None and ds.ndim == 2:
            return int(ds.shape[1])
        if TWOTIME in self.analysis and self._c2_names:
            return int(self._c2_dataset(0).shape[0])
        return None

    @cached_property
    def geometry(self) -> Geometry:
        """The detector geometry: metadata + the q-map group's stored geometry (kind,
        incidence, orientation, swing) when this project wrote it; else transmission."""
        from xpcs_core.io.qmap_file import result_geometry

        return result_geometry(self)

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """Nested dict of the metadata tree (``/entry`` or ``/measurement``); leaves are
        :class:`Meta` (value, unit). Datasets over 256 elements are left out."""
        root = self.file.get(self.key("metadata"))  # type: ignore[arg-type]
        if not isinstance(root, h5py.Group):
            return {}
        return _meta_tree(root, 0)

    # ------------------------------------------------------------------- q-map
    @cached_property
    def qmap(self) -> QmapGroup:
        """The q-map group: geometry, mask, dynamic and static partitions."""
        if self.layout == NEXUS:
            group = self.file.get(self.key("qmap"))  # type: ignore[arg-type]
            if not isinstance(group, h5py.Group):
                raise self._error("qmap", "q-map group is missing")
            return read_qmap_group(group, self.path)
        return self._legacy_qmap()

    def _legacy_qmap(self) -> QmapGroup:
        dyn, dq, dphi = read_legacy_partition(self.file, "d", self.path)
        sta, sq, sphi = read_legacy_partition(self.file, "s", self.path)
        self._legacy_labels = {"dynamic": (dq, dphi), "static": (sq, sphi)}
        shape = dyn.shape
        if sta.shape != shape:
            raise XpcsFormatError(
                self.path, f"shape {sta.shape} does not match /xpcs/dqmap {shape}", "/xpcs/sqmap"
            )
        for name, axis in (("x_dimension", 1), ("y_dimension", 0)):
            value = self._scalar(name, required=False)
            if value is not None and int(value) != shape[axis]:
                raise self._error(name, f"{int(value)} does not match the q-map shape {shape}")
        mask = legacy_mask(self.file, self.path, shape)
        qmap = QmapGroup(
            beam_center_x=self._scalar("beam_center_x"),  # type: ignore[arg-type]
            beam_center_y=self._scalar("beam_center_y"),  # type: ignore[arg-type]
            pixel_size=self.pixel_size,
            detector_distance=self.detector_distance,
            energy=self.energy,
            mask=mask if mask is not None else dyn.roi_map > 0,
            dynamic=dyn,
            static=sta,
        )
        try:
            qmap.validate()
        except XpcsInputError as exc:
            field = getattr(exc, "field", None) or "static"
            key = {"dynamic": "/xpcs/dqmap", "static": "/xpcs/sqmap", "mask": "/xpcs/mask"}.get(
                field.split("_")[0], self.key(field) or "/xpcs/sqmap"
            )
            raise XpcsFormatError(self.path, getattr(exc, "reason", str(exc)), key) from exc
        return qmap

    def _label_values(self, which: str) -> tuple[np.ndarray, np.ndarray | None]:
        part = getattr(self.qmap, which)
        if self.layout == LEGACY:
            return self._legacy_labels[which]
        centres = part.centres_of_labels()
        phi = centres[:, 1] if part.num_pts[1] > 1 else None
        return centres[:, 0], phi

    @property
    def dynamic_q(self) -> np.ndarray:
        """(n_dyn,) dim-0 value (q) of each dynamic label: g2 column j is label j+1."""
        return self._label_values("dynamic")[0]

    @property
    def dynamic_phi(self) -> np.ndarray | None:
        """(n_dyn,) dim-1 value (phi) of each dynamic label; None without phi bins."""
        return self._label_values("dynamic")[1]

    @property
    def static_q(self) -> np.ndarray:
        """(n_static,) dim-0 value (q) of each static label (the x axis of ``saxs_1d``)."""
        return self._label_values("static")[0]

    @property
    def static_phi(self) -> np.ndarray | None:
        """(n_static,) dim-1 value (phi) of each static label; None without phi bins."""
        return self._label_values("static")[1]

    # ----------------------------------------------------------------- multitau
    def _require(self, kind: str) -> None:
        if kind not in self.analysis:
            raise XpcsInputError(f"{self.path}: the file holds no {kind} results")

    def _int_setting(self, name: str) -> int:
        value = self._scalar(name, required=False, default=1.0)
        if value is None or value < 1 or value != math.floor(value):
            raise self._error(name, f"expected a positive whole number, found {value}")
        return int(value)

    @cached_property
    def stride_frame(self) -> int:
        return self._int_setting("stride_frame")

    @cached_property
    def avg_frame(self) -> int:
        return self._int_setting("avg_frame")

    @cached_property
    def delay_list(self) -> np.ndarray:
        """(n_tau,) multi-tau lags in frames."""
        self._require(MULTITAU)
        delays = self._array("delay_list", kind="number", ndim=(1, 2)).astype(np.float64)
        if delays.ndim == 2 and 1 not in delays.shape:
            raise self._error("delay_list", f"expected a list of delays, found shape {delays.shape}")
        delays = delays.reshape(-1)
        if not np.isfinite(delays).all():
            raise self._error("delay_list", "contains NaN or infinite delays")
        if (delays <= 0).any():
            raise self._error("delay_list", f"delays must be positive (min {delays.min():g})")
        if delays.size > 1 and (np.diff(delays) <= 0).any():
            raise self._error("delay_list", "delays must increase")
        return delays

    @property
    def tau(self) -> np.ndarray:
        """(n_tau,) delays in seconds: delay_list x frame_time x stride x avg."""
        return self.delay_list * self.frame_time * self.stride_frame * self.avg_frame

    @cached_property
    def g2(self) -> np.ndarray:
        """(n_tau, n_dyn) normalized g2 (float64; NaN where a bin has no data)."""
        self._require(MULTITAU)
        return self._array("g2", kind="float", ndim=2).astype(np.float64)

    @cached_property
    def g2_err(self) -> np.ndarray:
        """(n_tau, n_dyn) g2 standard errors."""
        self._require(MULTITAU)
        return self._array("g2_err", kind="float", ndim=2).astype(np.float64)

    @cached_property
    def multitau_config(self) -> dict[str, Any]:
        """Scalars of ``/xpcs/multitau/config`` (NeXus) or the legacy settings."""
        if self.layout == NEXUS:
            group = self.file.get(self.key("multitau_config"))  # type: ignore[arg-type]
            return _plain_group(group) if isinstance(group, h5py.Group) else {}
        config: dict[str, Any] = {"stride_frame": self.stride_frame, "avg_frame": self.avg_frame}
        key = self.key("analysis_type")
        if key is not None and get_dataset(self.file, key, self.path) is not None:
            config["analysis_type"] = read_string(self.file, key, self.path)
        return config

    def _segments(self, suffix: str = "") -> np.ndarray | None:
        if self.layout != NEXUS or MULTITAU not in self.analysis:
            return None
        base = self.key("g2_segments")
        return read_array(self.file, base + suffix, self.path, kind="float", ndim=3, required=False)  # type: ignore[operator]

    @cached_property
    def g2_segments(self) -> np.ndarray | None:
        """(n_seg, n_tau, n_dyn) g2 per time segment, if present."""
        seg = self._segments()
        return None if seg is None else seg.astype(np.float64)

    @cached_property
    def g2_segments_err(self) -> np.ndarray | None:
        seg = self._segments("_err")
        return None if seg is None else seg.astype(np.float64)

    @cached_property
    def g2_segments_labels(self) -> list[str] | None:
        if self.layout != NEXUS or MULTITAU not in self.analysis:
            return None
        return read_strings(self.file, self.key("g2_segments") + "_labels", self.path)  # type: ignore[operator]

    # --------------------------------------------------------- unnormalized G2
    @cached_property
    def unnormalized_status(self) -> str:
        """``"absent"``, ``"present"`` or ``"dangling: <why>"`` (a broken external link:
        reported with a warning, not an error)."""
        names = (
            ("unnormalized",)
            if self.layout == NEXUS
            else ("unnormalized_G2", "unnormalized_IP", "unnormalized_IF")
        )
        found = 0
        for name in names:
            key = self.key(name)
            link = self.file.get(key, getlink=True)  # type: ignore[arg-type]
            if link is None:
                continue
            try:
                ds = self.file.get(key)  # type: ignore[arg-type]
            except Exception as exc:  # an unreadable target file
                ds, why = None, str(exc)
            else:
                why = "target not found"
            if ds is None:
                where = (
                    f"{link.filename}:{link.path}"
                    if isinstance(link, h5py.ExternalLink)
                    else getattr(link, "path", key)
                )
                message = f"dangling link to {where} ({why})"
                warnings.warn(f"{self.path}: {key}: {message}", XpcsFormatWarning, stacklevel=2)
                return f"dangling: {message}"
            if not isinstance(ds, h5py.Dataset):
                raise XpcsFormatError(self.path, "expected a dataset", key)
            check_kind(ds, "number", self.path, key)
            n_tau = self.delay_list.size if MULTITAU in self.analysis else None
            h, w = self.detector_shape
            expected = (n_tau, 3, h, w) if self.layout == NEXUS else (n_tau, h, w)
            if ds.ndim != len(expected) or any(
                e is not None and e != s for e, s in zip(expected, ds.shape, strict=False)
            ):
                raise XpcsFormatError(self.path, f"shape {ds.shape} does not match {expected}", key)
            found += 1
        if found and found != len(names):
            raise self._error(names[0], "G2, IP and IF must all be present")
        return "present" if found else "absent"

    def unnormalized(self, tau_index: int | slice = slice(None)) -> np.ndarray | None:
        """Unnormalized (n_tau, 3, H, W) G2, IP, IF for ``tau_index`` (read on request;
        None when absent or the link is dangling). An int index drops the first axis."""
        if self.unnormalized_status != "present":
            return None
        if self.layout == NEXUS:
            ds = self.file[self.key("unnormalized")]  # type: ignore[index]
            return read_dataset(ds, self.path, (tau_index,))
        parts = [
            read_dataset(self.file[self.key(n)], self.path, (tau_index,))  # type: ignore[index]
            for n in ("unnormalized_G2", "unnormalized_IP", "unnormalized_IF")
        ]
        return np.stack(parts, axis=-3)

    # ------------------------------------------------------------- SAXS, Int(t)
    @cached_property
    def saxs_2d(self) -> np.ndarray | None:
        """(H, W) time-averaged image, mean counts per frame (read on first access)."""
        arr = self._array("saxs_2d", kind="float", ndim=(2, 3), required=False)
        if arr is None:
            return None
        arr = arr[0] if arr.ndim == 3 else arr
        if arr.shape != self.detector_shape:
            raise self._error("saxs_2d", f"shape {arr.shape} does not match the q-map {self.detector_shape}")
        return arr

    @cached_property
    def saxs_1d(self) -> np.ndarray | None:
        """(n_static,) mean intensity of each static label (x axis: ``static_q``)."""
        arr = self._array("saxs_1d", kind="float", ndim=(1, 2), required=False)
        if arr is None:
            return None
        arr = arr.astype(np.float64)
        return arr[0] if arr.ndim == 2 and arr.shape[0] == 1 else arr.reshape(-1)

    @cached_property
    def saxs_1d_segments(self) -> np.ndarray | None:
        """(n_seg, n_static) SAXS 1D per time segment."""
        arr = self._array("saxs_1d_segments", kind="float", ndim=2, required=False)
        return None if arr is None else arr.astype(np.float64)

    @cached_property
    def intensity_vs_time(self) -> np.ndarray | None:
        """(2, n_frames): row 0 frame index, row 1 mean count."""
        arr = self._array("intensity_vs_time", kind="float", ndim=2, required=False)
        return None if arr is None else arr.astype(np.float64)

    # ------------------------------------------------------------------ twotime
    @property
    def _c2_group(self) -> h5py.Group:
        group = self.file.get(self.key("c2_group"))  # type: ignore[arg-type]
        if not isinstance(group, h5py.Group):
            raise self._error("c2_group", "expected a group of correlation maps")
        return group

    @cached_property
    def _c2_names(self) -> list[str]:
        self._require(TWOTIME)
        names = [n for n in self._c2_group if _C2_NAME.match(n)]
        return sorted(names, key=lambda n: int(_C2_NAME.match(n).group(1)))  # type: ignore[union-attr]

    @cached_property
    def twotime_bins(self) -> np.ndarray:
        """Dynamic labels (1-based) of the C2 maps, in map order."""
        self._require(TWOTIME)
        if self.layout == NEXUS and self._dataset("c2_bins") is not None:
            bins = self._array("c2_bins", kind="number", ndim=(1, 2), allow_empty=True)
            if bins.dtype.kind == "f" and not np.all(bins == np.round(bins)):
                raise self._error("c2_bins", "labels must be integers")
            return bins.astype(np.int64).reshape(-1)
        return np.array([int(_C2_NAME.match(n).group(1)) for n in self._c2_names], dtype=np.int64)  # type: ignore[union-attr]

    def _c2_dataset(self, index: int) -> h5py.Dataset:
        """The ``index``-th C2 map dataset, checked to be a square numeric 2-D array."""
        names = self._c2_names
        if not 0 <= index < len(names):
            raise self._error("c2_group", f"has {len(names)} correlation maps, no map number {index + 1}")
        ds = get_dataset(self._c2_group, names[index], self.path)
        if ds is None:
            raise self._error("c2_group", f"map {names[index]} is missing")
        check_kind(ds, "number", self.path, ds.name)
        if ds.ndim != 2 or ds.shape[0] != ds.shape[1] or ds.size == 0:
            raise XpcsFormatError(self.path, f"expected a square (n, n) map, found {ds.shape}", ds.name)
        return ds

    def c2(self, label: int, *, full: bool = True) -> np.ndarray:
        """C2 map of dynamic ``label``: the full symmetric matrix rebuilt from the stored
        upper triangle (``full=False``: as stored)."""
        bins = self.twotime_bins.tolist()
        if label not in bins:
            raise XpcsInputError(f"{self.path}: no two-time map for bin {label} (have {bins})")
        stored = read_dataset(self._c2_dataset(bins.index(label)), self.path)
        if not full:
            return stored
        return np.triu(stored) + np.triu(stored, 1).T

    @cached_property
    def twotime_stride_frame(self) -> int:
        return self._int_setting("c2_stride_frame")

    @cached_property
    def twotime_avg_frame(self) -> int:
        return self._int_setting("c2_avg_frame")

    @cached_property
    def twotime_g2(self) -> np.ndarray | None:
        """(n_frames, n_bins) g2 from the diagonals of the C2 maps, if stored."""
        self._require(TWOTIME)
        arr = self._array("c2_g2", kind="float", ndim=2, required=False)
        return None if arr is None else arr.astype(np.float64)

    @cached_property
    def twotime_g2_segments(self) -> np.ndarray | None:
        self._require(TWOTIME)
        arr = self._array("c2_g2_segments", kind="float", required=False)
        return None if arr is None else arr.astype(np.float64)

    @cached_property
    def twotime_delay_list(self) -> np.ndarray | None:
        self._require(TWOTIME)
        arr = self._array("c2_delay_list", kind="number", required=False)
        return None if arr is None else arr.reshape(-1)

    @property
    def twotime_tau(self) -> np.ndarray:
        """Delays of ``twotime_g2`` rows in seconds (0, dt, 2 dt, ...), dt = frame_time x stride x avg."""
        n = int(self._c2_dataset(0).shape[0])
        return np.arange(n) * self.frame_time * self.twotime_stride_frame * self.twotime_avg_frame

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict[str, Any]:
        """The facts ``xpcs info --json`` prints."""
        h, w = self.detector_shape
        dq = self.dynamic_q
        finite_q = dq[np.isfinite(dq)]
        if MULTITAU in self.analysis:
            tau = self.tau
            n_tau = int(tau.size)
        else:
            tau = self.twotime_tau[1:]
            n_tau = int(tau.size)
        return {
            "file": str(self.path),
            "layout": self.layout,
            "analysis": list(self.analysis),
            "detector_shape": [int(h), int(w)],
            "n_frames": self.n_frames,
            "frame_time_s": self.frame_time,
            "energy_kev": self.energy,
            "distance_m": self.detector_distance,
            "pixel_size_m": self.pixel_size,
            "beam_center_x": self.beam_center_x,
            "beam_center_y": self.beam_center_y,
            "n_dynamic_bins": int(self.qmap.dynamic.labels_present().size),
            "n_static_bins": int(self.qmap.static.labels_present().size),
            "q_range": [float(finite_q.min()), float(finite_q.max())] if finite_q.size else None,
            "tau_range_s": [float(tau.min()), float(tau.max())] if tau.size else None,
            "n_tau": n_tau,
            "twotime_bins": self.twotime_bins.tolist() if TWOTIME in self.analysis else [],
        }

    def to_data(self) -> ResultData:
        """Load everything into a :class:`ResultData` (e.g. to write it in the NeXus layout)."""
        multitau = twotime = None
        if MULTITAU in self.analysis:
            config = {k: v for k, v in self.multitau_config.items() if k not in ("stride_frame", "avg_frame")}
            multitau = MultitauData(
                g2=self.g2,
                g2_err=self.g2_err,
                delay_list=self.delay_list,
                stride_frame=self.stride_frame,
                avg_frame=self.avg_frame,
                config=config,
                g2_segments=self.g2_segments,
                g2_segments_err=self.g2_segments_err,
                g2_segments_labels=self.g2_segments_labels,
                unnormalized=self.unnormalized(),
            )
        if TWOTIME in self.analysis:
            bins = self.twotime_bins
            twotime = TwotimeData(
                processed_bins=bins,
                c2_maps=[self.c2(int(b), full=False) for b in bins],
                g2=self.twotime_g2,
                g2_segments=self.twotime_g2_segments,
                delay_list=self.twotime_delay_list,
                stride_frame=self.twotime_stride_frame,
                avg_frame=self.twotime_avg_frame,
            )
        return ResultData(
            qmap=self.qmap,
            frame_time=self.frame_time,
            count_time=self.count_time,
            energy=self.energy,
            detector_distance=self.detector_distance,
            pixel_size=(self.pixel_size, self.pixel_size_y),
            saxs_2d=self.saxs_2d,
            saxs_1d=self.saxs_1d,
            saxs_1d_segments=self.saxs_1d_segments,
            intensity_vs_time=self.intensity_vs_time,
            multitau=multitau,
            twotime=twotime,
            start_time=self.start_time,
            rawdata_path=self.rawdata_path,
        )


def _leaf(ds: h5py.Dataset) -> Meta | None:
    if ds.size > _META_MAX_SIZE or ds.dtype.kind not in "biufSOU":
        return None
    try:
        raw = ds[()]
    except Exception:
        return None
    unit = attr_str(ds, "units") or attr_str(ds, "unit")
    if ds.dtype.kind in "SOU":
        try:
            value: Any = (
                to_str(raw) if np.ndim(raw) == 0 or np.size(raw) == 1 else [to_str(v) for v in np.ravel(raw)]
            )
        except (TypeError, ValueError):
            return None
    else:
        value = raw.item() if np.ndim(raw) == 0 or np.size(raw) == 1 else np.asarray(raw)
        if isinstance(value, np.ndarray) is False and hasattr(value, "item"):
            value = value.item()
    return Meta(value, unit)


def _meta_tree(group: h5py.Group, depth: int) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    if depth > 16:
        return tree
    for name in group:
        try:
            obj = group.get(name)
        except Exception:
            continue
        if isinstance(obj, h5py.Group):
            tree[name] = _meta_tree(obj, depth + 1)
        elif isinstance(obj, h5py.Dataset):
            leaf = _leaf(obj)
            if leaf is not None:
                tree[name] = leaf
    return tree


def _plain_group(group: h5py.Group) -> dict[str, Any]:
    """Scalar datasets of a config group as plain Python values."""
    out: dict[str, Any] = {}
    for name in group:
        obj = group.get(name)
        if isinstance(obj, h5py.Dataset):
            leaf = _leaf(obj)
            if leaf is not None:
                out[name] = leaf.value
    return out
