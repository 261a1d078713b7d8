"""Binned-mean hook of the NumPy reference backend.

The shared kernel :mod:`xpcs_core.kernels.binning` with ``scipy.sparse``, the pixel axis
chunked to stay in cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import binning

__all__ = ["xpcs_binned_mean"]

CHUNK = 4096
"""Pixels per block of the binned-mean product: 4096 x n_frames float64 stays in L2."""


@hookimpl
def xpcs_binned_mean(data: Any, labels: np.ndarray, n_labels: int) -> tuple[Any, Any]:
    return binning.binned_mean(np, scipy.sparse, data, labels, n_labels, chunk=CHUNK, direct=True)
