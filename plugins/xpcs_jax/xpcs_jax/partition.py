"""Partition hook of the JAX backend: the shared kernel's steps jit-compiled (once per map count
and static options); edges are computed on the host so labels agree with NumPy bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np

from xpcs_core.hookspecs import hookimpl
from xpcs_core.kernels import partition

from xpcs_jax.runtime import jax_module, jitted, to_device

__all__ = ["xpcs_partition"]


@hookimpl
def xpcs_partition(maps: dict[str, np.ndarray], mask: np.ndarray, spec: Any) -> dict[str, Any]:
    prepare = jitted(partition.prepare, ("phi_index",))
    assign = jitted(partition.assign)
    return partition.run_partition(
        jax_module().numpy, maps, mask, spec, to_device=to_device, to_host=np.asarray,
        prepare_fn=prepare, assign_fn=assign,
    )
