"""Streaming multi-tau on CuPy (hookimpl ``xpcs_multitau_accumulator``).

The generic accumulator :class:`xpcs_core.kernels.multitau.StreamingMultitau` with
``cupy`` as its namespace, whose per-level lag sums run the CUDA kernel of
:mod:`xpcs_cupy._multitau_cuda` (all lags of a level in one pass over the block) once
that kernel has passed its check on this GPU; else the generic vectorised sums.
:func:`make_accumulator` takes the namespace (and the kernel's launcher) so that
CPU-only tests can run the same code path with NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels.multitau import MultitauOptions, StreamingMultitau
from xpcs_cupy._multitau_cuda import GpuMultitau, KernelMultitau, Launch, cupy_launch
from xpcs_cupy.runtime import cupy_module, on_gpu

__all__ = ["xpcs_multitau_accumulator"]


def make_accumulator(xp: Any, n_pixels: int, n_frames: int, options: MultitauOptions,
                     to_numpy: Any = np.asarray, launch: Launch | None = None) -> StreamingMultitau:
    """The cupy backend's accumulator on namespace ``xp`` (``cupy`` here, NumPy in tests);
    with ``launch`` (the compiled kernel) the lag sums run in it.

    There is no separate sparse kernel on the GPU: every path computes the dense sums
    (identical by definition) and reports ``"dense"``.
    """
    if launch is None:
        return GpuMultitau(xp, n_pixels, n_frames, options, to_numpy=to_numpy)
    return KernelMultitau(xp, n_pixels, n_frames, options, launch, to_numpy=to_numpy)


@hookimpl
@on_gpu
def xpcs_multitau_accumulator(n_pixels: int, n_frames: int, options: MultitauOptions) -> Any:
    cp = cupy_module()
    return make_accumulator(cp, n_pixels, n_frames, options, to_numpy=cp.asnumpy, launch=cupy_launch())
