"""``LayoutReader``: what a result file holds, asked the same way for every layout.

:class:`~xpcs_core.io.result.XpcsResult` caches and combines the answers; one subclass
per layout (:class:`~xpcs_core.io.nexus.NexusReader`,
:class:`~xpcs_core.io.legacy.LegacyReader`) knows where things are and how they are
stored (docs/file-format.md). Items are looked up by logical name through
:class:`~xpcs_core.io.layout.LayoutFile`, which owns the read-only h5py handle.

Scalars are cached properties; arrays are read anew on each call (the facade caches
them). Every failure on a bad file is an :class:`XpcsFormatError` naming file and key.
"""

from __future__ import annotations

import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar

import h5py
import numpy as np

from xpcs_core.errors import XpcsFormatError, XpcsFormatWarning
from xpcs_core.io._h5util import check_kind, get_dataset, read_dataset
from xpcs_core.io.layout import MULTITAU, LayoutFile, detect_analysis, has_link
from xpcs_core.io.metadata import meta_tree
from xpcs_core.io.qmap_group import QmapGroup

__all__ = ["LayoutReader"]

_C2_NAME = re.compile(r"^(?:c2|g2)_(\d+)$")


class LayoutReader(LayoutFile, ABC):
    """Reads one result file of one layout. Subclasses set the class attributes (and those
    of :class:`LayoutFile`) and answer the layout-specific (abstract) questions; the rest
    is answered here from the key table."""

    #: a link whose presence means the file has a multi-tau group
    multitau_link: ClassVar[str]
    #: logical names of the unnormalized G2 / IP / IF dataset(s)
    unnormalized_parts: ClassVar[tuple[str, ...]]

    def analysis(self) -> list[str]:
        """Analysis kinds present, in the order ("multitau", "twotime")."""
        return detect_analysis(self.file, self.layout)

    def check_analysis(self, analysis: list[str]) -> None:
        """Raise unless there are results, with a multi-tau g2 wherever there is a multi-tau group."""
        has_mt_group = has_link(self.file, self.multitau_link)
        if not analysis or (has_mt_group and MULTITAU not in analysis):
            raise self.error(
                "g2",
                "required dataset is missing (no multi-tau g2"
                + ("" if has_mt_group else " and no two-time correlation maps")
                + ")",
            )

    # ------------------------------------------------------------------ metadata
    @cached_property
    def frame_time(self) -> float:
        return self.time("frame_time", positive=True)  # type: ignore[return-value]

    @cached_property
    def count_time(self) -> float | None:
        value = self.time("count_time", required=False)
        if value is not None and value < 0:
            raise self.error("count_time", f"negative exposure time {value}")
        return value

    # Recorded geometry (keV, m); None means "not recorded: take the q-map group's".
    @property
    @abstractmethod
    def energy(self) -> float | None: ...

    @property
    @abstractmethod
    def detector_distance(self) -> float | None: ...

    @property
    @abstractmethod
    def pixel_size(self) -> float | None: ...

    @property
    @abstractmethod
    def pixel_size_y(self) -> float | None: ...

    @cached_property
    def start_time(self) -> str | None:
        return self.string("start_time")

    @cached_property
    def rawdata_path(self) -> str | None:
        return self.string("rawdata_path")

    def metadata(self) -> dict[str, Any]:
        root = self.file.get(self.key("metadata"))  # type: ignore[arg-type]
        return meta_tree(root) if isinstance(root, h5py.Group) else {}

    # ------------------------------------------------------------------- q-map
    @abstractmethod
    def read_qmap(self) -> QmapGroup:
        """The q-map group (geometry, mask, partitions), validated."""

    def label_values(self, qmap: QmapGroup, which: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(q, phi or None) of each label of partition ``which`` of ``qmap``, a group
        this reader returned."""
        part = getattr(qmap, which)
        centres = part.label_centres()
        phi = centres[:, 1] if part.bins[1] > 1 else None
        return centres[:, 0], phi

    # ----------------------------------------------------------------- multitau
    def delay_list(self) -> np.ndarray:
        delays = self.array("delay_list", kind="number", ndim=(1, 2)).astype(np.float64)  # type: ignore[union-attr]
        if delays.ndim == 2 and 1 not in delays.shape:
            raise self.error("delay_list", f"expected a list of delays, found shape {delays.shape}")
        delays = delays.reshape(-1)
        if not np.isfinite(delays).all():
            raise self.error("delay_list", "contains NaN or infinite delays")
        if (delays <= 0).any():
            raise self.error("delay_list", f"delays must be positive (min {delays.min():g})")
        if delays.size > 1 and (np.diff(delays) <= 0).any():
            raise self.error("delay_list", "delays must increase")
        return delays

    def g2(self) -> np.ndarray:
        """(n_tau, n_dyn) normalized g2 as float64."""
        return self.array("g2", kind="float", ndim=2).astype(np.float64)  # type: ignore[union-attr]

    def g2_err(self) -> np.ndarray:
        """(n_tau, n_dyn) g2 standard errors as float64."""
        return self.array("g2_err", kind="float", ndim=2).astype(np.float64)  # type: ignore[union-attr]

    @abstractmethod
    def multitau_config(self) -> dict[str, Any]:
        """The multi-tau settings as plain values."""

    def g2_segments(self, suffix: str = "") -> np.ndarray | None:
        """(n_seg, n_tau, n_dyn) float64 g2 per time segment (``suffix="_err"``: errors), if any."""
        return None

    def g2_segments_labels(self) -> list[str] | None:
        return None

    def check_multitau(self, delays: np.ndarray, g2: np.ndarray, g2_err: np.ndarray, n_dyn: int) -> None:
        """Check g2 and its errors against the delays and the dynamic bins, then the settings
        and the segments' shapes."""
        n_tau = delays.size
        for name, arr in (("g2", g2), ("g2_err", g2_err)):
            if arr.shape != (n_tau, n_dyn):
                raise self.error(
                    name,
                    f"shape {arr.shape} does not match (n_tau, n_dyn) = "
                    f"({n_tau}, {n_dyn}) from the delay list and the dynamic bins",
                )
        if np.isinf(g2).any():
            raise self.error("g2", "contains infinite values")
        if np.isnan(g2).all():
            raise self.error("g2", "all values are NaN")
        if np.isinf(g2_err).any():
            raise self.error("g2_err", "contains infinite values")
        if (g2_err < 0).any():
            raise self.error("g2_err", f"negative errors (min {np.nanmin(g2_err):g})")
        if (g2_err == 0).any():
            warnings.warn(
                f"{self.path}: {self.key('g2_err')}: {(g2_err == 0).sum()} zero errors",
                XpcsFormatWarning,
                stacklevel=3,
            )
        _ = (self.int_setting("stride_frame"), self.int_setting("avg_frame"))
        seg = self.check_shape("g2_segments", (None, n_tau, n_dyn), "(segments, n_tau, n_dyn)")
        if seg is not None:
            err_key = seg.name + "_err"
            if get_dataset(self.file, err_key, self.path) is not None:
                err = self.file[err_key]
                check_kind(err, "number", self.path, err_key)
                if err.shape != seg.shape:
                    raise XpcsFormatError(self.path, f"shape {err.shape} does not match {seg.shape}", err_key)

    # --------------------------------------------------------- unnormalized G2
    @abstractmethod
    def unnormalized_shape(self, n_tau: int | None, h: int, w: int) -> tuple[int | None, ...]:
        """Expected shape of each of ``unnormalized_parts`` (None = any length)."""

    @abstractmethod
    def read_unnormalized(self, tau_index: int | slice) -> np.ndarray:
        """(n_tau, 3, H, W) G2, IP, IF at ``tau_index`` (``unnormalized_status`` is "present")."""

    def unnormalized_status(self, dims: Callable[[], tuple[int | None, int, int]]) -> str:
        """``"absent"``, ``"present"`` or ``"dangling: <why>"`` (warned, not raised).
        ``dims()`` gives (n_tau or None, H, W); it is called only when a dataset is found."""
        names = self.unnormalized_parts
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
                warnings.warn(f"{self.path}: {key}: {message}", XpcsFormatWarning, stacklevel=3)
                return f"dangling: {message}"
            if not isinstance(ds, h5py.Dataset):
                raise XpcsFormatError(self.path, "expected a dataset", key)
            check_kind(ds, "number", self.path, key)
            expected = self.unnormalized_shape(*dims())
            if ds.ndim != len(expected) or any(
                e is not None and e != s for e, s in zip(expected, ds.shape, strict=False)
            ):
                raise XpcsFormatError(self.path, f"shape {ds.shape} does not match {expected}", key)
            found += 1
        if found and found != len(names):
            raise self.error(names[0], "G2, IP and IF must all be present")
        return "present" if found else "absent"

    def read_part(self, name: str, tau_index: int | slice) -> np.ndarray:
        """Rows ``tau_index`` of dataset ``name``."""
        return read_dataset(self.file[self.key(name)], self.path, (tau_index,))  # type: ignore[index]

    # ------------------------------------------------------------- SAXS, Int(t)
    def saxs_2d(self, detector_shape: Callable[[], tuple[int, int]]) -> np.ndarray | None:
        """(H, W) time-averaged image, checked against ``detector_shape()`` (the q-map's;
        called only when the image is present)."""
        arr = self.array("saxs_2d", kind="float", ndim=(2, 3), required=False)
        if arr is None:
            return None
        arr = arr[0] if arr.ndim == 3 else arr
        if arr.shape != (shape := detector_shape()):
            raise self.error("saxs_2d", f"shape {arr.shape} does not match the q-map {shape}")
        return arr

    def saxs_1d(self) -> np.ndarray | None:
        arr = self.float_array("saxs_1d", ndim=(1, 2))
        if arr is None:
            return None
        return arr[0] if arr.ndim == 2 and arr.shape[0] == 1 else arr.reshape(-1)

    def check_saxs(self, shape: tuple[int, int], n_static: int) -> None:
        """Check the shapes of the SAXS images / profiles and of intensity vs time."""
        self.check_shape("saxs_2d", shape, "the q-map (H, W)", squeeze_first=True)
        self.check_shape("saxs_1d", (n_static,), "the static bins", squeeze_first=True)
        self.check_shape("saxs_1d_segments", (None, n_static), "(segments, static bins)")
        self.check_shape("intensity_vs_time", (2, None), "(2, n_frames)")

    def n_frames(self, twotime: bool) -> int | None:
        """Number of frames, from intensity vs time (else, with ``twotime``, the map size)."""
        ds = self.dataset("intensity_vs_time")
        if ds is not None and ds.ndim == 2:
            return int(ds.shape[1])
        if twotime and self.c2_names:
            return int(self.c2_dataset(0).shape[0])
        return None

    # ------------------------------------------------------------------ twotime
    @property
    def c2_group(self) -> h5py.Group:
        group = self.file.get(self.key("c2_group"))  # type: ignore[arg-type]
        if not isinstance(group, h5py.Group):
            raise self.error("c2_group", "expected a group of correlation maps")
        return group

    @cached_property
    def c2_names(self) -> list[str]:
        """Names of the C2 maps, in label order."""
        names = [n for n in self.c2_group if _C2_NAME.match(n)]
        return sorted(names, key=lambda n: int(_C2_NAME.match(n).group(1)))  # type: ignore[union-attr]

    def twotime_bins(self) -> np.ndarray:
        """Dynamic labels (1-based) of the C2 maps, in map order (from the map names)."""
        return np.array([int(_C2_NAME.match(n).group(1)) for n in self.c2_names], dtype=np.int64)  # type: ignore[union-attr]

    def c2_dataset(self, index: int) -> h5py.Dataset:
        """The ``index``-th C2 map dataset, checked to be a square numeric 2-D array."""
        names = self.c2_names
        if not 0 <= index < len(names):
            raise self.error("c2_group", f"has {len(names)} correlation maps, no map number {index + 1}")
        ds = get_dataset(self.c2_group, names[index], self.path)
        if ds is None:
            raise self.error("c2_group", f"map {names[index]} is missing")
        check_kind(ds, "number", self.path, ds.name)
        if ds.ndim != 2 or ds.shape[0] != ds.shape[1] or ds.size == 0:
            raise XpcsFormatError(self.path, f"expected a square (n, n) map, found {ds.shape}", ds.name)
        return ds

    def twotime_delay_list(self) -> np.ndarray | None:
        arr = self.array("c2_delay_list", kind="number", required=False)
        return None if arr is None else arr.reshape(-1)

    def read_c2(self, index: int) -> np.ndarray:
        """The ``index``-th C2 map as stored (upper triangle)."""
        return read_dataset(self.c2_dataset(index), self.path)

    def check_c2_maps(self) -> int:
        """Check there are maps, all of one size; return that size."""
        names = self.c2_names
        if not names:
            raise self.error("c2_group", "holds no correlation maps")
        sizes = {self.c2_dataset(i).shape[0] for i in range(len(names))}
        if len(sizes) > 1:
            raise self.error("c2_group", f"maps of different sizes {sorted(sizes)}")
        (n,) = sizes
        return int(n)

    def check_twotime(self, bins: np.ndarray, n: int, n_dyn: int) -> None:
        """Check the maps' ``bins`` (one per map, in 1..n_dyn), the diagonal g2's shape
        (``n`` frames) and the settings."""
        n_maps = len(self.c2_names)
        if len(bins) != n_maps:
            raise self.error("c2_bins", f"{len(bins)} bins for {n_maps} correlation maps")
        if bins.size and (bins.min() < 1 or bins.max() > n_dyn):
            raise self.error("c2_bins", f"labels must lie in 1..{n_dyn}, found {bins.min()}..{bins.max()}")
        self.check_shape("c2_g2", (n, n_maps), "(n_frames, n_bins)")
        _ = (self.int_setting("c2_stride_frame"), self.int_setting("c2_avg_frame"))
