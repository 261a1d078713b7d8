"""Array ops of the JAX backend: ``jax.numpy`` on the chosen device."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl

from xpcs_jax.runtime import device, jax_module

__all__ = ["xpcs_array_namespace", "xpcs_to_device", "xpcs_to_numpy"]


@hookimpl
def xpcs_array_namespace() -> Any:
    jax_module()
    import jax.numpy as jnp

    return jnp


@hookimpl
def xpcs_to_device(array: Any, dtype: Any | None) -> Any:
    jax = jax_module()
    return jax.device_put(np.asarray(array, dtype=dtype), device())


@hookimpl
def xpcs_to_numpy(array: Any) -> np.ndarray:
    return np.asarray(array)
