"""Q-map, partition and binned-mean hooks of the CuPy backend.

They run the shared kernels of :mod:`xpcs_core.kernels` with ``xp = cupy`` (and
``cupyx.scipy.sparse`` for binned means). The functions taking ``xp``/``sparse``
explicitly (:func:`compute_qmap`, :func:`partition_labels`, :func:`binned_mean`) are
what the hookimpls call; tests run them with NumPy on machines without a GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import binning, partition, qmap

from xpcs_cupy.runtime import cupy_module

__all__ = ["xpcs_compute_qmap", "xpcs_partition", "xpcs_binned_mean"]


def _host(xp: Any) -> Any:
    return xp.asnumpy if hasattr(xp, "asnumpy") else np.asarray


def compute_qmap(xp: Any, geometry: Any) -> dict[str, Any]:
    return qmap.compute(xp, geometry)


def partition_labels(xp: Any, maps: dict[str, np.ndarray], mask: np.ndarray, spec: Any) -> dict[str, Any]:
    return partition.run_partition(xp, maps, mask, spec, to_device=xp.asarray, to_host=_host(xp))


def binned_mean(xp: Any, sparse: Any, data: Any, labels: Any, n_labels: int) -> tuple[Any, Any]:
    n_frames = int(np.prod(np.shape(data)[: np.ndim(data) - np.ndim(labels)], dtype=np.int64))
    # blocks of at most ~1 GiB of float64 on the device
    chunk = max(1 << 16, (1 << 27) // max(n_frames, 1))
    return binning.binned_mean(xp, sparse, data, labels, n_labels, chunk=chunk)


@hookimpl
def xpcs_compute_qmap(geometry: Any) -> dict[str, Any]:
    return compute_qmap(cupy_module(), geometry)


@hookimpl
def xpcs_partition(maps: dict[str, np.ndarray], mask: np.ndarray, spec: Any) -> dict[str, Any]:
    return partition_labels(cupy_module(), maps, mask, spec)


@hookimpl
def xpcs_binned_mean(data: Any, labels: np.ndarray, n_labels: int) -> tuple[Any, Any]:
    cupy = cupy_module()
    import cupyx.scipy.sparse

    return binned_mean(cupy, cupyx.scipy.sparse, data, labels, n_labels)
