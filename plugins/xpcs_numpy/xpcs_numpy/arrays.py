"""Array ops of the NumPy reference backend: the namespace is NumPy itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl

__all__ = ["xpcs_array_namespace", "xpcs_to_device", "xpcs_to_numpy"]


@hookimpl
def xpcs_array_namespace() -> Any:
    return np


@hookimpl
def xpcs_to_device(array: Any, dtype: Any | None) -> np.ndarray:
    return np.asarray(array, dtype=dtype)


@hookimpl
def xpcs_to_numpy(array: Any) -> np.ndarray:
    return np.asarray(array)
