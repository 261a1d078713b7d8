"""Partition hook of the NumPy reference backend (the shared kernel :mod:`xpcs_core.kernels.partition`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import partition

__all__ = ["xpcs_partition"]


@hookimpl
def xpcs_partition(maps: dict[str, np.ndarray], mask: np.ndarray, spec: Any) -> dict[str, Any]:
    return partition.run_partition(np, maps, mask, spec, to_device=np.asarray, to_host=np.asarray)
