"""Q-map hook of the NumPy reference backend (the shared kernel :mod:`xpcs_core.kernels.qmap`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import qmap

__all__ = ["xpcs_compute_qmap"]


@hookimpl
def xpcs_compute_qmap(geometry: Any) -> dict[str, Any]:
    return qmap.compute(np, geometry)
