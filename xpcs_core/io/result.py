"""``open_result`` / ``XpcsResult``: read APS 8-ID-I result files (NeXus or legacy layout).

The file is opened read-only and kept open on one handle until :meth:`XpcsResult.close`
(or the end of a ``with`` block). Small arrays are checked when the file is opened;
large ones (SAXS 2D, C2 maps, unnormalized G2) are read only when asked for. :class:`XpcsResult`
caches what its layout's :class:`~xpcs_core.io.reader.LayoutReader` finds in the file.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from xpcs_core.errors import XpcsInputError
from xpcs_core.geometry import Geometry
from xpcs_core.io._h5util import open_h5_readonly
from xpcs_core.io.data import MultitauData, ResultData, TwotimeData
from xpcs_core.io.layout import LEGACY, MULTITAU, NEXUS, TWOTIME, detect_layout
from xpcs_core.io.legacy import LegacyReader
from xpcs_core.io.metadata import summarize
from xpcs_core.io.nexus import NexusReader
from xpcs_core.io.qmap_group import QmapGroup
from xpcs_core.io.reader import LayoutReader

__all__ = ["XpcsResult", "open_result"]

#: layout name -> its reader
_READERS: dict[str, type[LayoutReader]] = {NEXUS: NexusReader, LEGACY: LegacyReader}


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
        file = open_h5_readonly(self.path)
        try:
            self.layout: str = detect_layout(file, self.path)
        except BaseException:
            file.close()
            raise
        self._reader: LayoutReader = _READERS[self.layout](file, self.path)
        try:
            self.analysis: list[str] = self._reader.analysis()
            if validate:
                self.validate()
        except BaseException:
            self.close()
            raise

    # ----------------------------------------------------------------- plumbing
    def close(self) -> None:
        """Close the file handle (idempotent). Arrays already read stay usable."""
        if "_reader" in self.__dict__:  # absent when __init__ failed early
            self._reader.close()

    @property
    def closed(self) -> bool:
        return self._reader.closed

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
        return self._reader.file

    def key(self, name: str) -> str | None:
        """The HDF5 path of logical item ``name`` in this file (first alternative found)."""
        return self._reader.key(name)

    def _require(self, kind: str) -> None:
        if kind not in self.analysis:
            raise XpcsInputError(f"{self.path}: the file holds no {kind} results")

    def validate(self) -> None:
        """Check everything that can be checked without reading the large arrays."""
        r = self._reader
        r.check_analysis(self.analysis)
        _ = (self.frame_time, self.count_time, self.energy, self.detector_distance, self.pixel_size)
        _ = (self.beam_center_x, self.beam_center_y)
        qmap = self.qmap
        if MULTITAU in self.analysis:
            r.check_multitau(self.delay_list, self.g2, self.g2_err, qmap.dynamic.n_labels)
        r.check_saxs(qmap.shape, qmap.static.n_labels)
        if TWOTIME in self.analysis:
            n = r.check_c2_maps()
            r.check_twotime(self.twotime_bins, n, self.qmap.dynamic.n_labels)
        self.unnormalized_status  # noqa: B018  (checks shape, warns on a dangling link)

    # ------------------------------------------------------------------ metadata
    @cached_property
    def frame_time(self) -> float:
        """Frame period in seconds (required)."""
        return self._reader.frame_time

    @cached_property
    def count_time(self) -> float | None:
        """Exposure per frame in seconds, if recorded."""
        return self._reader.count_time

    @cached_property
    def energy(self) -> float:
        """X-ray energy in keV."""
        value = self._reader.energy
        return value if value is not None else self.qmap.energy

    @cached_property
    def detector_distance(self) -> float:
        """Sample-detector distance in metres."""
        value = self._reader.detector_distance
        return value if value is not None else self.qmap.detector_distance

    @cached_property
    def pixel_size(self) -> float:
        """Pixel size (x) in metres."""
        value = self._reader.pixel_size
        return value if value is not None else self.qmap.pixel_size

    @cached_property
    def pixel_size_y(self) -> float:
        """Pixel size (y) in metres (the x size when not recorded)."""
        value = self._reader.pixel_size_y
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
        return self._reader.start_time

    @cached_property
    def rawdata_path(self) -> str | None:
        return self._reader.rawdata_path

    @cached_property
    def n_frames(self) -> int | None:
        """Number of frames, from intensity vs time (else the two-time map size)."""
        return self._reader.n_frames(TWOTIME in self.analysis)

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
        return self._reader.metadata()

    # ------------------------------------------------------------------- q-map
    @cached_property
    def qmap(self) -> QmapGroup:
        """The q-map group: geometry, mask, dynamic and static partitions."""
        return self._reader.read_qmap()

    @property
    def dynamic_q(self) -> np.ndarray:
        """(n_dyn,) dim-0 value (q) of each dynamic label: g2 column j is label j+1."""
        return self._reader.label_values(self.qmap, "dynamic")[0]

    @property
    def dynamic_phi(self) -> np.ndarray | None:
        """(n_dyn,) dim-1 value (phi) of each dynamic label; None without phi bins."""
        return self._reader.label_values(self.qmap, "dynamic")[1]

    @property
    def static_q(self) -> np.ndarray:
        """(n_static,) dim-0 value (q) of each static label (the x axis of ``saxs_1d``)."""
        return self._reader.label_values(self.qmap, "static")[0]

    @property
    def static_phi(self) -> np.ndarray | None:
        """(n_static,) dim-1 value (phi) of each static label; None without phi bins."""
        return self._reader.label_values(self.qmap, "static")[1]

    # ----------------------------------------------------------------- multitau
    @cached_property
    def stride_frame(self) -> int:
        return self._reader.int_setting("stride_frame")

    @cached_property
    def avg_frame(self) -> int:
        return self._reader.int_setting("avg_frame")

    @cached_property
    def delay_list(self) -> np.ndarray:
        """(n_tau,) multi-tau lags in frames."""
        self._require(MULTITAU)
        return self._reader.delay_list()

    @property
    def tau(self) -> np.ndarray:
        """(n_tau,) delays in seconds: delay_list x frame_time x stride x avg."""
        return self.delay_list * self.frame_time * self.stride_frame * self.avg_frame

    @cached_property
    def g2(self) -> np.ndarray:
        """(n_tau, n_dyn) normalized g2 (float64; NaN where a bin has no data)."""
        self._require(MULTITAU)
        return self._reader.g2()

    @cached_property
    def g2_err(self) -> np.ndarray:
        """(n_tau, n_dyn) g2 standard errors."""
        self._require(MULTITAU)
        return self._reader.g2_err()

    @cached_property
    def multitau_config(self) -> dict[str, Any]:
        """Scalars of ``/xpcs/multitau/config`` (NeXus) or the legacy settings."""
        return self._reader.multitau_config()

    @cached_property
    def g2_segments(self) -> np.ndarray | None:
        """(n_seg, n_tau, n_dyn) g2 per time segment, if present."""
        return self._reader.g2_segments() if MULTITAU in self.analysis else None

    @cached_property
    def g2_segments_err(self) -> np.ndarray | None:
        return self._reader.g2_segments("_err") if MULTITAU in self.analysis else None

    @cached_property
    def g2_segments_labels(self) -> list[str] | None:
        return self._reader.g2_segments_labels() if MULTITAU in self.analysis else None

    # --------------------------------------------------------- unnormalized G2
    @cached_property
    def unnormalized_status(self) -> str:
        """``"absent"``, ``"present"`` or ``"dangling: <why>"`` (a broken external link:
        reported with a warning, not an error)."""
        return self._reader.unnormalized_status(
            lambda: (self.delay_list.size if MULTITAU in self.analysis else None, *self.detector_shape)
        )

    def unnormalized(self, tau_index: int | slice = slice(None)) -> np.ndarray | None:
        """Unnormalized (n_tau, 3, H, W) G2, IP, IF for ``tau_index`` (read on request;
        None when absent or the link is dangling). An int index drops the first axis."""
        if self.unnormalized_status != "present":
            return None
        return self._reader.read_unnormalized(tau_index)

    # ------------------------------------------------------------- SAXS, Int(t)
    @cached_property
    def saxs_2d(self) -> np.ndarray | None:
        """(H, W) time-averaged image, mean counts per frame (read on first access)."""
        return self._reader.saxs_2d(lambda: self.detector_shape)

    @cached_property
    def saxs_1d(self) -> np.ndarray | None:
        """(n_static,) mean intensity of each static label (x axis: ``static_q``)."""
        return self._reader.saxs_1d()

    @cached_property
    def saxs_1d_segments(self) -> np.ndarray | None:
        """(n_seg, n_static) SAXS 1D per time segment."""
        return self._reader.float_array("saxs_1d_segments", ndim=2)

    @cached_property
    def intensity_vs_time(self) -> np.ndarray | None:
        """(2, n_frames): row 0 frame index, row 1 mean count."""
        return self._reader.float_array("intensity_vs_time", ndim=2)

    # ------------------------------------------------------------------ twotime
    @cached_property
    def twotime_bins(self) -> np.ndarray:
        """Dynamic labels (1-based) of the C2 maps, in map order."""
        self._require(TWOTIME)
        return self._reader.twotime_bins()

    def c2(self, label: int, *, full: bool = True) -> np.ndarray:
        """C2 map of dynamic ``label``: the full symmetric matrix rebuilt from the stored
        upper triangle (``full=False``: as stored)."""
        bins = self.twotime_bins.tolist()
        if label not in bins:
            raise XpcsInputError(f"{self.path}: no two-time map for bin {label} (have {bins})")
        stored = self._reader.read_c2(bins.index(label))
        if not full:
            return stored
        return np.triu(stored) + np.triu(stored, 1).T

    @cached_property
    def twotime_stride_frame(self) -> int:
        return self._reader.int_setting("c2_stride_frame")

    @cached_property
    def twotime_avg_frame(self) -> int:
        return self._reader.int_setting("c2_avg_frame")

    @cached_property
    def twotime_g2(self) -> np.ndarray | None:
        """(n_frames, n_bins) g2 from the diagonals of the C2 maps, if stored."""
        self._require(TWOTIME)
        return self._reader.float_array("c2_g2", ndim=2)

    @cached_property
    def twotime_g2_segments(self) -> np.ndarray | None:
        self._require(TWOTIME)
        return self._reader.float_array("c2_g2_segments")

    @cached_property
    def twotime_delay_list(self) -> np.ndarray | None:
        self._require(TWOTIME)
        return self._reader.twotime_delay_list()

    @property
    def twotime_tau(self) -> np.ndarray:
        """Delays of ``twotime_g2`` rows in seconds (0, dt, 2 dt, ...), dt = frame_time x stride x avg."""
        self._require(TWOTIME)
        n = int(self._reader.c2_dataset(0).shape[0])
        return np.arange(n) * self.frame_time * self.twotime_stride_frame * self.twotime_avg_frame

    def summary(self) -> dict[str, Any]:
        """The facts ``xpcs info --json`` prints."""
        return summarize(self)

    def to_data(self) -> ResultData:
        """Load everything into a :class:`ResultData` (e.g. to write it in the NeXus layout)."""
        multitau = twotime = None
        if MULTITAU in self.analysis:
            config = {k: v for k, v in self.multitau_config.items() if k not in ("stride_frame", "avg_frame")}
            multitau = MultitauData(
                g2=self.g2, g2_err=self.g2_err, delay_list=self.delay_list,
                stride_frame=self.stride_frame, avg_frame=self.avg_frame, config=config,
                g2_segments=self.g2_segments, g2_segments_err=self.g2_segments_err,
                g2_segments_labels=self.g2_segments_labels, unnormalized=self.unnormalized(),
            )  # fmt: skip
        if TWOTIME in self.analysis:
            bins = self.twotime_bins
            twotime = TwotimeData(
                processed_bins=bins, c2_maps=[self.c2(int(b), full=False) for b in bins],
                g2=self.twotime_g2, g2_segments=self.twotime_g2_segments,
                delay_list=self.twotime_delay_list,
                stride_frame=self.twotime_stride_frame, avg_frame=self.twotime_avg_frame,
            )  # fmt: skip
        return ResultData(
            qmap=self.qmap, frame_time=self.frame_time, count_time=self.count_time,
            energy=self.energy, detector_distance=self.detector_distance,
            pixel_size=(self.pixel_size, self.pixel_size_y),
            saxs_2d=self.saxs_2d, saxs_1d=self.saxs_1d, saxs_1d_segments=self.saxs_1d_segments,
            intensity_vs_time=self.intensity_vs_time, multitau=multitau, twotime=twotime,
            start_time=self.start_time, rawdata_path=self.rawdata_path,
        )  # fmt: skip
