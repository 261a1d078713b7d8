"""Streaming multi-tau on CuPy (hookimpl ``xpcs_multitau_accumulator``).

The generic accumulator :class:`xpcs_core.kernels.multitau.StreamingMultitau` with
``cupy`` as its namespace: per block a few vectorised array operations per lag, all on
the GPU. :func:`make_accumulator` takes the namespace so that CPU-only tests can run the
same code path with NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels.multitau import MultitauOptions, StreamingMultitau
from xpcs_cupy.runtime import cupy_module

__all__ = ["xpcs_multitau_accumulator"]


def make_accumulator(xp: Any, n_pixels: int, n_frames: int, options: MultitauOptions,
                     to_numpy: Any = np.asarray) -> StreamingMultitau:
    """The cupy backend's accumulator on namespace ``xp`` (``cupy`` here, NumPy in tests).

    There is no separate sparse kernel on the GPU: every path computes the dense sums
    (identical by definition) and reports ``"dense"``.
    """
    return StreamingMultitau(xp, n_pixels, n_frames, options, to_numpy=to_numpy)


@hookimpl
def xpcs_multitau_accumulator(n_pixels: int, n_frames: int, options: MultitauOptions) -> Any:
    cp = cupy_module()
    return make_accumulator(cp, n_pixels, n_frames, options, to_numpy=cp.asnumpy)
