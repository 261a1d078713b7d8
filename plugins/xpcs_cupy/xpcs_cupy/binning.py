"""Binned-mean hook of the CuPy backend: the shared kernel with cupy and ``cupyx.scipy.sparse``.

:func:`binned_mean` takes ``xp`` and ``sparse`` explicitly; tests run it with NumPy and
``scipy.sparse`` where there is no GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import binning

from xpcs_cupy.runtime import cupy_module, on_gpu

__all__ = ["xpcs_binned_mean"]



def binned_mean(xp: Any, sparse: Any, data: Any, labels: Any, n_labels: int) -> tuple[Any, Any]:
    n_frames = int(np.prod(np.shape(data)[: np.ndim(data) - np.ndim(labels)], dtype=np.int64))
    # blocks of at most ~1 GiB of float64 on the device
    chunk = max(1 << 16, (1 << 27) // max(n_frames, 1))
    return binning.binned_mean(xp, sparse, data, labels, n_labels, chunk=chunk)


@hookimpl
@on_gpu
def xpcs_binned_mean(data: Any, labels: np.ndarray, n_labels: int) -> tuple[Any, Any]:
    cupy = cupy_module()
    import cupyx.scipy.sparse

    return binned_mean(cupy, cupyx.scipy.sparse, data, labels, n_labels)
