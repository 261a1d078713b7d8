"""Array ops of the CuPy backend: the namespace is cupy itself."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl

from xpcs_cupy.runtime import cupy_module

__all__ = ["xpcs_array_namespace", "xpcs_to_device", "xpcs_to_numpy"]


@hookimpl
def xpcs_array_namespace() -> Any:
    return cupy_module()


@hookimpl
def xpcs_to_device(array: Any, dtype: Any | None) -> Any:
    return cupy_module().asarray(np.asarray(array), dtype=dtype)


@hookimpl
def xpcs_to_numpy(array: Any) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array
    return cupy_module().asnumpy(array)
