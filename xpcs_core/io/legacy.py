"""``LegacyReader``: the legacy (``/exchange`` + ``/xpcs``) layout, its partitions and geometry.

Legacy label maps are not compressed: label k of ``dqmap`` is natural bin k-1 of a
``dnoq`` x ``dnophi`` grid, and ``dqlist`` / ``dphilist`` give the centre of each
label (NaN for an empty bin) or of each q / phi bin. They are returned as
:class:`~xpcs_core.partition.Binning` (:func:`~xpcs_core.io.qmap_group.stored_binning`) with ``index_mapping = 0..N-1`` plus
the per-label values.
"""

from __future__ import annotations

import logging
import math
import warnings
from functools import cached_property
from typing import Any

import h5py
import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsInputError
from xpcs_core.io._h5util import attr_str, get_dataset, read_array, read_scalar, read_string
from xpcs_core.io.layout import LEGACY, LEGACY_KEYS
from xpcs_core.io.qmap_group import QmapGroup, stored_binning
from xpcs_core.partition import Binning
from xpcs_core.io.reader import LayoutReader

__all__ = ["LegacyReader", "legacy_mask", "read_legacy_partition", "read_length_m"]

log = logging.getLogger(__name__)

#: unit attribute -> factor to metres
_LENGTH_UNITS = {
    "m": 1.0,
    "meter": 1.0,
    "metre": 1.0,
    "mm": 1e-3,
    "millimeter": 1e-3,
    "um": 1e-6,
    "micron": 1e-6,
    "µm": 1e-6,
    "cm": 1e-2,
}


def read_length_m(
    f: h5py.File, key: str, path: object, *, mm_above: float, required: bool = True
) -> float | None:
    """A length in metres. Uses the ``units``/``unit`` attribute when present; without
    one, a value above ``mm_above`` cannot be metres and is taken as mm (legacy files
    commonly store mm without a unit)."""
    value = read_scalar(f, key, path, positive=True, required=required)
    if value is None:
        return None
    ds = f[key]
    unit = attr_str(ds, "units") or attr_str(ds, "unit")
    if unit:
        factor = _LENGTH_UNITS.get(unit.strip().lower())
        if factor is None:
            raise XpcsFormatError(path, f"unknown length unit {unit!r}", key)
        return value * factor
    if value > mm_above:
        log.info("%s: %s: %g has no unit and is too large for metres; reading it as mm", path, key, value)
        return value * 1e-3
    return value


def _count(f: h5py.File, key: str, path: object) -> int | None:
    value = read_scalar(f, key, path, required=False)
    if value is None:
        return None
    if value < 1 or value != math.floor(value):
        raise XpcsFormatError(path, f"expected a positive whole number, found {value}", key)
    return int(value)


def _centres(values: np.ndarray, n0: int, n1: int, axis: int) -> np.ndarray:
    """Per-dim centres from a per-label list laid out as (n0, n1)."""
    grid = values.reshape(n0, n1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: empty bins
        return np.nanmean(grid, axis=axis)


def read_legacy_partition(
    f: h5py.File, prefix: str, path: object
) -> tuple[Binning, np.ndarray, np.ndarray | None]:
    """Partition ``prefix`` ("d" dynamic, "s" static) as (Binning, q per label,
    phi per label or None when there are no phi bins)."""
    map_key, q_key, phi_key = f"/xpcs/{prefix}qmap", f"/xpcs/{prefix}qlist", f"/xpcs/{prefix}philist"
    roi = read_array(f, map_key, path, kind="number", ndim=2)
    if roi.dtype.kind == "f":
        if not (np.all(np.isfinite(roi)) and np.all(roi == np.round(roi))):
            raise XpcsFormatError(path, "labels must be integers", map_key)
    roi = roi.astype(np.int64)
    qlist = read_array(f, q_key, path, kind="number", ndim=(1, 2)).astype(np.float64).reshape(-1)
    philist = read_array(f, phi_key, path, kind="number", ndim=(1, 2), required=False)
    philist = None if philist is None else philist.astype(np.float64).reshape(-1)
    noq = _count(f, f"/xpcs/{prefix}noq", path)
    nophi = _count(f, f"/xpcs/{prefix}nophi", path) or 1
    if noq is None:
        noq = qlist.size // nophi if qlist.size % nophi == 0 and qlist.size >= nophi else qlist.size
    n_labels = noq * nophi
    if qlist.size == n_labels:
        q_label = qlist
        q_centres = _centres(qlist, noq, nophi, axis=1)
    elif qlist.size == noq:
        q_centres = qlist
        q_label = np.repeat(qlist, nophi)
    else:
        raise XpcsFormatError(
            path,
            f"has {qlist.size} values; expected {noq} q bins or {n_labels} labels ({noq} x {nophi})",
            q_key,
        )
    if philist is None:
        phi_centres = np.zeros(nophi)
        phi_label = None
    elif philist.size == n_labels:
        phi_label = philist
        phi_centres = _centres(philist, noq, nophi, axis=0)
    elif philist.size == nophi:
        phi_centres = philist
        phi_label = np.tile(philist, noq)
    else:
        raise XpcsFormatError(
            path, f"has {philist.size} values; expected {nophi} phi bins or {n_labels} labels", phi_key
        )
    if np.isinf(q_label).any():
        raise XpcsFormatError(path, "infinite bin centre", q_key)
    if roi.size and (roi.min() < 0 or roi.max() > n_labels):
        raise XpcsFormatError(
            path,
            f"labels must lie in 0..{n_labels} (the bins of {q_key}), found {roi.min()}..{roi.max()}",
            map_key,
        )
    if phi_label is not None and nophi == 1:
        phi_label = None if np.all(np.isnan(phi_label) | (phi_label == phi_label[0])) else phi_label
    part = stored_binning(roi, (noq, nophi), [q_centres, phi_centres], np.arange(n_labels))
    return part, q_label, phi_label


def legacy_mask(f: h5py.File, path: object, shape: tuple[int, ...]) -> np.ndarray | None:
    """``/xpcs/mask`` as bool, or None when absent."""
    if get_dataset(f, "/xpcs/mask", path) is None:
        return None
    mask = read_array(f, "/xpcs/mask", path, kind="number", ndim=2)
    if mask.shape != shape:
        raise XpcsFormatError(path, f"shape {mask.shape} does not match the q-map {shape}", "/xpcs/mask")
    return mask != 0


class LegacyReader(LayoutReader):
    """Reader of the legacy layout: lengths may be in mm, the label maps are uncompressed
    and each label's q / phi is stored (see :func:`read_legacy_partition`)."""

    layout = LEGACY
    keys = LEGACY_KEYS
    multitau_link = "/exchange/tau"
    unnormalized_parts = ("unnormalized_G2", "unnormalized_IP", "unnormalized_IF")
    #: per-label (q, phi or None) of "dynamic" / "static", set by read_qmap
    _labels: dict[str, tuple[np.ndarray, np.ndarray | None]]

    @cached_property
    def energy(self) -> float:
        return self.scalar("energy", positive=True)  # type: ignore[return-value]

    @cached_property
    def detector_distance(self) -> float:
        return read_length_m(self.file, self.key("distance"), self.path, mm_above=100.0)  # type: ignore[arg-type,return-value]

    @cached_property
    def pixel_size(self) -> float:
        return read_length_m(self.file, self.key("pixel_size_x"), self.path, mm_above=0.01)  # type: ignore[arg-type,return-value]

    @cached_property
    def pixel_size_y(self) -> float | None:
        return read_length_m(self.file, self.key("pixel_size_y"), self.path, mm_above=0.01, required=False)  # type: ignore[arg-type]

    def read_qmap(self) -> QmapGroup:
        """The q-map group assembled from ``/xpcs`` (partitions, mask) and the metadata."""
        dyn, dq, dphi = read_legacy_partition(self.file, "d", self.path)
        sta, sq, sphi = read_legacy_partition(self.file, "s", self.path)
        self._labels = {"dynamic": (dq, dphi), "static": (sq, sphi)}
        shape = dyn.labels.shape
        if sta.labels.shape != shape:
            raise XpcsFormatError(
                self.path, f"shape {sta.labels.shape} does not match /xpcs/dqmap {shape}", "/xpcs/sqmap"
            )
        for name, axis in (("x_dimension", 1), ("y_dimension", 0)):
            value = self.scalar(name, required=False)
            if value is not None and int(value) != shape[axis]:
                raise self.error(name, f"{int(value)} does not match the q-map shape {shape}")
        mask = legacy_mask(self.file, self.path, shape)
        qmap = QmapGroup(
            beam_center_x=self.scalar("beam_center_x"),  # type: ignore[arg-type]
            beam_center_y=self.scalar("beam_center_y"),  # type: ignore[arg-type]
            pixel_size=self.pixel_size,
            detector_distance=self.detector_distance,
            energy=self.energy,
            mask=mask if mask is not None else dyn.labels > 0,
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

    def label_values(self, qmap: QmapGroup, which: str) -> tuple[np.ndarray, np.ndarray | None]:
        """The stored per-label q / phi (``dqlist`` ...), not the bin centres."""
        return self._labels[which]

    def multitau_config(self) -> dict[str, Any]:
        """The legacy settings: stride, average and ``/xpcs/analysis_type``."""
        config: dict[str, Any] = {
            "stride_frame": self.int_setting("stride_frame"),
            "avg_frame": self.int_setting("avg_frame"),
        }
        key = self.key("analysis_type")
        if key is not None and get_dataset(self.file, key, self.path) is not None:
            config["analysis_type"] = read_string(self.file, key, self.path)
        return config

    def unnormalized_shape(self, n_tau: int | None, h: int, w: int) -> tuple[int | None, ...]:
        return (n_tau, h, w)

    def read_unnormalized(self, tau_index: int | slice) -> np.ndarray:
        return np.stack([self.read_part(n, tau_index) for n in self.unnormalized_parts], axis=-3)
