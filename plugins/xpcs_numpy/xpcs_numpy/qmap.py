"""Q-map, partition and binned-mean hooks of the NumPy reference backend.

The numerical work is in :mod:`xpcs_core.kernels` (written once for every backend);
binned means use ``scipy.sparse`` with the pixel axis chunked to stay in cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import binning, partition, qmap

__all__ = ["xpcs_compute_qmap", "xpcs_partition", "xpcs_binned_mean"]

CHUNK = 4096
"""Pixels per block of the binned-mean product: 4096 x n_frames float64 stays in L2."""


@hookimpl
def xpcs_compute_qmap(geometry: Any) -> dict[str, Any]:
    return qmap.compute(np, geometry)


@hookimpl
def xpcs_partition(maps: dict[str, np.ndarray], mask: np.ndarray, spec: Any) -> dict[str, Any]:
    return partition.run_partition(np, maps, mask, spec, to_device=np.asarray, to_host=np.asarray)


@hookimpl
def xpcs_binned_mean(data: Any, labels: np.ndarray, n_labels: int) -> tuple[Any, Any]:
    return binning.binned_mean(np, scipy.sparse, data, labels, n_labels, chunk=CHUNK, direct=True)
