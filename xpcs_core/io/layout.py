"""Layout detection and the HDF5 keys of the NeXus and legacy layouts (docs/file-format.md).

The readers (:mod:`xpcs_core.io.nexus`, :mod:`xpcs_core.io.legacy`) look items up by the
logical names of :data:`NEXUS_KEYS` / :data:`LEGACY_KEYS`; a name a layout lacks is absent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import h5py
import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsInputError
from xpcs_core.io._h5util import check_kind, get_dataset, read_array, read_scalar, read_string, read_time

NEXUS = "nexus"
LEGACY = "legacy"
MULTITAU = "multitau"
TWOTIME = "twotime"

#: logical name -> HDF5 path (a tuple lists accepted alternatives, first found wins)
NEXUS_KEYS: dict[str, str | tuple[str, ...]] = {
    "g2": "/xpcs/multitau/normalized_g2",
    "g2_err": "/xpcs/multitau/normalized_g2_err",
    "delay_list": "/xpcs/multitau/delay_list",
    "multitau_config": "/xpcs/multitau/config",
    "stride_frame": "/xpcs/multitau/config/stride_frame",
    "avg_frame": "/xpcs/multitau/config/avg_frame",
    "g2_segments": ("/xpcs/multitau/normalized_g2_partial", "/xpcs/multitau/normalized_g2_segments"),
    "unnormalized": ("/xpcs/multitau/unnormalized_G2", "/xpcs/multitau/unnormalized_g2"),
    "saxs_2d": "/xpcs/temporal_mean/scattering_2d",
    "saxs_1d": "/xpcs/temporal_mean/scattering_1d",
    "saxs_1d_segments": "/xpcs/temporal_mean/scattering_1d_segments",
    "intensity_vs_time": "/xpcs/spatial_mean/intensity_vs_time",
    "c2_group": "/xpcs/twotime/correlation_map",
    "c2_bins": "/xpcs/twotime/processed_bins",
    "c2_g2": "/xpcs/twotime/normalized_g2",
    "c2_g2_segments": "/xpcs/twotime/normalized_g2_segments",
    "c2_delay_list": "/xpcs/twotime/delay_list",
    "twotime_config": "/xpcs/twotime/config",
    "c2_stride_frame": "/xpcs/twotime/config/stride_frame",
    "c2_avg_frame": "/xpcs/twotime/config/avg_frame",
    "rawdata_path": "/xpcs/rawdata_path",
    "frame_time": "/entry/instrument/detector_1/frame_time",
    "count_time": "/entry/instrument/detector_1/count_time",
    "energy": "/entry/instrument/incident_beam/incident_energy",
    "pixel_size_x": "/entry/instrument/detector_1/x_pixel_size",
    "pixel_size_y": "/entry/instrument/detector_1/y_pixel_size",
    "distance": "/entry/instrument/detector_1/distance",
    "start_time": "/entry/start_time",
    "qmap": "/xpcs/qmap",
    "metadata": "/entry",
}

LEGACY_KEYS: dict[str, str | tuple[str, ...]] = {
    "g2": "/exchange/norm-0-g2",
    "g2_err": "/exchange/norm-0-stderr",
    "delay_list": "/exchange/tau",
    "stride_frame": "/xpcs/stride_frames",
    "avg_frame": "/xpcs/avg_frames",
    "unnormalized_G2": "/exchange/G2",
    "unnormalized_IP": "/exchange/IP",
    "unnormalized_IF": "/exchange/IF",
    "saxs_2d": "/exchange/pixelSum",
    "saxs_1d": "/exchange/partition-mean-total",
    "saxs_1d_segments": "/exchange/partition-mean-partial",
    "intensity_vs_time": "/exchange/frameSum",
    "c2_group": "/exchange/C2T_all",
    "c2_g2": "/exchange/g2full",
    "c2_g2_segments": "/exchange/g2partials",
    "c2_stride_frame": "/xpcs/stride_frames",
    "c2_avg_frame": "/xpcs/avg_frames",
    "analysis_type": "/xpcs/analysis_type",
    "version": "/xpcs/Version",
    "frame_time": "/measurement/instrument/detector/exposure_period",
    "count_time": "/measurement/instrument/detector/exposure_time",
    "energy": "/measurement/instrument/source_begin/energy",
    "pixel_size_x": "/measurement/instrument/detector/x_pixel_size",
    "pixel_size_y": "/measurement/instrument/detector/y_pixel_size",
    "distance": "/measurement/instrument/detector/distance",
    "x_dimension": "/measurement/instrument/detector/x_dimension",
    "y_dimension": "/measurement/instrument/detector/y_dimension",
    "beam_center_x": "/measurement/instrument/acquisition/beam_center_x",
    "beam_center_y": "/measurement/instrument/acquisition/beam_center_y",
    "metadata": "/measurement",
}


#: layout name -> its key table
LAYOUT_KEYS: dict[str, dict[str, str | tuple[str, ...]]] = {NEXUS: NEXUS_KEYS, LEGACY: LEGACY_KEYS}


def _exists(f: h5py.File, key: str, kind: type | None = None) -> bool:
    try:
        obj = f.get(key)
    except Exception:
        return False
    return obj is not None and (kind is None or isinstance(obj, kind))


def detect_layout(f: h5py.File, path: object) -> str:
    """``"nexus"`` or ``"legacy"`` (docs/file-format.md); XpcsFormatError for anything else."""
    if _exists(f, "/entry/instrument/bluesky/metadata", h5py.Group) or (
        _exists(f, "/xpcs/qmap", h5py.Group) and _exists(f, "/entry", h5py.Group)
    ):
        return NEXUS
    if _exists(f, "/xpcs/Version", h5py.Dataset):
        return LEGACY
    raise XpcsFormatError(
        path,
        "not an XPCS result file: found neither the NeXus layout (/xpcs/qmap with /entry) "
        "nor the legacy layout (/xpcs/Version)",
    )


def has_link(f: h5py.File, key: str) -> bool:
    """Whether a link named ``key`` exists (even a dangling one)."""
    try:
        return f.get(key, getlink=True) is not None
    except Exception:
        return False


def detect_analysis(f: h5py.File, layout: str) -> list[str]:
    """Analysis kinds present, in the order ("multitau", "twotime"). A dangling link counts
    as present, so that reading it reports the broken link."""
    keys = LAYOUT_KEYS[layout]
    found = []
    if has_link(f, keys["g2"]):  # type: ignore[arg-type]
        found.append(MULTITAU)
    if has_link(f, keys["c2_group"]):  # type: ignore[arg-type]
        found.append(TWOTIME)
    return found


class LayoutFile:
    """An open, read-only result file whose items are addressed by the logical names of
    its layout's key table (a name the layout lacks reads as absent). Owns the handle."""

    #: ``"nexus"`` or ``"legacy"``
    layout: ClassVar[str]
    #: logical name -> HDF5 path (a tuple lists accepted alternatives, first found wins)
    keys: ClassVar[Mapping[str, str | tuple[str, ...]]]

    def __init__(self, file: h5py.File, path: Path) -> None:
        self._file: h5py.File | None = file
        self.path = path

    @property
    def file(self) -> h5py.File:
        """The h5py handle; XpcsInputError once closed."""
        if self._file is None:
            raise XpcsInputError(f"{self.path}: the result file is closed")
        return self._file

    @property
    def closed(self) -> bool:
        return self._file is None

    def close(self) -> None:
        """Close the handle (idempotent)."""
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None

    def key(self, name: str) -> str | None:
        """The HDF5 path of logical item ``name`` (first alternative found), None when
        the layout has no such item."""
        entry = self.keys.get(name)
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

    def dataset(self, name: str) -> h5py.Dataset | None:
        """The dataset of item ``name`` (not read), None when absent."""
        key = self.key(name)
        return None if key is None else get_dataset(self.file, key, self.path)

    def array(self, name: str, **kwargs: Any) -> np.ndarray | None:
        """Item ``name`` read with the checks of ``_h5util.read_array`` (``kwargs``)."""
        key = self.key(name)
        return None if key is None else read_array(self.file, key, self.path, **kwargs)

    def float_array(self, name: str, **kwargs: Any) -> np.ndarray | None:
        """An optional float dataset as float64 (None when absent)."""
        arr = self.array(name, kind="float", required=False, **kwargs)
        return None if arr is None else arr.astype(np.float64)

    def scalar(self, name: str, **kwargs: Any) -> float | None:
        """Item ``name`` as one number, with the checks of ``_h5util.read_scalar``."""
        key = self.key(name)
        if key is None:
            return kwargs.get("default")
        return read_scalar(self.file, key, self.path, **kwargs)

    def time(self, name: str, **kwargs: Any) -> float | None:
        """Item ``name`` as a time in seconds (its ``units`` attribute converted)."""
        key = self.key(name)
        if key is None:
            return kwargs.get("default")
        return read_time(self.file, key, self.path, **kwargs)

    def string(self, name: str) -> str | None:
        """Item ``name`` as a string, None when the layout has no such item."""
        key = self.key(name)
        return None if key is None else read_string(self.file, key, self.path)

    def error(self, name: str, message: str) -> XpcsFormatError:
        """An XpcsFormatError about item ``name`` (its HDF5 path when known)."""
        return XpcsFormatError(self.path, message, self.key(name) or name)

    def int_setting(self, name: str) -> int:
        """A positive whole-number setting (1 when absent)."""
        value = self.scalar(name, required=False, default=1.0)
        if value is None or value < 1 or value != math.floor(value):
            raise self.error(name, f"expected a positive whole number, found {value}")
        return int(value)

    def check_shape(
        self, name: str, expected: tuple[int | None, ...], what: str, *, squeeze_first: bool = False
    ) -> h5py.Dataset | None:
        """Check a dataset's dtype kind and shape (None = any length) without reading it."""
        ds = self.dataset(name)
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
