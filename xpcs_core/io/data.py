"""In-memory result data: what the writer writes and ``XpcsResult.to_data()`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xpcs_core.io.qmap_group import QmapGroup

__all__ = ["Meta", "MultitauData", "ResultData", "TwotimeData"]


@dataclass(frozen=True)
class Meta:
    """One metadata leaf: its value (a number, string or small array) and its unit (or None)."""

    value: Any
    unit: str | None = None


@dataclass(kw_only=True)
class MultitauData:
    """Multi-tau results. ``g2``/``g2_err`` are (n_tau, n_dyn): column j is dynamic label j+1.

    ``delay_list`` holds integer frame lags; tau in seconds is
    ``delay_list * frame_time * stride_frame * avg_frame``. ``unnormalized`` is an
    optional (n_tau, 3, H, W) array of G2, IP, IF; ``unnormalized_link`` instead names
    ``(file, path)`` of an HDF5 external link to it (file relative to the result file).
    """

    g2: np.ndarray
    g2_err: np.ndarray
    delay_list: np.ndarray
    stride_frame: int = 1
    avg_frame: int = 1
    config: dict[str, Any] = field(default_factory=dict)
    g2_segments: np.ndarray | None = None
    g2_segments_err: np.ndarray | None = None
    g2_segments_labels: list[str] | None = None
    unnormalized: np.ndarray | None = None
    unnormalized_link: tuple[str, str] | None = None


@dataclass(kw_only=True)
class TwotimeData:
    """Two-time results: ``c2_maps[i]`` is the (n, n) C2 map of dynamic label ``processed_bins[i]``.

    Maps may be full symmetric or upper-triangular; the writer stores the upper triangle.
    ``g2`` is (n, n_bins): the diagonal averages; ``g2_segments`` (n_seg, n_seg_frames,
    n_bins) the same per time segment; ``delay_list`` (n,) frame lags of ``g2``. The
    writer derives ``g2``, ``g2_segments`` (one segment: the whole map) and
    ``delay_list`` (0 .. n-1) from the maps when they are None.
    """

    processed_bins: np.ndarray
    c2_maps: list[np.ndarray]
    g2: np.ndarray | None = None
    g2_segments: np.ndarray | None = None
    delay_list: np.ndarray | None = None
    stride_frame: int = 1
    avg_frame: int = 1
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class ResultData:
    """Everything a result file holds, in memory.

    ``saxs_2d`` is (H, W) mean counts per frame; ``saxs_1d`` (n_static,) one value per
    static label; ``saxs_1d_segments`` (n_seg, n_static); ``intensity_vs_time``
    (2, n_frames): frame index, mean count; ``bad_frames`` the raw indices of the frames
    excluded from every sum (written as ``/xpcs/spatial_mean/bad_frames``). Geometry not
    given here is taken from ``qmap``. ``metadata`` adds further ``/entry`` leaves:
    {"instrument/x/y": Meta(...)}.
    """

    qmap: QmapGroup
    frame_time: float
    count_time: float | None = None
    energy: float | None = None
    detector_distance: float | None = None
    pixel_size: tuple[float, float] | None = None
    saxs_2d: np.ndarray | None = None
    saxs_1d: np.ndarray | None = None
    saxs_1d_segments: np.ndarray | None = None
    intensity_vs_time: np.ndarray | None = None
    bad_frames: np.ndarray | None = None
    multitau: MultitauData | None = None
    twotime: TwotimeData | None = None
    start_time: str | None = None
    rawdata_path: str | None = None
    metadata: dict[str, Meta] = field(default_factory=dict)
