"""``NexusReader``: the APS 8-ID-I NeXus layout (``/entry`` + ``/xpcs``, docs/file-format.md).

Geometry may be recorded under ``/entry/instrument``; what is not recorded there is
taken from the q-map group ``/xpcs/qmap``, which holds the partitions as written.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import h5py
import numpy as np

from xpcs_core.io._h5util import read_array, read_strings
from xpcs_core.io.layout import NEXUS, NEXUS_KEYS
from xpcs_core.io.metadata import plain_group
from xpcs_core.io.qmap_group import QmapGroup, read_qmap_group
from xpcs_core.io.reader import LayoutReader

__all__ = ["NexusReader"]


class NexusReader(LayoutReader):
    """Reader of the NeXus layout."""

    layout = NEXUS
    keys = NEXUS_KEYS
    multitau_link = "/xpcs/multitau"
    unnormalized_parts = ("unnormalized",)

    @cached_property
    def energy(self) -> float | None:
        return self.scalar("energy", required=False, positive=True)

    @cached_property
    def detector_distance(self) -> float | None:
        return self.scalar("distance", required=False, positive=True)

    @cached_property
    def pixel_size(self) -> float | None:
        return self.scalar("pixel_size_x", required=False, positive=True)

    @cached_property
    def pixel_size_y(self) -> float | None:
        return self.scalar("pixel_size_y", required=False, positive=True)

    def read_qmap(self) -> QmapGroup:
        group = self.file.get(self.key("qmap"))  # type: ignore[arg-type]
        if not isinstance(group, h5py.Group):
            raise self.error("qmap", "q-map group is missing")
        return read_qmap_group(group, self.path)

    def multitau_config(self) -> dict[str, Any]:
        """Scalars of ``/xpcs/multitau/config``."""
        group = self.file.get(self.key("multitau_config"))  # type: ignore[arg-type]
        return plain_group(group) if isinstance(group, h5py.Group) else {}

    def g2_segments(self, suffix: str = "") -> np.ndarray | None:
        base = self.key("g2_segments")
        seg = read_array(self.file, base + suffix, self.path, kind="float", ndim=3, required=False)  # type: ignore[operator]
        return None if seg is None else seg.astype(np.float64)

    def g2_segments_labels(self) -> list[str] | None:
        return read_strings(self.file, self.key("g2_segments") + "_labels", self.path)  # type: ignore[operator]

    def unnormalized_shape(self, n_tau: int | None, h: int, w: int) -> tuple[int | None, ...]:
        return (n_tau, 3, h, w)

    def read_unnormalized(self, tau_index: int | slice) -> np.ndarray:
        return self.read_part("unnormalized", tau_index)

    def twotime_bins(self) -> np.ndarray:
        """``processed_bins`` when stored, else the labels in the map names."""
        if self.dataset("c2_bins") is None:
            return super().twotime_bins()
        bins = self.array("c2_bins", kind="number", ndim=(1, 2), allow_empty=True)
        if bins.dtype.kind == "f" and not np.all(bins == np.round(bins)):  # type: ignore[union-attr]
            raise self.error("c2_bins", "labels must be integers")
        return bins.astype(np.int64).reshape(-1)  # type: ignore[union-attr]
