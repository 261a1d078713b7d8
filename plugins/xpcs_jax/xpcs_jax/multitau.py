"""Streaming multi-tau on JAX (hookimpl ``xpcs_multitau_accumulator``): being written.

For now the generic accumulator on NumPy; the jitted scan replaces it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels.multitau import MultitauOptions, StreamingMultitau

__all__ = ["xpcs_multitau_accumulator"]


@hookimpl
def xpcs_multitau_accumulator(n_pixels: int, n_frames: int, options: MultitauOptions) -> Any:
    return StreamingMultitau(np, n_pixels, n_frames, options)
