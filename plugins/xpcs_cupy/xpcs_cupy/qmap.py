"""Q-map hook of the CuPy backend: the shared kernel with ``xp = cupy``.

:func:`compute_qmap` takes ``xp`` explicitly; tests run it with NumPy where there is no GPU.
"""

from __future__ import annotations

from typing import Any

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import qmap

from xpcs_cupy.runtime import cupy_module, on_gpu

__all__ = ["xpcs_compute_qmap"]


def compute_qmap(xp: Any, geometry: Any) -> dict[str, Any]:
    return qmap.compute(xp, geometry)


@hookimpl
@on_gpu
def xpcs_compute_qmap(geometry: Any) -> dict[str, Any]:
    return compute_qmap(cupy_module(), geometry)
