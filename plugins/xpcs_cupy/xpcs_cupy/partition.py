"""Partition hook of the CuPy backend: the shared kernel with ``xp = cupy``.

:func:`partition_labels` takes ``xp`` explicitly; tests run it with NumPy where there is no GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import partition

from xpcs_cupy.runtime import cupy_module, on_gpu

__all__ = ["xpcs_partition"]



def _host(xp: Any) -> Any:
    return xp.asnumpy if hasattr(xp, "asnumpy") else np.asarray


def partition_labels(xp: Any, maps: dict[str, np.ndarray], mask: np.ndarray, spec: Any) -> dict[str, Any]:
    return partition.run_partition(xp, maps, mask, spec, to_device=xp.asarray, to_host=_host(xp))


@hookimpl
@on_gpu
def xpcs_partition(maps: dict[str, np.ndarray], mask: np.ndarray, spec: Any) -> dict[str, Any]:
    return partition_labels(cupy_module(), maps, mask, spec)
